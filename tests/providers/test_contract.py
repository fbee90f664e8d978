"""One contract, every backend (in the manner of django-anymail's shared backend tests).

Each vendor gets an adapter that speaks its wire format; the tests below are written once
against the adapters and run for console, MessageBird, Flowroute, Twilio and Bird alike.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from django.db import transaction

from providers.models import Direction, Kind, Message, Status
from providers.outbox import message_queue
from providers.registry import get_provider
from tests.factories import proxy_number
from tests.providers.routers import PARTNER
from tests.providers.vendors import (
    BIRD_MESSAGES_URL,
    FLOWROUTE_MESSAGES_URL,
    MESSAGEBIRD_MESSAGES_URL,
    TWILIO_MESSAGES_URL,
    bird_accepts,
    flowroute_accepts,
    messagebird_accepts,
    twilio_accepts,
)
from tests.signing import bird_headers, flowroute_callback_path, messagebird_headers, twilio_headers

pytestmark = pytest.mark.django_db

PROXY = "+12065550150"
PERSON = "+12065550177"
FORM = "application/x-www-form-urlencoded"
STALE = 600  # seconds: older than any vendor's signing window


@dataclass(frozen=True)
class Request:
    """A webhook request as the vendor sends it, to send once or again unchanged."""

    method: str
    path: str
    body: bytes = b""
    content_type: str = "application/json"
    meta: dict[str, str] = field(default_factory=dict)

    def send(self, client):
        return client.generic(
            self.method, self.path, self.body, content_type=self.content_type, **self.meta
        )


class Console:
    alias = "console"
    messages_url = None
    voice = True
    # What the same request sent again is answered (a replayed signature is refused).
    replay_status = 200
    signs_time = False

    def accept_send(self, rsps) -> None:
        """The console provider sends nothing over the network."""

    def sent_reference(self, call) -> str | None:
        return None

    def sms_request(self, *, sender, recipient, text, vendor_id, forged=False, age=0):
        body = json.dumps({"from": sender, "to": recipient, "text": text, "id": vendor_id})
        remote = "203.0.113.9" if forged else "127.0.0.1"
        return Request(
            "POST", "/webhooks/console/sms/", body.encode(), meta={"REMOTE_ADDR": remote}
        )

    def malformed_sms_request(self):
        return Request("POST", "/webhooks/console/sms/", b"[]")

    def get_call(self, client, *, caller, recipient):
        return client.get("/webhooks/console/voice/", {"from": caller, "to": recipient})

    def transferred_to(self, response) -> str:
        answer = response.json()
        assert answer["action"] == "transfer"
        return answer["destination"]


class MessageBird:
    alias = "messagebird"
    messages_url = MESSAGEBIRD_MESSAGES_URL
    voice = True
    replay_status = 403
    signs_time = True

    def accept_send(self, rsps) -> None:
        messagebird_accepts(rsps)

    def sent_reference(self, call) -> str | None:
        return json.loads(call.request.body).get("reference")

    def sms_request(self, *, sender, recipient, text, vendor_id, forged=False, age=0):
        fields = {"originator": sender[1:], "recipient": recipient[1:], "payload": text}
        body = urlencode({**fields, "id": vendor_id}).encode()
        path = "/webhooks/messagebird/sms/"
        signing = {"key": "a-key-that-is-not-ours-0123456789"} if forged else {}
        headers = messagebird_headers(
            url=f"http://testserver{path}", body=body, issued_at=time.time() - age, **signing
        )
        return Request("POST", path, body, FORM, headers)

    def malformed_sms_request(self):
        body = b"payload=hello"
        path = "/webhooks/messagebird/sms/"
        headers = messagebird_headers(url=f"http://testserver{path}", body=body)
        return Request("POST", path, body, FORM, headers)

    def get_call(self, client, *, caller, recipient):
        url = f"/webhooks/messagebird/voice/?source={caller[1:]}&destination={recipient[1:]}"
        return client.get(url, **messagebird_headers(url=f"http://testserver{url}"))

    def transferred_to(self, response) -> str:
        assert b"<Transfer " in response.content
        assert b'mask="true"' in response.content
        return "+" + response.content.split(b'destination="')[1].split(b'"')[0].decode()


class Flowroute:
    alias = "flowroute"
    messages_url = FLOWROUTE_MESSAGES_URL
    voice = False
    replay_status = 200
    signs_time = False

    def accept_send(self, rsps) -> None:
        flowroute_accepts(rsps)

    def sent_reference(self, call) -> str | None:
        return None

    def sms_request(self, *, sender, recipient, text, vendor_id, forged=False, age=0):
        attributes = {"from": sender[1:], "to": recipient[1:], "body": text}
        body = json.dumps({"data": {"id": vendor_id, "type": "message", "attributes": attributes}})
        token = {"token": "not-the-token"} if forged else {}
        return Request("POST", flowroute_callback_path(**token), body.encode(), JSONAPI)

    def malformed_sms_request(self):
        return Request("POST", flowroute_callback_path(), b"{")

    def get_call(self, client, *, caller, recipient):
        return client.get(
            "/webhooks/flowroute/voice/", {"source": caller[1:], "destination": recipient[1:]}
        )

    def transferred_to(self, response) -> str:
        raise AssertionError("Flowroute numbers take no calls")


JSONAPI = "application/vnd.api+json"


class Twilio:
    alias = "twilio"
    messages_url = TWILIO_MESSAGES_URL
    voice = True
    replay_status = 200  # no one-time id: the MessageSid seen before is dropped
    signs_time = False

    def accept_send(self, rsps) -> None:
        twilio_accepts(rsps)

    def sent_reference(self, call) -> str | None:
        return None

    def _signed_form(self, path, fields, *, token=None):
        signing = {"token": token} if token else {}
        headers = twilio_headers(url=f"http://testserver{path}", params=fields, **signing)
        return Request("POST", path, urlencode(fields).encode(), FORM, headers)

    def sms_request(self, *, sender, recipient, text, vendor_id, forged=False, age=0):
        fields = {"MessageSid": vendor_id, "From": sender, "To": recipient, "Body": text}
        fields |= {"AccountSid": "AC00000000000000000000000000000001", "NumMedia": "0"}
        token = "not-the-auth-token" if forged else None
        return self._signed_form("/webhooks/twilio/sms/", fields, token=token)

    def malformed_sms_request(self):
        return self._signed_form("/webhooks/twilio/sms/", {"MessageSid": "SM1", "Body": "hi"})

    def get_call(self, client, *, caller, recipient):
        fields = {"CallSid": "CA1", "From": caller, "To": recipient, "CallStatus": "ringing"}
        return self._signed_form("/webhooks/twilio/voice/", fields).send(client)

    def transferred_to(self, response) -> str:
        dial = ElementTree.fromstring(response.content).find("Dial")  # noqa: S314 - our own
        assert dial is not None
        assert dial.get("callerId") == PROXY  # the pool number: the caller ID is masked
        return dial.find("Number").text


class Bird:
    alias = "bird"
    messages_url = BIRD_MESSAGES_URL
    voice = False
    replay_status = 200  # Bird retries with the same webhook-id: acknowledged, dropped
    signs_time = True

    def accept_send(self, rsps) -> None:
        bird_accepts(rsps)

    def sent_reference(self, call) -> str | None:
        return call.request.headers.get("Idempotency-Key")

    def _signed_event(self, event, **signing):
        body = json.dumps(event).encode()
        return Request("POST", "/webhooks/bird/", body, meta=bird_headers(body=body, **signing))

    def sms_request(self, *, sender, recipient, text, vendor_id, forged=False, age=0):
        data = {"sms_id": vendor_id, "from": sender, "to": recipient, "text": text}
        event = {"type": "sms.received", "timestamp": "2026-11-22T20:58:11Z", "data": data}
        signing = {"sent_at": time.time() - age}
        if forged:
            signing["secret"] = "whsec_bm90LXRoZS1zZWNyZXQtb2YtdGhpcy1lbmRwb2ludA=="
        return self._signed_event(event, **signing)

    def malformed_sms_request(self):
        return self._signed_event({"type": "sms.received", "data": {"from": PERSON}})

    def get_call(self, client, *, caller, recipient):
        return client.post("/webhooks/bird/voice/", {"from": caller, "to": recipient})

    def transferred_to(self, response) -> str:
        raise AssertionError("Bird numbers take no calls here")


VENDORS = [Console(), MessageBird(), Flowroute(), Twilio(), Bird()]


@pytest.fixture(params=VENDORS, ids=lambda v: v.alias)
def vendor(request):
    return request.param


@pytest.fixture
def proxy(vendor, db):
    provider = get_provider(vendor.alias)
    return proxy_number(number=PROXY, provider=vendor.alias, voice=provider.supports_inbound_voice)


def inbound(vendor, client, **overrides):
    return sms_request(vendor, **overrides).send(client)


def sms_request(vendor, **overrides) -> Request:
    fields = {"sender": PERSON, "recipient": PROXY, "text": "hi there", "vendor_id": "v-1"}
    return vendor.sms_request(**{**fields, **overrides})


def test_backend_declares_what_it_can_do(vendor):
    provider = get_provider(vendor.alias)

    assert provider.name == vendor.alias
    assert provider.supports_sms and provider.supports_inbound_sms
    assert provider.supports_inbound_voice == vendor.voice
    assert provider.serves_number(PROXY)
    assert provider.serves_number("+447700900001") == (vendor.alias != "flowroute")


def test_send_is_delivered_and_logged_with_the_vendor_id(
    vendor, proxy, mocked_responses, django_capture_on_commit_callbacks
):
    vendor.accept_send(mocked_responses)

    with django_capture_on_commit_callbacks(execute=True):
        message = message_queue(proxy=proxy, recipient=PERSON, body="see you at 5")

    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.vendor_id
    assert message.attempts == 1
    assert len(mocked_responses.calls) == (0 if vendor.messages_url is None else 1)


def test_a_send_carries_the_message_id_where_the_vendor_takes_a_reference(
    vendor, proxy, mocked_responses, django_capture_on_commit_callbacks
):
    if vendor.messages_url is None:
        pytest.skip("the console provider sends nothing over the network")
    vendor.accept_send(mocked_responses)

    with django_capture_on_commit_callbacks(execute=True):
        message = message_queue(proxy=proxy, recipient=PERSON, body="see you at 5")

    [call] = mocked_responses.calls
    expected = str(message.pk) if get_provider(vendor.alias).capabilities.send_reference else None
    assert vendor.sent_reference(call) == expected


def test_inbound_sms_is_normalized_logged_and_routed(vendor, proxy, client):
    response = inbound(vendor, client)

    assert response.status_code == 200
    message = Message.objects.get(direction=Direction.INBOUND)
    assert (message.sender, message.recipient, message.body) == (PERSON, PROXY, "hi there")
    assert (message.provider, message.vendor_id, message.proxy) == (vendor.alias, "v-1", proxy)
    reply = Message.objects.get(direction=Direction.OUTBOUND)
    assert (reply.sender, reply.recipient, reply.provider) == (PROXY, PERSON, vendor.alias)


def test_same_vendor_id_twice_is_processed_once(vendor, proxy, client):
    assert inbound(vendor, client).status_code == 200
    assert inbound(vendor, client).status_code == 200

    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1


def test_a_replayed_request_is_processed_once(vendor, proxy, client):
    request = sms_request(vendor)

    assert request.send(client).status_code == 200
    assert request.send(client).status_code == vendor.replay_status

    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1


def test_forged_inbound_sms_is_refused_with_403(vendor, proxy, client):
    response = inbound(vendor, client, forged=True)

    assert response.status_code == 403
    assert not Message.objects.exists()


def test_a_stale_signed_request_is_refused_with_403(vendor, proxy, client):
    if not vendor.signs_time:
        pytest.skip(f"{vendor.alias} signs no time: an old request is a replay, dropped by its id")

    response = inbound(vendor, client, age=STALE)

    assert response.status_code == 403
    assert not Message.objects.exists()


def test_malformed_inbound_sms_is_a_400_with_a_reason(vendor, proxy, client):
    response = vendor.malformed_sms_request().send(client)

    assert response.status_code == 400
    assert response.content.strip()
    assert not Message.objects.exists()


def test_inbound_call_is_transferred_masked_or_the_url_does_not_exist(vendor, proxy, client):
    response = vendor.get_call(client, caller=PERSON, recipient=PROXY)

    if not get_provider(vendor.alias).supports_inbound_voice:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    assert vendor.transferred_to(response) == PARTNER
    call = Message.objects.get(kind=Kind.CALL)
    assert (call.sender, call.recipient, call.status) == (PERSON, PROXY, Status.TRANSFERRED)


def test_nothing_is_sent_when_the_deciding_transaction_rolls_back(vendor, proxy, mocked_responses):
    with pytest.raises(RuntimeError), transaction.atomic():
        message_queue(proxy=proxy, recipient=PERSON, body="never")
        raise RuntimeError("the router's write failed")

    assert not Message.objects.exists()
    assert len(mocked_responses.calls) == 0
