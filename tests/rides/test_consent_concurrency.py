"""Parallel STOPs from one person: one opt-out, one confirmation, nothing relayed."""

from __future__ import annotations

import pytest
from django.db import connection

from providers.backends import console
from providers.inbound import inbound_sms_receive
from providers.models import Direction, Message, OptOut
from providers.types import InboundSms
from tests import factories

from .test_concurrency import PARALLEL, run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite runs one writer at a time, so nothing runs in parallel",
    ),
]


def test_parallel_stops_record_one_opt_out_and_confirm_once():
    ride = factories.ride(proxy=factories.proxy_number(number="+12065550100"))
    customer, driver = ride.customer.phone, ride.driver.phone

    def stop(index: int):
        event = InboundSms(
            provider="console",
            sender=customer,
            recipient="+12065550100",
            text="STOP" if index % 2 else "stop.",
            vendor_id=f"stop-{index}",
        )
        return lambda: inbound_sms_receive(inbound=event).message.outcome

    results = run_together([stop(i) for i in range(PARALLEL)])

    assert sorted(results) == ["opted_out"] + ["opted_out_again"] * (PARALLEL - 1)
    assert OptOut.objects.filter(phone=customer).count() == 1
    assert [sent["to"] for sent in console.outbox] == [customer]
    assert not Message.objects.filter(direction=Direction.OUTBOUND, recipient=driver).exists()
