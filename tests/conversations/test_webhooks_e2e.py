"""The protocol end to end: real vendor webhook formats in, vendor API requests out."""

from __future__ import annotations

import itertools
import json
import re
from urllib.parse import urlencode

import pytest
from django.test import override_settings

from conversations.codes import ALPHABET
from conversations.models import Conversation, State
from providers.models import Kind, Message
from tests.factories import conversations_number
from tests.factories import conversations_person as person
from tests.signing import FLOWROUTE_WEBHOOK_TOKEN, messagebird_signature

pytestmark = pytest.mark.django_db

MESSAGEBIRD_API = "https://rest.messagebird.test/messages"
FLOWROUTE_API = "https://api.flowroute.test/v2.1/messages"
CODE = re.compile(rf"Your code is ([{ALPHABET}]{{6}})\.")
_ids = itertools.count(1)


def digits(e164: str) -> str:
    return e164.lstrip("+")


class Vendor:
    """Posts inbound SMS as one vendor format and reads what we sent back through its API."""

    provider: str
    api: str

    def __init__(self, client, responses, capture) -> None:
        self.client = client
        self.responses = responses
        self.capture = capture
        self.seen = 0

    def deliver(self, *, sender: str, recipient: str, text: str, vendor_id: str):
        """Post one inbound SMS in this vendor's format; the response."""
        raise NotImplementedError

    @staticmethod
    def read(body: dict) -> tuple[str, str, str]:
        """(from, to, body) of one request we made to the vendor's API."""
        raise NotImplementedError

    def text(self, *, sender: str, proxy, text: str, vendor_id: str | None = None) -> None:
        """One inbound SMS through the webhook; deliveries run as after a real commit."""
        with self.capture(execute=True):
            response = self.deliver(
                sender=sender,
                recipient=proxy.number,
                text=text,
                vendor_id=vendor_id or f"in-{next(_ids)}",
            )
        assert response.status_code == 200, response.content

    def sent(self) -> list[tuple[str, str, str]]:
        """(from, to, body) of the vendor API calls made since the last look, E.164."""
        calls = [c for c in self.responses.calls if c.request.url == self.api][self.seen :]
        self.seen += len(calls)
        return [self.read(json.loads(c.request.body)) for c in calls]


class MessageBird(Vendor):
    provider = "messagebird"
    api = MESSAGEBIRD_API
    content_type = "application/x-www-form-urlencoded"

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.responses.post(self.api, json={"id": "mb-out"}, status=201)

    def deliver(self, *, sender, recipient, text, vendor_id):
        fields = {
            "originator": digits(sender),
            "recipient": digits(recipient),
            "payload": text,
            "id": vendor_id,
        }
        body = self.encode(fields)
        path = "/webhooks/messagebird/sms/"
        signature = messagebird_signature(url=f"http://testserver{path}", body=body)
        return self.client.post(
            path,
            data=body,
            content_type=self.content_type,
            headers={"MessageBird-Signature-JWT": signature},
        )

    @staticmethod
    def encode(fields: dict) -> bytes:
        return urlencode(fields).encode()

    @staticmethod
    def read(body: dict) -> tuple[str, str, str]:
        return ("+" + body["originator"], "+" + body["recipients"], body["body"])


class MessageBirdJson(MessageBird):
    content_type = "application/json"

    @staticmethod
    def encode(fields: dict) -> bytes:
        return json.dumps({**fields, "body": fields.pop("payload")}).encode()


class FlowrouteV2(Vendor):
    provider = "flowroute"
    api = FLOWROUTE_API

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.responses.post(self.api, json={"data": {"id": "mdr2-out"}}, status=202)

    def deliver(self, *, sender, recipient, text, vendor_id):
        body = self.envelope(
            {"to": digits(recipient), "from": digits(sender), "body": text}, vendor_id
        )
        return self.client.post(
            f"/webhooks/flowroute/sms/{FLOWROUTE_WEBHOOK_TOKEN}/",
            data=json.dumps(body),
            content_type="application/json",
        )

    @staticmethod
    def envelope(fields: dict, vendor_id: str) -> dict:
        return {**fields, "id": vendor_id}

    @staticmethod
    def read(body: dict) -> tuple[str, str, str]:
        attributes = body["data"]["attributes"]
        return ("+" + attributes["from"], "+" + attributes["to"], attributes["body"])


