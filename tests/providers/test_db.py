"""providers.db: the hand-written statements give what the ORM gives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from providers.db import GuardExists, _row_reader, fetch_instance, insert_unless_duplicate
from providers.models import Direction, Message, SeenSignature, Status
from providers.tasks import deliver_message
from tests.factories import proxy_number

pytestmark = pytest.mark.django_db

quote = connection.ops.quote_name


def _fields(instance) -> dict:
    loaded = instance.get_deferred_fields()
    return {
        field.attname: getattr(instance, field.attname)
        for field in type(instance)._meta.concrete_fields
        if field.attname not in loaded
    }


def _message() -> Message:
    proxy = proxy_number()
    return Message.objects.create(
        direction=Direction.OUTBOUND,
        provider="console",
        proxy=proxy,
        sender=proxy.number,
        recipient="+14155550123",
        body="Ready at the door",
        status=Status.QUEUED,
        next_attempt_at=timezone.now() + timedelta(seconds=30),
    )


def test_a_row_reads_as_the_raw_queryset_reads_it():
    message = _message()
    table = quote(Message._meta.db_table)
    # Columns in another order than the model's: the values still land on their fields.
    sql = (
        f"SELECT body, id, status, next_attempt_at, proxy_id, created_at FROM {table} WHERE id = %s"  # noqa: S608
    )

    ours = fetch_instance(Message, sql, [message.pk])
    raw = next(iter(Message.objects.raw(sql, [message.pk])))

    assert _fields(ours) == _fields(raw)
    assert ours.body == "Ready at the door" and ours.proxy_id == message.proxy_id
    assert ours.next_attempt_at == message.next_attempt_at  # converted, aware, on SQLite too
    assert ours.get_deferred_fields() == raw.get_deferred_fields()
    assert ours.recipient == "+14155550123"  # a deferred field loads on access, as with raw()
    assert not ours._state.adding and ours._state.db == "default"


def test_json_columns_come_back_as_python_values(settings):
    settings.TASKS = {"default": {"BACKEND": "providers.task_backend.DeliveryTaskBackend"}}
    deliver_message.enqueue(42)
    task = DBTaskResult.objects.get()
    sql = f"SELECT * FROM {quote(DBTaskResult._meta.db_table)} WHERE id = %s"  # noqa: S608
    params = [DBTaskResult._meta.pk.get_db_prep_value(task.pk, connection)]

    ours = fetch_instance(DBTaskResult, sql, params)

    assert _fields(ours) == _fields(next(iter(DBTaskResult.objects.raw(sql, params))))
    assert ours.args_kwargs == {"args": [42], "kwargs": {}}
    assert ours.worker_ids == []


def test_no_row_is_none_and_a_row_without_its_key_or_with_foreign_columns_is_refused():
    message = _message()
    table = quote(Message._meta.db_table)

    assert fetch_instance(Message, f"SELECT * FROM {table} WHERE id = %s", [message.pk + 1]) is None  # noqa: S608
    with pytest.raises(ValueError, match="primary key"):
        fetch_instance(Message, f"SELECT body FROM {table} WHERE id = %s", [message.pk])  # noqa: S608
    with pytest.raises(ValueError, match="not columns"):
        fetch_instance(Message, f"SELECT id, 1 AS extra FROM {table} WHERE id = %s", [message.pk])  # noqa: S608


def _inbound(vendor_id: str = "in-1", body: str = "Where are you?") -> Message:
    return Message(
        direction=Direction.INBOUND,
        provider="messagebird",
        vendor_id=vendor_id,
        sender="+14155550123",
        recipient="+12065550100",
        body=body,
        status=Status.RECEIVED,
    )


def test_a_guarded_insert_writes_the_row_as_the_orm_does_and_its_guard():
    ours = _inbound()
    assert insert_unless_duplicate(ours, guard=SeenSignature(jti="jti-1")) is True
    orm = Message.objects.create(**{**_fields(_inbound(vendor_id="in-2")), "id": None})

    stored, expected = Message.objects.get(pk=ours.pk), Message.objects.get(pk=orm.pk)
    different = {"id", "vendor_id", "created_at", "updated_at"}
    assert {k: v for k, v in _fields(stored).items() if k not in different} == {
        k: v for k, v in _fields(expected).items() if k not in different
    }
    assert stored.vendor_id == "in-1" and not ours._state.adding
    assert list(SeenSignature.objects.values_list("jti", flat=True)) == ["jti-1"]


def test_a_guard_seen_before_writes_nothing_and_leaves_the_transaction_usable():
    insert_unless_duplicate(_inbound(), guard=SeenSignature(jti="jti-1"))

    with pytest.raises(GuardExists):
        insert_unless_duplicate(_inbound(vendor_id="in-2"), guard=SeenSignature(jti="jti-1"))

    # Nothing of the second: no row, no second guard; and the next query runs.
    assert list(Message.objects.values_list("vendor_id", flat=True)) == ["in-1"]
    assert SeenSignature.objects.count() == 1


def test_a_duplicate_row_with_a_new_guard_keeps_the_guard_and_says_false():
    insert_unless_duplicate(_inbound(), guard=SeenSignature(jti="jti-1"))

    again = _inbound(body="sent again by the vendor")
    assert insert_unless_duplicate(again, guard=SeenSignature(jti="jti-2")) is False

    assert again.pk is None
    assert Message.objects.get().body == "Where are you?"
    assert set(SeenSignature.objects.values_list("jti", flat=True)) == {"jti-1", "jti-2"}


def test_a_guarded_insert_is_one_statement_on_postgresql():
    with CaptureQueriesContext(connection) as captured:
        insert_unless_duplicate(_inbound(), guard=SeenSignature(jti="jti-1"))
    if connection.vendor == "postgresql":
        assert len(captured.captured_queries) == 1
        assert captured.captured_queries[0]["sql"].startswith("WITH")
    else:
        assert [q["sql"].split()[0] for q in captured.captured_queries] == ["INSERT", "INSERT"]


def test_rows_are_converted_by_their_own_connections_converters():
    # Each thread has its own connection; what converts its rows is made for it, once.
    mine, other = connections[DEFAULT_DB_ALIAS], connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        columns = ("id", "next_attempt_at")
        readers = [_row_reader(Message, c, columns) for c in (mine, other, mine)]
        assert readers[0][2].connection is mine and readers[1][2].connection is other
        assert readers[2] is readers[0]
    finally:
        other.close()
