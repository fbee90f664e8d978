"""Delivery receipts end to end, every vendor: a text is sent through the vendor's
(intercepted) API, then the vendor's recorded receipts move it, signed as the vendor
signs them. One adapter per vendor, the tests written once (as test_contract.py)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from urllib.parse import parse_qs, parse_qsl

import pytest

from providers.models import Message, MessageStatusChange, Status
from providers.outbox import message_queue
from providers.registry import get_provider
from tests.factories import proxy_number
from tests.providers.vendors import (
    bird_accepts,
    fixture_bytes,
    flowroute_accepts,
    messagebird_accepts,
    set_provider_options,
    twilio_accepts,
)
from tests.signing import (
    FLOWROUTE_WEBHOOK_TOKEN,
    bird_headers,
    messagebird_headers,
    twilio_headers,
)

pytestmark = pytest.mark.django_db

PROXY = "+14155550100"
PERSON = "+14155550123"
PUBLIC = "https://sms.example.com"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    content_type: str = "application/json"
    meta: dict[str, str] = field(default_factory=dict)

    def send(self, client):
        return client.generic(
            self.method, self.path, self.body, content_type=self.content_type, **self.meta
        )


def recorded(name: str, message: Message) -> bytes:
    """A recorded receipt, naming our message where the vendor echoes our reference."""
    return fixture_bytes(name).replace(b"REF", str(message.pk).encode())


class MessageBird:
    alias = "messagebird"
    vendor_id = "cd5bd37a34fb4fd9b8f5e2a3c49d1b7e"
    failure = Status.UNDELIVERED
    failure_code = ("1", "unknown subscriber")
    fixtures = {
        "sent": "messagebird/status_report_sent.txt",
        "delivered": "messagebird/status_report_delivered.txt",
        "failure": "messagebird/status_report_failed.txt",
    }

    def accept_send(self, rsps) -> None:
        messagebird_accepts(rsps)

    def asked_callback(self, call) -> str:
        sent = json.loads(call.request.body)
        assert sent["reference"]  # reports come only for sends with a reference
        return sent.get("reportUrl", "")

    def expected_callback(self, message) -> str:
        return f"{PUBLIC}/webhooks/messagebird/receipts/"

    def _get(self, query: bytes, **signing) -> Request:
        path = "/webhooks/messagebird/receipts/?" + query.decode()
        return Request(
            "GET", path, meta=messagebird_headers(url=f"http://testserver{path}", **signing)
        )

    def receipt(self, kind, message) -> Request:
        return self._get(recorded(self.fixtures[kind], message))

    def forged(self, message) -> Request:
        query = recorded(self.fixtures["delivered"], message)
        return self._get(query, key="a-key-that-is-not-ours-0123456789")

    def malformed(self) -> Request:
        return self._get(b"id=cd5bd37a34fb4fd9b8f5e2a3c49d1b7e&statusDatetime=yesterday")

    def unknown(self) -> Request:
        return self._get(b"id=not-one-of-ours&reference=999999&status=delivered")


class Flowroute:
    alias = "flowroute"
    vendor_id = "mdr2-ca82be46e6ba11e79d08862d092cf43f"
    failure = Status.UNDELIVERED
    failure_code = ("1", "Unknown subscriber")
    fixtures = {
        "sent": "flowroute/dlr_level1.json",
        "delivered": "flowroute/dlr_level2_delivered.json",
        "failure": "flowroute/dlr_level2_undelivered.json",
    }

    def accept_send(self, rsps) -> None:
        flowroute_accepts(rsps)

    def asked_callback(self, call) -> str:
        return json.loads(call.request.body)["data"]["attributes"].get("dlr_callback", "")

    def expected_callback(self, message) -> str:
        token = FLOWROUTE_WEBHOOK_TOKEN
        return f"{PUBLIC}/webhooks/flowroute/receipts/{token}/?ref={message.pk}"

    def _post(self, body: bytes, *, message=None, token=FLOWROUTE_WEBHOOK_TOKEN) -> Request:
        query = f"?ref={message.pk}" if message is not None else ""
        return Request("POST", f"/webhooks/flowroute/receipts/{token}/{query}", body)

    def receipt(self, kind, message) -> Request:
        return self._post(recorded(self.fixtures[kind], message), message=message)

    def forged(self, message) -> Request:
        body = recorded(self.fixtures["delivered"], message)
        return self._post(body, message=message, token="not-the-token")

    def malformed(self) -> Request:
        return self._post(b'{"data": {"type": "message", "attributes": {}}}')

    def unknown(self) -> Request:
        body = fixture_bytes(self.fixtures["delivered"]).replace(b"mdr2-ca82", b"mdr2-ffff")
        return self._post(body)


class Twilio:
    alias = "twilio"
    vendor_id = "SMaa2a2b2c2d2e2f2a3b3c3d3e3f3a4b4c"
    failure = Status.UNDELIVERED
    failure_code = ("30003", "unreachable destination handset")
    fixtures = {
        "sent": "twilio/status_sent.txt",
        "delivered": "twilio/status_delivered.txt",
        "failure": "twilio/status_undelivered.txt",
    }

    def accept_send(self, rsps) -> None:
        twilio_accepts(rsps)

    def asked_callback(self, call) -> str:
        return parse_qs(call.request.body).get("StatusCallback", [""])[0]

    def expected_callback(self, message) -> str:
        return f"{PUBLIC}/webhooks/twilio/receipts/?ref={message.pk}"

    def _post(self, body: bytes, *, message=None, **signing) -> Request:
        path = "/webhooks/twilio/receipts/" + (f"?ref={message.pk}" if message else "")
        params = dict(parse_qsl(body.decode()))
        headers = twilio_headers(url=f"http://testserver{path}", params=params, **signing)
        return Request("POST", path, body, FORM, headers)

    def receipt(self, kind, message) -> Request:
        return self._post(fixture_bytes(self.fixtures[kind]), message=message)

    def forged(self, message) -> Request:
        body = fixture_bytes(self.fixtures["delivered"])
        return self._post(body, message=message, token="not-the-auth-token")

    def malformed(self) -> Request:
        return self._post(b"MessageSid=SMaa2a2b2c2d2e2f2a3b3c3d3e3f3a4b4c&To=%2B14155550123")

    def unknown(self) -> Request:
        return self._post(b"MessageSid=SMffff&MessageStatus=delivered")


class Bird:
    alias = "bird"
    vendor_id = "sms_01krdgeqcxet5s7t44vh8rt9mh"
    failure = Status.FAILED
    failure_code = ("unreachable", "Handset switched off or out of coverage")
    fixtures = {
        "sent": "bird/sms_sent_event.json",
        # Recorded without metadata: found by Bird's sms_id.
        "delivered": "bird/sms_delivered.json",
        "failure": "bird/sms_failed.json",
    }

    def accept_send(self, rsps) -> None:
        bird_accepts(rsps)

    def asked_callback(self, call) -> str:
        # No URL: Bird reports through the webhook subscription, naming the metadata.
        return json.loads(call.request.body)["metadata"]

    def expected_callback(self, message) -> dict:
        return {"reference": str(message.pk)}

    def _post(self, body: bytes, **signing) -> Request:
        return Request("POST", "/webhooks/bird/", body, meta=bird_headers(body=body, **signing))

    def receipt(self, kind, message) -> Request:
        return self._post(recorded(self.fixtures[kind], message))

    def forged(self, message) -> Request:
        body = recorded(self.fixtures["delivered"], message)
        return self._post(body, secret="whsec_bm90LXRoZS1zZWNyZXQtb2YtdGhpcy1lbmRwb2ludA==")

    def malformed(self) -> Request:
        return self._post(b'{"type": "sms.delivered", "timestamp": "x", "data": {}}')

    def unknown(self) -> Request:
        return self._post(fixture_bytes(self.fixtures["delivered"]).replace(b"rt9mh", b"rt9mz"))


VENDORS = [MessageBird(), Flowroute(), Twilio(), Bird()]


@pytest.fixture(params=VENDORS, ids=lambda v: v.alias)
def vendor(request):
    return request.param


@pytest.fixture
def sent(vendor, mocked_responses, django_capture_on_commit_callbacks):
    """A text the vendor accepted: `sent`, with the vendor's id."""
    proxy = proxy_number(number=PROXY, provider=vendor.alias, voice=False)
    vendor.accept_send(mocked_responses)
    with django_capture_on_commit_callbacks(execute=True):
        message = message_queue(proxy=proxy, recipient=PERSON, body="see you at 5")
    message.refresh_from_db()
    assert (message.status, message.vendor_id) == (Status.SENT, vendor.vendor_id)
    return message