class FlowrouteV21(FlowrouteV2):
    @staticmethod
    def envelope(fields: dict, vendor_id: str) -> dict:
        return {
            "data": {
                "id": vendor_id,
                "type": "message",
                "attributes": {**fields, "direction": "inbound", "is_mms": False},
            }
        }


VENDORS = {
    "messagebird-form": MessageBird,
    "messagebird-json": MessageBirdJson,
    "flowroute-v2": FlowrouteV2,
    "flowroute-v2.1": FlowrouteV21,
}


@pytest.fixture(params=list(VENDORS))
def vendor(request, client, mocked_responses, django_capture_on_commit_callbacks):
    return VENDORS[request.param](client, mocked_responses, django_capture_on_commit_callbacks)


@pytest.fixture
def messagebird(client, mocked_responses, django_capture_on_commit_callbacks):
    return MessageBird(client, mocked_responses, django_capture_on_commit_callbacks)


def start(vendor: Vendor, proxy, sender) -> str:
    vendor.text(sender=sender, proxy=proxy, text="START")
    [(_, to, body)] = vendor.sent()
    assert to == sender
    return CODE.search(body).group(1)


def test_start_join_relay_and_end_through_the_vendor(vendor, clock):
    proxy = conversations_number(provider=vendor.provider)
    alice, bob = person(), person()
    n = proxy.number

    vendor.text(sender=alice, proxy=proxy, text="start")
    [(sender, to, body)] = vendor.sent()
    code = CODE.search(body).group(1)
    assert (sender, to) == (n, alice)
    assert f"text JOIN {code} to {n}" in body

    vendor.text(sender=bob, proxy=proxy, text=f"Join {code.lower()}")
    sent = vendor.sent()
    assert sorted((s, to) for s, to, _ in sent) == sorted([(n, bob), (n, alice)])
    assert all("connected" in body for _, _, body in sent)

    vendor.text(sender=alice, proxy=proxy, text="Hi Bob, I'm at the gate.")
    assert vendor.sent() == [(n, bob, "Hi Bob, I'm at the gate.")]
    vendor.text(sender=bob, proxy=proxy, text="On my way ✈️")
    assert vendor.sent() == [(n, alice, "On my way ✈️")]

    vendor.text(sender=bob, proxy=proxy, text="END")
    sent = vendor.sent()
    assert sorted(to for _, to, _ in sent) == sorted([alice, bob])
    assert all(s == n for s, _, _ in sent)
    assert Conversation.objects.get().state == State.ENDED
    for _, to, body in sent:
        assert (alice if to == bob else bob)[1:] not in body


def test_a_redelivered_webhook_is_relayed_once(vendor, clock):
    proxy = conversations_number(provider=vendor.provider)
    alice, bob = person(), person()
    code = start(vendor, proxy, alice)
    vendor.text(sender=bob, proxy=proxy, text=f"JOIN {code}")
    vendor.sent()
    vendor.text(sender=alice, proxy=proxy, text="once", vendor_id="same-id")
    vendor.text(sender=alice, proxy=proxy, text="once", vendor_id="same-id")
    assert vendor.sent() == [(proxy.number, bob, "once")]


def test_two_conversations_on_one_number_between_four_people_stay_apart(vendor, clock):
    proxy = conversations_number(provider=vendor.provider)
    alice, bob, carol, dave = (person() for _ in range(4))
    first = start(vendor, proxy, alice)
    second = start(vendor, proxy, carol)
    vendor.text(sender=dave, proxy=proxy, text=f"JOIN {second}")
    vendor.text(sender=bob, proxy=proxy, text=f"JOIN {first}")
    vendor.sent()

    vendor.text(sender=alice, proxy=proxy, text="to bob")
    vendor.text(sender=dave, proxy=proxy, text="to carol")
    vendor.text(sender=bob, proxy=proxy, text="to alice")
    vendor.text(sender=carol, proxy=proxy, text="to dave")
    n = proxy.number
    assert vendor.sent() == [
        (n, bob, "to bob"),
        (n, carol, "to carol"),
        (n, alice, "to alice"),
        (n, dave, "to dave"),
    ]
    vendor.text(sender=alice, proxy=proxy, text="END")
    assert sorted(to for _, to, _ in vendor.sent()) == sorted([alice, bob])
    vendor.text(sender=carol, proxy=proxy, text="still on")
    assert vendor.sent() == [(n, dave, "still on")]


