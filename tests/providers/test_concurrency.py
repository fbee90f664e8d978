"""Races the database must settle: the same webhook twice at once, two workers on one SMS."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from providers.inbound import inbound_sms_receive, receipt_receive
from providers.models import Direction, Message, MessageStatusChange, Status
from providers.outbox import message_deliver
from providers.types import DeliveryReceipt, InboundSms
from tests.factories import proxy_number
from tests.providers.logs import outbound_row
from tests.providers.vendors import messagebird_accepts

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only():
    # SQLite serialises writers on one lock, so these races cannot happen there.
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")


def at_once(work: Callable[[], object], *, times: int = 4) -> list[object]:
    """Run `work` in several threads released together; each has its own connection."""
    barrier = threading.Barrier(times)
    results: list[object] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(work())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_the_same_vendor_message_arriving_at_once_is_processed_once():
    proxy_number(number="+14155550100", provider="messagebird")
    inbound = InboundSms(
        provider="messagebird",
        sender="+14155550199",
        recipient="+14155550100",
        text="hi",
        vendor_id="same-id",
    )

    results = at_once(lambda: inbound_sms_receive(inbound=inbound).duplicate)

    assert sorted(results) == [False, True, True, True]
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1


def test_workers_racing_for_one_message_send_it_once(mocked_responses):
    messagebird_accepts(mocked_responses)
    message = outbound_row(proxy_number(number="+14155550100", provider="messagebird"))

    results = at_once(lambda: message_deliver(message_id=message.pk))

    assert sorted(results) == [Status.SENT, "skipped", "skipped", "skipped"]
    assert len(mocked_responses.calls) == 1


@pytest.mark.parametrize(
    "statuses",
    [
        [Status.DELIVERED] * 4,
        [Status.UNDELIVERED, Status.FAILED, Status.UNDELIVERED, Status.FAILED],
    ],
    ids=["the same receipt", "two failures"],
)
def test_receipts_racing_for_one_message_move_it_once(statuses):
    proxy = proxy_number(number="+14155550100", provider="twilio")
    message = outbound_row(proxy, status=Status.SENT, vendor_id="SM1")
    pending = list(statuses)

    def report() -> bool:
        status = pending.pop()  # list.pop is atomic: each thread takes its own
        receipt = DeliveryReceipt(
            provider="twilio", status=status, vendor_status=status, vendor_id="SM1"
        )
        return receipt_receive(receipt=receipt)

    results = at_once(report)

    assert sorted(results) == [False, False, False, True]
    changes = MessageStatusChange.objects.filter(message=message)
    [winner] = changes.filter(applied=True)
    assert changes.count() == 4
    message.refresh_from_db()
    assert message.status == winner.status