def history(message) -> list[tuple[str, bool]]:
    return list(
        MessageStatusChange.objects.filter(message=message)
        .order_by("id")
        .values_list("status", "applied")
    )


def test_a_send_asks_for_receipts_at_the_public_url(
    vendor, settings, mocked_responses, django_capture_on_commit_callbacks
):
    if vendor.alias != "bird":  # Bird's receipts follow the webhook subscription
        set_provider_options(settings, vendor.alias, public_url=PUBLIC)
    assert get_provider(vendor.alias).capabilities.delivery_receipts
    proxy = proxy_number(number=PROXY, provider=vendor.alias, voice=False)
    vendor.accept_send(mocked_responses)

    with django_capture_on_commit_callbacks(execute=True):
        message = message_queue(proxy=proxy, recipient=PERSON, body="see you at 5")

    [call] = mocked_responses.calls
    assert vendor.asked_callback(call) == vendor.expected_callback(message)


@pytest.mark.parametrize("alias", ["messagebird", "flowroute", "twilio"])
def test_without_a_public_url_no_receipt_is_asked_and_the_backend_says_so(
    alias, mocked_responses, django_capture_on_commit_callbacks
):
    vendor = next(v for v in VENDORS if v.alias == alias)
    assert not get_provider(alias).capabilities.delivery_receipts
    proxy = proxy_number(number=PROXY, provider=alias, voice=False)
    vendor.accept_send(mocked_responses)

    with django_capture_on_commit_callbacks(execute=True):
        message_queue(proxy=proxy, recipient=PERSON, body="see you at 5")

    assert vendor.asked_callback(mocked_responses.calls[0]) == ""


