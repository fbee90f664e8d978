"""providers.db: the hand-written statements give what the ORM gives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from providers.db import fetch_instance
from providers.models import Direction, Message, Status
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
