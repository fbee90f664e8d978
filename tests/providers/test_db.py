"""providers.db: the hand-written statements give what the ORM gives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from providers.db import (
    GuardExists,
    Then,
    _row_reader,
    fetch_instance,
    insert_unless_duplicate,
)
from providers.models import Direction, Message, SeenSignature, Status
from providers.task_backend import DeliveryTaskBackend
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


def _relay(inbound_proxy=None, body="On my way") -> Message:
    proxy = inbound_proxy or proxy_number(number="+12065550111")
    return Message(
        direction=Direction.OUTBOUND,
        provider="console",
        proxy=proxy,
        sender=proxy.number,
        recipient="+14155550199",
        body=body,
        status=Status.QUEUED,
        next_attempt_at=timezone.now(),
    )


def _task_row() -> DBTaskResult:
    """The production backend's row for delivering message 0 (a key to be filled in)."""
    return DeliveryTaskBackend(alias="default", params={}).task_row(deliver_message, (0,), {})


def _chain(inbound: Message, jti: str = "jti-1", body: str = "On my way"):
    relay, task = _relay(inbound.proxy, body), _task_row()
    then = [Then(relay, "in_reply_to"), Then(task, "args_kwargs", after=1, path=("args", "0"))]
    return relay, task, then


def test_rows_that_follow_are_written_with_the_keys_of_the_rows_they_follow():
    inbound = _inbound()
    relay, task, then = _chain(inbound)

    assert insert_unless_duplicate(inbound, guard=SeenSignature(jti="jti-1"), then=then)

    stored = Message.objects.get(pk=relay.pk)
    assert stored.in_reply_to_id == inbound.pk and relay.in_reply_to_id == inbound.pk
    assert (stored.body, stored.status, stored.direction) == ("On my way", "queued", "out")
    row = DBTaskResult.objects.get(pk=task.pk)
    assert row.args_kwargs == task.args_kwargs == {"args": [relay.pk], "kwargs": {}}
    assert (row.status, row.task_path, row.queue_name) == (
        "READY",
        "providers.tasks.deliver_message",
        "default",
    )
    # The rest of the task row as the ORM would write it.
    orm = DBTaskResult.objects.create(**{**_fields(_task_row()), "args_kwargs": row.args_kwargs})
    different = {"id", "enqueued_at"}
    assert {k: v for k, v in _fields(row).items() if k not in different} == {
        k: v for k, v in _fields(DBTaskResult.objects.get(pk=orm.pk)).items() if k not in different
    }
    assert not relay._state.adding and not task._state.adding


def test_a_duplicate_row_writes_none_of_the_rows_that_follow_it():
    insert_unless_duplicate(_inbound(), guard=SeenSignature(jti="jti-1"))
    again = _inbound(body="sent again by the vendor")
    relay, task, then = _chain(again)

    assert insert_unless_duplicate(again, guard=SeenSignature(jti="jti-2"), then=then) is False

    assert relay.pk is None and task._state.adding
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()
    assert not DBTaskResult.objects.exists()
    assert SeenSignature.objects.count() == 2


def test_a_guard_seen_before_writes_none_of_the_rows_that_follow():
    insert_unless_duplicate(_inbound(), guard=SeenSignature(jti="jti-1"))
    relay, task, then = _chain(_inbound(vendor_id="in-2"))

    with pytest.raises(GuardExists):
        insert_unless_duplicate(
            _inbound(vendor_id="in-2"), guard=SeenSignature(jti="jti-1"), then=then
        )

    assert Message.objects.count() == 1
    assert not DBTaskResult.objects.exists()


def test_rows_that_follow_without_a_guard_and_in_one_statement_on_postgresql():
    inbound = _inbound()
    relay, task, then = _chain(inbound)
    with CaptureQueriesContext(connection) as captured:
        assert insert_unless_duplicate(inbound, then=then)
    verbs = [q["sql"].split()[0] for q in captured.captured_queries]
    if connection.vendor == "postgresql":
        assert verbs == ["WITH"]
    else:
        assert verbs == ["INSERT", "INSERT", "INSERT"]
    assert DBTaskResult.objects.get().args_kwargs == {"args": [relay.pk], "kwargs": {}}


def test_a_row_can_only_follow_one_written_before_it():
    relay = _relay()
    with pytest.raises(ValueError, match="follows row 1"):
        insert_unless_duplicate(_inbound(), then=[Then(relay, "in_reply_to", after=1)])
    assert not Message.objects.exists()


def test_a_texts_one_statement_stays_within_what_psycopg_keeps_parsed():
    """psycopg parses a statement's text again on every execution when it has more than
    50 parameters (psycopg._queries.MAX_CACHED_STATEMENT_PARAMS); a relayed text's
    statement (its signature id, the text, the relay and its task) sends its NULLs in
    the text to stay under that."""
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH, MAX_CACHED_STATEMENT_PARAMS

    from providers.db import _chain_values, _chained_insert_statement

    if connection.vendor != "postgresql":
        pytest.skip("the one statement is PostgreSQL's")
    inbound = _inbound()
    relay, task, then = _chain(inbound)
    guard = SeenSignature(jti="jti-1")
    values = _chain_values(guard, inbound, then, connection)
    nulls = tuple(tuple(value is None for value in row) for row in values)
    shape = tuple((type(f.row), f.field, f.after, f.path) for f in then)
    sql = _chained_insert_statement(SeenSignature, Message, shape, connection.alias, nulls)

    sent = [value for row in values for value in row if value is not None]
    assert sql.count("%s") == len(sent) <= MAX_CACHED_STATEMENT_PARAMS
    assert len(sql) <= MAX_CACHED_STATEMENT_LENGTH
    # And it writes what it says.
    assert insert_unless_duplicate(inbound, guard=guard, then=then)
    assert Message.objects.get(pk=relay.pk).in_reply_to_id == inbound.pk
    assert Message.objects.get(pk=inbound.pk).sent_at is None
