"""A delivery's claim finds its message (or event) by its key, however long the backlog.

Between two ANALYZEs the statistics see almost no queued rows (texts and events pass
through `queued` in a moment), so PostgreSQL would take the status indexes for the
cheapest way to the row, and read every queued row to claim one: after a vendor or
platform outage, each row of the backlog would cost as much as the whole backlog.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from providers.models import Direction, Kind, Message, Status
from providers.outbox import CLAIM_SQL, message_deliver
from tests.factories import proxy_number

BACKLOG = 3000

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner"),
]


def _rows(proxy, count: int, status: str) -> list[Message]:
    now = timezone.now()
    return Message.objects.bulk_create(
        Message(
            direction=Direction.OUTBOUND,
            kind=Kind.SMS,
            provider=proxy.provider,
            proxy=proxy,
            sender=proxy.number,
            recipient="+14155550199",
            body=f"text {i}",
            status=status,
            next_attempt_at=now,
        )
        for i in range(count)
    )


def _buffers(sql: str, params: dict | None = None) -> tuple[int, dict]:
    """The pages a statement reads, run under EXPLAIN ANALYZE, and its plan."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
    plan = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
    return plan["Shared Hit Blocks"] + plan["Shared Read Blocks"], plan


def test_a_claim_reads_a_few_pages_with_a_backlog_the_statistics_do_not_know():
    proxy = proxy_number(number="+14155550100", provider="console")
    _rows(proxy, BACKLOG, Status.SENT)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE providers_message")
    backlog = _rows(proxy, BACKLOG, Status.QUEUED)
    now = timezone.now()
    params = {"id": backlog[-1].pk, "now": now, "lease_ends": now}
    buffers, plan = _buffers(CLAIM_SQL, params)
    assert buffers < 50, plan
    # And the claim still claims: the message the plan was read for is now being sent.
    assert Message.objects.get(pk=backlog[-1].pk).status == Status.SENDING
    assert message_deliver(message_id=backlog[-2].pk) == Status.SENT


def test_an_events_claim_reads_a_few_pages_with_a_backlog_the_statistics_do_not_know():
    from providers.events import _event_claim
    from providers.models import Event, EventStatus

    Event.objects.bulk_create(
        Event(type="message.relayed", payload={}, status=EventStatus.SENT) for _ in range(BACKLOG)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE providers_event")
    backlog = Event.objects.bulk_create(
        Event(type="message.relayed", payload={}, next_attempt_at=timezone.now())
        for _ in range(BACKLOG)
    )
    with CaptureQueriesContext(connection) as captured:
        assert _event_claim(pk=backlog[-1].pk) is not None
    claim = captured.captured_queries[0]["sql"]
    assert claim.startswith("UPDATE")
    # The same claim again: it finds nothing to claim, by the way it took.
    buffers, plan = _buffers(claim)
    assert buffers < 50, plan
    assert Event.objects.get(pk=backlog[-1].pk).status == EventStatus.SENDING
