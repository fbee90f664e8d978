"""The vendor misbehaves while traffic continues: every message is delivered exactly once.

A fault schedule (connection refused, 500, 429 with Retry-After, timeouts) is drawn by
hypothesis; delivery then runs as the worker and the outbox sweep would, with the
clock moved forward instead of waited for.
"""

from __future__ import annotations

import json
from collections import deque
from datetime import timedelta

import pytest
import requests
import responses
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.models import Direction, Message, Status
from providers.outbox import message_deliver, message_queue, outbox_sweep

from .conftest import MESSAGEBIRD_API
from .vendor import FAULTS, Ledger, messagebird_request_params

RETRY_AFTER = 7


def _vendor(rsps, ledger: Ledger, schedule: deque[str]) -> None:
    """The vendor answers each request with the next fault of the schedule, then ok."""

    def answer(request):
        ledger.calls += 1
        fault = schedule.popleft() if schedule else "ok"
        if fault == "refused":
            raise requests.ConnectionError("connection refused")
        if fault == "timeout":
            raise requests.ReadTimeout("read timed out")
        if fault == "500":
            return 500, {}, "oops"
        if fault == "429":
            return 429, {"Retry-After": str(RETRY_AFTER)}, "slow down"
        return 201, {}, json.dumps(ledger.accept(messagebird_request_params(request.body)))

    rsps.add_callback(responses.POST, f"{MESSAGEBIRD_API}/messages", callback=answer)


def _drain(*, max_rounds: int = 30) -> None:
    """Sweep with the clock moved past every backoff until nothing is left to send."""
    for round_ in range(max_rounds):
        pending = Message.objects.filter(
            direction=Direction.OUTBOUND, status__in=[Status.QUEUED, Status.SENDING]
        )
        if not pending.exists():
            return
        outbox_sweep(now=timezone.now() + timedelta(hours=round_ + 1))
    raise AssertionError("messages still pending after the vendor recovered")


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    # Fewer faults than MAX_ATTEMPTS: even if they all hit one message, it is retried.
    schedule=st.lists(st.sampled_from(FAULTS), max_size=7),
    count=st.integers(min_value=1, max_value=5),
)
def test_every_message_is_delivered_once_whatever_the_vendor_does(mb_proxy, schedule, count):
    Message.objects.all().delete()
    ledger = Ledger()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _vendor(rsps, ledger, deque(schedule))
        messages = [
            message_queue(proxy=mb_proxy, recipient=f"+1206555300{i}", body=f"body {i}")
            for i in range(count)
        ]
        for message in messages:
            message_deliver(message_id=message.pk)
        _drain()
    assert ledger.bodies() == {f"body {i}": 1 for i in range(count)}
    sent = Message.objects.filter(direction=Direction.OUTBOUND)
    assert {m.status for m in sent} == {Status.SENT}
    assert sum(m.attempts for m in sent) == ledger.calls == len(schedule) + count


@pytest.mark.django_db
def test_a_429_waits_at_least_retry_after(mb_proxy):
    ledger = Ledger()
    with responses.RequestsMock() as rsps:
        _vendor(rsps, ledger, deque(["429"]))
        message = message_queue(proxy=mb_proxy, recipient="+12065553000", body="later")
        before = timezone.now()
        assert message_deliver(message_id=message.pk) == Status.QUEUED
    message.refresh_from_db()
    assert message.next_attempt_at >= before + timedelta(seconds=RETRY_AFTER)
    assert "429" in message.last_error
    assert ledger.accepted == []


@pytest.mark.django_db
def test_a_refusal_fails_the_message_and_it_is_not_sent_again(mb_proxy):
    with responses.RequestsMock() as rsps:
        rsps.add(
            responses.POST,
            f"{MESSAGEBIRD_API}/messages",
            status=422,
            json={"errors": [{"code": 9, "description": "no (correct) recipients found"}]},
        )
        message = message_queue(proxy=mb_proxy, recipient="+12065553000", body="nope")
        assert message_deliver(message_id=message.pk) == Status.FAILED
        assert outbox_sweep(now=timezone.now() + timedelta(days=1)) == 0
        assert len(rsps.calls) == 1


@pytest.mark.django_db
def test_a_message_whose_worker_died_mid_send_is_sent_after_the_lease(mb_proxy, settings):
    ledger = Ledger()
    message = message_queue(proxy=mb_proxy, recipient="+12065553000", body="lost worker")
    # The worker claimed it, then died: the row is left in `sending` with a lease.
    lease = settings.MASKED_NUMBERS_DELIVERY["SENDING_LEASE_SECONDS"]
    Message.objects.filter(pk=message.pk).update(
        status=Status.SENDING, attempts=1, next_attempt_at=timezone.now() + timedelta(seconds=lease)
    )
    with responses.RequestsMock() as rsps:
        _vendor(rsps, ledger, deque())
        assert outbox_sweep() == 0, "a live lease is left alone"
        outbox_sweep(now=timezone.now() + timedelta(seconds=lease + 1))
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert ledger.bodies() == {"lost worker": 1}