@override_settings(
    CONVERSATIONS_JOIN_FAILURES_PER_SENDER=3,
    CONVERSATIONS_JOIN_FAILURES_PER_NUMBER=9,
    CONVERSATIONS_JOIN_FAILURE_WINDOW_MINUTES=15,
)
def test_a_brute_force_run_is_stopped_and_the_real_joiner_gets_in_at_once(vendor, clock):
    proxy = conversations_number(provider=vendor.provider)
    alice, bob = person(), person()
    code = start(vendor, proxy, alice)
    guesses = ("".join(g) for g in itertools.product(ALPHABET, repeat=6) if "".join(g) != code)
    attackers = [person() for _ in range(5)]
    for attacker in attackers:
        for _ in range(4):
            vendor.text(sender=attacker, proxy=proxy, text=f"JOIN {next(guesses)}")
    refusals = [body for _, _, body in vendor.sent() if body.startswith("Too many wrong codes")]
    # 3 guesses each from the first three attackers; then the number is under attack
    # and the last two get one each.
    assert len(refusals) == 20 - (9 + 2)
    vendor.text(sender=attackers[-1], proxy=proxy, text=f"JOIN {code}")
    assert vendor.sent()[0][2].startswith("Too many wrong codes")
    vendor.text(sender=bob, proxy=proxy, text=f"JOIN {code}")
    assert sorted(to for _, to, _ in vendor.sent()) == sorted([alice, bob])
    assert Conversation.objects.get().state == State.ACTIVE


def call(client, proxy, caller) -> str:
    query = urlencode(
        {"source": digits(caller), "destination": digits(proxy.number), "callID": f"c{next(_ids)}"}
    )
    path = f"/webhooks/messagebird/voice/?{query}"
    signature = messagebird_signature(url=f"http://testserver{path}")
    response = client.get(path, headers={"MessageBird-Signature-JWT": signature})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    return response.content.decode()


def test_a_replayed_call_is_refused_and_its_routing_leaves_nothing(messagebird, client, clock):
    # Routing a call here writes (it keeps the conversation from going idle): that write
    # is undone when the call's own write finds the signature used before.
    proxy = conversations_number(provider="messagebird")
    alice, bob = person(), person()
    messagebird.text(sender=bob, proxy=proxy, text=f"JOIN {start(messagebird, proxy, alice)}")
    query = urlencode({"source": digits(bob), "destination": digits(proxy.number)})
    path = f"/webhooks/messagebird/voice/?{query}&callID=c-replayed"
    signature = messagebird_signature(url=f"http://testserver{path}")
    assert client.get(path, headers={"MessageBird-Signature-JWT": signature}).status_code == 200
    touched = Conversation.objects.get().last_activity_at

    clock.advance(minutes=5)
    response = client.get(path, headers={"MessageBird-Signature-JWT": signature})

    assert response.status_code == 403
    assert Conversation.objects.get().last_activity_at == touched
    assert Message.objects.filter(kind=Kind.CALL).count() == 1


def test_a_party_calling_the_number_is_transferred_with_caller_id_masked(messagebird, client):
    proxy = conversations_number(provider="messagebird")
    alice, bob, stranger = person(), person(), person()
    code = start(messagebird, proxy, alice)
    assert "<Say" in call(client, proxy, alice)
    messagebird.text(sender=bob, proxy=proxy, text=f"JOIN {code}")

    xml = call(client, proxy, bob)
    assert f'<Transfer destination="{digits(alice)}" mask="true" />' in xml
    xml = call(client, proxy, alice)
    assert f'<Transfer destination="{digits(bob)}" mask="true" />' in xml
    xml = call(client, proxy, stranger)
    assert "<Say" in xml and "Sorry" in xml
    assert digits(alice) not in xml and digits(bob) not in xml
