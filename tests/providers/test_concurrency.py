"""Races the database must settle: the same webhook twice at once, two workers on one SMS."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from providers.inbound import inbound_sms_receive
from providers.models import Direction, Message, Status
from providers.outbox import message_deliver
from providers.types import InboundSms
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
