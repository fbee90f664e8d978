"""Delivery status rules: forward only, whoever reports, in whatever order."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from providers.inbound import receipt_receive
from providers.models import Direction, Message, MessageStatusChange, Status
from providers.outbox import _message_sent, message_deliver
from providers.receipts import message_status_record
from providers.types import DeliveryReceipt
from tests.factories import proxy_number
from tests.providers.logs import outbound_row
from tests.providers.vendors import MESSAGEBIRD_MESSAGES_URL, fixture_json, messagebird_accepts

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 22, 20, 58, 14, tzinfo=UTC)


@pytest.fixture
def proxy():
    return proxy_number(number="+14155550100", provider="messagebird")


def receipt(status: str, *, vendor_id: str = "mb-1", reference: str = "", **fields):
    return DeliveryReceipt(
        provider="messagebird",
        status=status,
        vendor_status=fields.pop("vendor_status", status),
        vendor_id=vendor_id,
        reference=reference,
        **fields,
    )


def status_of(message: Message) -> str:
    message.refresh_from_db()
    return message.status


def test_delivered_after_undelivered_wins_and_clears_the_error(proxy):
    message = outbound_row(proxy, status=Status.SENT, vendor_id="mb-1")
    receipt_receive(receipt=receipt(Status.UNDELIVERED, error_code="1", error_description="x"))
    assert status_of(message) == Status.UNDELIVERED

    assert receipt_receive(receipt=receipt(Status.DELIVERED, at=AT))

    message.refresh_from_db()
    assert (message.status, message.delivered_at, message.error_code) == (
        Status.DELIVERED,
        AT,
        "",
    )


def test_undelivered_and_failed_never_replace_each_other(proxy):
    message = outbound_row(proxy, status=Status.SENT, vendor_id="mb-1")
    receipt_receive(receipt=receipt(Status.UNDELIVERED, error_code="1"))

    assert not receipt_receive(receipt=receipt(Status.FAILED, error_code="2"))

    message.refresh_from_db()
    assert (message.status, message.error_code) == (Status.UNDELIVERED, "1")


def test_nothing_leaves_delivered(proxy):
    message = outbound_row(proxy, status=Status.DELIVERED, vendor_id="mb-1")

    for status in (Status.SENT, Status.UNDELIVERED, Status.FAILED, Status.DELIVERED):
        assert not receipt_receive(receipt=receipt(status))

    assert status_of(message) == Status.DELIVERED
    assert MessageStatusChange.objects.filter(message=message, applied=False).count() == 4


def test_a_receipt_before_the_send_is_recorded_fills_in_the_vendor_id_and_stands(proxy):
    message = outbound_row(proxy, status=Status.SENDING, attempts=1)

    receipt_receive(receipt=receipt(Status.DELIVERED, vendor_id="mb-9", reference=str(message.pk)))
    _message_sent(message_id=message.pk, vendor_id="mb-9", claimed=time.monotonic())

    message.refresh_from_db()
    assert (message.status, message.vendor_id) == (Status.DELIVERED, "mb-9")
    assert message.sent_at is not None and message.next_attempt_at is None


def test_a_queued_retry_the_vendor_already_delivered_is_not_sent_again(proxy, mocked_responses):
    messagebird_accepts(mocked_responses)
    message = outbound_row(proxy, status=Status.QUEUED, attempts=1, last_error="timeout")

    receipt_receive(receipt=receipt(Status.DELIVERED, reference=str(message.pk)))

    assert message_deliver(message_id=message.pk) == "skipped"
    assert not mocked_responses.calls
    assert status_of(message) == Status.DELIVERED


def test_a_refusal_by_the_vendor_is_in_the_history(proxy, mocked_responses):
    mocked_responses.post(
        MESSAGEBIRD_MESSAGES_URL, json=fixture_json("messagebird/sms_send_error.json"), status=422
    )
    message = outbound_row(proxy)

    assert message_deliver(message_id=message.pk) == Status.FAILED

    message.refresh_from_db()
    [change] = MessageStatusChange.objects.filter(message=message)
    assert (change.status, change.applied) == (Status.FAILED, True)
    # Our words; the vendor's own (which may echo the number) stay in last_error.
    assert message.error_description == "MessageBird refused the message"
    assert message.last_error == "MessageBird refused the message: 10: recipients is invalid"


def test_the_outbox_fails_only_what_it_is_sending(proxy):
    message = outbound_row(proxy, status=Status.DELIVERED)

    moved = message_status_record(
        message_id=message.pk, status=Status.FAILED, only_from=(Status.SENDING,)
    )

    assert not moved
    assert status_of(message) == Status.DELIVERED


def test_a_reference_is_only_followed_to_an_outbound_text_of_that_vendor(proxy):
    inbound = outbound_row(proxy, direction=Direction.INBOUND, status=Status.RECEIVED)
    other = outbound_row(proxy_number(provider="twilio"), status=Status.SENT)

    for message in (inbound, other):
        assert not receipt_receive(
            receipt=receipt(Status.DELIVERED, vendor_id="", reference=str(message.pk))
        )

    assert (status_of(inbound), status_of(other)) == (Status.RECEIVED, Status.SENT)
    assert not MessageStatusChange.objects.exists()


def test_a_wrong_reference_falls_back_to_the_vendor_id(proxy):
    message = outbound_row(proxy, status=Status.SENT, vendor_id="mb-1")

    assert receipt_receive(receipt=receipt(Status.DELIVERED, reference="99999999"))

    assert status_of(message) == Status.DELIVERED


def test_a_receipt_costs_a_lookup_an_update_and_its_history_row(
    proxy, django_assert_max_num_queries
):
    message = outbound_row(proxy, status=Status.SENT, vendor_id="mb-1")

    # SELECT, UPDATE, INSERT, and the savepoint around the last two inside the test.
    with django_assert_max_num_queries(5):
        receipt_receive(receipt=receipt(Status.DELIVERED))

    assert status_of(message) == Status.DELIVERED


def test_receipts_tell_the_platform_once_each_time_they_move_a_text(proxy, settings):
    from tests.events import EVENTS_SECRET, EVENTS_URL, emitted

    settings.MASKED_NUMBERS_EVENTS_URL = EVENTS_URL
    settings.MASKED_NUMBERS_EVENTS_SECRET = EVENTS_SECRET
    message = outbound_row(proxy, status=Status.SENT, vendor_id="mb-1")
    receipt_receive(receipt=receipt(Status.UNDELIVERED, error_code="20", error_description="x"))
    receipt_receive(receipt=receipt(Status.UNDELIVERED, error_code="20", error_description="x"))
    receipt_receive(receipt=receipt(Status.DELIVERED, at=AT))
    receipt_receive(receipt=receipt(Status.SENT))

    events = [(e["type"], e["data"]["message_id"], e["data"]["status"]) for e in emitted()]
    assert events == [
        ("message.failed", message.pk, Status.UNDELIVERED),
        ("message.delivered", message.pk, Status.DELIVERED),
    ]
    assert emitted("message.failed")[0]["data"]["error"] == "20: x"
