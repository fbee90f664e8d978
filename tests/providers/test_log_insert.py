"""The log's two literal INSERTs name every column of Message that has no database
default: a field added to the model without one fails here, not in production."""

from __future__ import annotations

import re

import pytest
from django.db.models import NOT_PROVIDED

from providers.models import MESSAGE_INSERT_SQL, OUTBOUND_INSERT_SQL, Message, Status
from providers.outbox import message_queue
from tests.factories import proxy_number


def _columns(sql: str) -> list[str]:
    named = re.search(r"INSERT INTO providers_message \((.*?)\)", sql, re.S)
    assert named is not None
    return [column.strip() for column in named.group(1).split(",")]


@pytest.mark.parametrize("sql", [MESSAGE_INSERT_SQL, OUTBOUND_INSERT_SQL], ids=["log", "outbound"])
def test_each_literal_insert_names_every_column_without_a_database_default(sql):
    columns = _columns(sql)
    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    must = {f.column for f in fields if f.db_default is NOT_PROVIDED}
    assert must <= set(columns), f"not written by the literal INSERT: {must - set(columns)}"
    assert set(columns) <= {f.column for f in fields}, "a column the model does not have"
    assert len(columns) == len(set(columns))


@pytest.mark.django_db
def test_a_queued_text_reads_back_as_it_was_written():
    proxy = proxy_number(number="+14155550100")
    message = message_queue(
        proxy=proxy,
        recipient="+14155550199",
        body="see you at the gate",
        session="ride:1",
        outcome="relayed",
    )
    assert message.status == Status.QUEUED
    stored = Message.objects.get(pk=message.pk)
    for field in Message._meta.concrete_fields:
        if field.name in {"id", "updated_at"}:
            continue
        assert getattr(stored, field.attname) == getattr(message, field.attname), field.name