def test_receipts_move_a_sent_text_to_delivered(vendor, sent, client):
    for kind in ("sent", "delivered"):
        assert vendor.receipt(kind, sent).send(client).status_code == 200

    sent.refresh_from_db()
    assert sent.status == Status.DELIVERED
    assert sent.delivered_at is not None
    assert (sent.error_code, sent.error_description) == ("", "")
    assert history(sent) == [(Status.SENT, False), (Status.DELIVERED, True)]


def test_a_failure_receipt_keeps_the_vendor_s_code_and_description(vendor, sent, client):
    assert vendor.receipt("failure", sent).send(client).status_code == 200

    sent.refresh_from_db()
    assert sent.status == vendor.failure
    assert (sent.error_code, sent.error_description) == vendor.failure_code
    assert sent.delivered_at is None
    assert history(sent) == [(vendor.failure, True)]


def test_a_late_sent_after_delivered_changes_nothing(vendor, sent, client):
    for kind in ("delivered", "sent"):
        assert vendor.receipt(kind, sent).send(client).status_code == 200

    sent.refresh_from_db()
    assert sent.status == Status.DELIVERED
    assert history(sent) == [(Status.DELIVERED, True), (Status.SENT, False)]


def test_the_same_receipt_twice_moves_the_text_once(vendor, sent, client):
    request = vendor.receipt("failure", sent)
    assert request.send(client).status_code == 200
    assert request.send(client).status_code == 200

    sent.refresh_from_db()
    assert sent.status == vendor.failure
    assert history(sent) == [(vendor.failure, True), (vendor.failure, False)]


def test_a_receipt_for_an_unknown_message_is_acknowledged_and_logged(vendor, sent, client, caplog):
    with caplog.at_level(logging.WARNING, logger="providers.inbound"):
        response = vendor.unknown().send(client)

    assert response.status_code == 200
    assert "unknown message" in caplog.text
    assert not MessageStatusChange.objects.exists()
    sent.refresh_from_db()
    assert sent.status == Status.SENT


def test_a_forged_receipt_is_refused_with_403(vendor, sent, client):
    response = vendor.forged(sent).send(client)

    assert response.status_code == 403
    sent.refresh_from_db()
    assert sent.status == Status.SENT


def test_a_malformed_receipt_is_a_400_with_its_reason(vendor, sent, client):
    response = vendor.malformed().send(client)

    assert response.status_code == 400
    assert response.content.strip()
    assert not MessageStatusChange.objects.exists()
