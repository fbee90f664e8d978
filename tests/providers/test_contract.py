"""One contract, every backend (in the manner of django-anymail's shared backend tests).

Each vendor gets an adapter that speaks its wire format; the tests below are written once
against the adapters and run for console, MessageBird and Flowroute alike.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.db import transaction

from providers.models import Direction, Kind, Message, Status
from providers.outbox import message_queue
from providers.registry import get_provider
from tests.factories import proxy_number
from tests.providers.routers import PARTNER
from tests.providers.vendors import (
    FLOWROUTE_MESSAGES_URL,
    MESSAGEBIRD_MESSAGES_URL,
    flowroute_accepts,
    messagebird_accepts,
)
from tests.signing import flowroute_callback_path, messagebird_headers

pytestmark = pytest.mark.django_db

PROXY = "+12065550150"
PERSON = "+12065550177"


class Console:
    alias = "console"
    messages_url = None

    def accept_send(self, rsps) -> None:
        """The console provider sends nothing over the network."""

    def post_sms(self, client, *, sender, recipient, text, vendor_id, forged=False):
        body = json.dumps({"from": sender, "to": recipient, "text": text, "id": vendor_id})
        remote = "203.0.113.9" if forged else "127.0.0.1"
        return client.post(
            "/webhooks/console/sms/", body, content_type="application/json", REMOTE_ADDR=remote
        )

    def post_malformed_sms(self, client):
        return client.post("/webhooks/console/sms/", "[]", content_type="application/json")

    def get_call(self, client, *, caller, recipient):
        return client.get("/webhooks/console/voice/", {"from": caller, "to": recipient})

    def transferred_to(self, response) -> str:
        answer = response.json()
        assert answer["action"] == "transfer"
        return answer["destination"]


class MessageBird:
    alias = "messagebird"
    messages_url = MESSAGEBIRD_MESSAGES_URL

    def accept_send(self, rsps) -> None:
        messagebird_accepts(rsps)

    def post_sms(self, client, *, sender, recipient, text, vendor_id, forged=False):
        fields = {"originator": sender[1:], "recipient": recipient[1:], "payload": text}
        body = urlencode({**fields, "id": vendor_id}).encode()
        path = "/webhooks/messagebird/sms/"
        signing = {"key": "a-key-that-is-not-ours-0123456789"} if forged else {}
        headers = messagebird_headers(url=f"http://testserver{path}", body=body, **signing)
        return client.generic(
            "POST", path, body, content_type="application/x-www-form-urlencoded", **headers
        )

    def post_malformed_sms(self, client):
        body = b"payload=hello"
        path = "/webhooks/messagebird/sms/"
        headers = messagebird_headers(url=f"http://testserver{path}", body=body)
        return client.generic(
            "POST", path, body, content_type="application/x-www-form-urlencoded", **headers
        )

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

    def accept_send(self, rsps) -> None:
        flowroute_accepts(rsps)

    def post_sms(self, client, *, sender, recipient, text, vendor_id, forged=False):
        attributes = {"from": sender[1:], "to": recipient[1:], "body": text}
        body = json.dumps({"data": {"id": vendor_id, "type": "message", "attributes": attributes}})
        path = (
            flowroute_callback_path(token="not-the-token") if forged else flowroute_callback_path()
        )
        return client.post(path, body, content_type="application/vnd.api+json")

    def post_malformed_sms(self, client):
        return client.post(flowroute_callback_path(), "{", content_type="application/json")

    def get_call(self, client, *, caller, recipient):
        return client.get(
            "/webhooks/flowroute/voice/", {"source": caller[1:], "destination": recipient[1:]}
        )

    def transferred_to(self, response) -> str:
        raise AssertionError("Flowroute numbers take no calls")


@pytest.fixture(params=[Console(), MessageBird(), Flowroute()], ids=lambda v: v.alias)
def vendor(request):
    return request.param


@pytest.fixture
def proxy(vendor, db):
    provider = get_provider(vendor.alias)
    return proxy_number(number=PROXY, provider=vendor.alias, voice=provider.supports_inbound_voice)


def inbound(vendor, client, **overrides):
    fields = {"sender": PERSON, "recipient": PROXY, "text": "hi there", "vendor_id": "v-1"}
    return vendor.post_sms(client, **{**fields, **overrides})


def test_backend_declares_what_it_can_do(vendor):
    provider = get_provider(vendor.alias)

    assert provider.name == vendor.alias
    assert provider.supports_sms and provider.supports_inbound_sms
    assert provider.supports_inbound_voice == (vendor.alias != "flowroute")


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


def test_forged_inbound_sms_is_refused_with_403(vendor, proxy, client):
    response = inbound(vendor, client, forged=True)

    assert response.status_code == 403
    assert not Message.objects.exists()


def test_malformed_inbound_sms_is_a_400_with_a_reason(vendor, proxy, client):
    response = vendor.post_malformed_sms(client)

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
