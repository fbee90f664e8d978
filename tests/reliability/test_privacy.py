"""The mask never slips: random sequences of rides, conversations, texts and calls.

Staff book and close rides; people text (free text, START, JOIN with a code they were
given or a guess, END, HELP) and call the pool's numbers through the signed MessageBird
webhooks. After every step, everything a party receives is checked:

- every SMS comes from a pool number and carries no other person's number, in any
  format (people type only letters here, so any such number is the service's doing);
- a call is either transferred with the caller ID masked, to another person, or told
  something that carries no person's number;
- every webhook answer (acknowledgement, call flow, refusal) carries no person's number.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from providers.models import Direction, Message, ProxyNumber
from rides.models import Ride, RideStatus
from rides.services import PoolExhausted, ride_book, ride_close
from tests import factories
from tests.signing import messagebird_signature

pytestmark = pytest.mark.django_db

PEOPLE = [f"+1206555{4000 + i}" for i in range(5)]
RIDES_POOL = ["+12065550170", "+12065550171"]
CONVERSATIONS_POOL = ["+12065550180"]
POOL = RIDES_POOL + CONVERSATIONS_POOL
CODE = re.compile(r"\bJOIN ([A-Z0-9]{6})\b")

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,.!?'", min_size=1, max_size=40)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("book"), st.integers(0, 4), st.integers(0, 4)),
        st.tuples(st.just("close"), st.integers(0, 5)),
        st.tuples(
            st.just("text"),
            st.integers(0, 4),
            st.sampled_from(POOL),
            st.one_of(words, st.sampled_from(["START", "END", "HELP", "join", "JOIN", "JOIN *"])),
        ),
        st.tuples(st.just("call"), st.integers(0, 4), st.sampled_from(POOL)),
    ),
    min_size=1,
    max_size=18,
)


def number_forms(e164: str) -> list[str]:
    """How a US number may appear in text: +12065554000, 12065554000, 2065554000,
    (206) 555-4000, 206-555-4000, 555-4000."""
    national = e164[2:]
    area, exchange, line = national[:3], national[3:6], national[6:]
    return [
        e164,
        e164[1:],
        national,
        f"({area}) {exchange}-{line}",
        f"{area}-{exchange}-{line}",
        f"{exchange}-{line}",
    ]


def others_in(text: str, *, allowed: str | None = None) -> list[str]:
    return [p for p in PEOPLE if p != allowed and any(f in text for f in number_forms(p))]


class World:
    def __init__(self, client) -> None:
        self.client = client
        self.codes: list[str] = []
        self.seen_outbound = 0
        self.calls = 0

    def book(self, customer: int, driver: int) -> None:
        try:
            ride_book(
                customer_name="Casey",
                customer_phone=PEOPLE[customer],
                driver_name="Dana",
                driver_phone=PEOPLE[driver],
                start="North gate",
                destination="Harbour",
                pickup_at=timezone.now() + timedelta(hours=1),
            )
        except (ValidationError, PoolExhausted):
            pass  # the same person twice, or no number free: refused, nothing to check

    def close(self, index: int) -> None:
        rides = list(Ride.objects.filter(status=RideStatus.OPEN).order_by("id"))
        if rides:
            ride_close(ride=rides[index % len(rides)])

    def text(self, person: int, proxy: str, text: str) -> None:
        if text.startswith("JOIN") and text != "JOIN":
            text = f"JOIN {self.codes[-1] if self.codes and text == 'JOIN *' else 'ABCDEF'}"
        path = "/webhooks/messagebird/sms/"
        self.calls += 1
        body = urlencode(
            {
                "originator": PEOPLE[person][1:],
                "recipient": proxy[1:],
                "payload": text,
                "id": f"p-{self.calls}",
            }
        ).encode()
        response = self.client.generic(
            "POST",
            path,
            body,
            content_type="application/x-www-form-urlencoded",
            headers={
                "MessageBird-Signature-JWT": messagebird_signature(
                    url=f"http://testserver{path}", body=body
                )
            },
        )
        assert response.status_code == 200
        assert others_in(response.content.decode()) == []

    def call(self, person: int, proxy: str) -> None:
        self.calls += 1
        caller = PEOPLE[person]
        path = "/webhooks/messagebird/voice/?" + urlencode(
            {"source": caller[1:], "destination": proxy[1:], "callID": f"c-{self.calls}"}
        )
        response = self.client.get(
            path,
            headers={
                "MessageBird-Signature-JWT": messagebird_signature(url=f"http://testserver{path}")
            },
        )
        assert response.status_code == 200
        root = ElementTree.fromstring(response.content)  # noqa: S314 - our own answer
        event(f"call answered with {root.tag}")
        if root.tag == "Transfer":
            # The vendor dials the other person; the caller ID they see is the proxy.
            assert root.get("mask") == "true"
            assert f"+{root.get('destination')}" in PEOPLE
            assert f"+{root.get('destination')}" != caller
        else:
            assert root.tag == "Say"
            assert others_in(root.text or "") == []

    def check_new_outbound(self) -> None:
        outbound = list(
            Message.objects.filter(direction=Direction.OUTBOUND).order_by("id")[
                self.seen_outbound :
            ]
        )
        self.seen_outbound += len(outbound)
        for message in outbound:
            assert message.sender in POOL, "a text must come from a pool number"
            assert message.recipient not in POOL
            assert others_in(message.body, allowed=message.recipient) == [], message.body
            self.codes += CODE.findall(message.body)
            event(f"text sent: {message.outcome or 'notification'}")


@settings(
    max_examples=int(os.environ.get("RELIABILITY_PRIVACY_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=operations)
def test_nothing_a_party_receives_carries_another_partys_number(client, steps):
    with transaction.atomic():
        for number in RIDES_POOL:
            factories.proxy_number(number=number, provider="messagebird", service="rides")
        for number in CONVERSATIONS_POOL:
            factories.proxy_number(number=number, provider="messagebird", service="conversations")
        world = World(client)
        for step in steps:
            getattr(world, step[0])(*step[1:])
            world.check_new_outbound()
        assert ProxyNumber.objects.count() == len(POOL)
        # Each example starts from an empty world.
        transaction.set_rollback(True)
