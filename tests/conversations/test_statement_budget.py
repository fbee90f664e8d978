"""What START, JOIN and a relayed text cost the database (see tests/rides' twin)."""

from __future__ import annotations

import itertools

import pytest
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext

from providers.models import Direction, Message
from tests.factories import conversations_number
from tests.factories import conversations_person as person
from tests.rides.conftest import MESSAGEBIRD_MESSAGES, post_messagebird_sms
from tests.rides.test_statement_budget import statements

pytestmark = pytest.mark.django_db(transaction=True)

_ids = itertools.count(1)


@pytest.fixture
def texting(client, mocked_responses):
    mocked_responses.add(responses.POST, MESSAGEBIRD_MESSAGES, json={"id": "mb-1"}, status=201)
    proxy = conversations_number(provider="messagebird")

    def text(sender: str, body: str) -> list[str]:
        fields = {
            "originator": sender.lstrip("+"),
            "recipient": proxy.number.lstrip("+"),
            "payload": body,
            "id": f"in-{next(_ids)}",
        }
        with CaptureQueriesContext(connection) as captured:
            assert post_messagebird_sms(client, fields).status_code == 200
        return statements(captured)

    return text


def last_code() -> str:
    body = Message.objects.filter(direction=Direction.OUTBOUND).order_by("-id")[0].body
    return body.split("Your code is ")[1][:6]


def writes(found: list[str]) -> list[str]:
    return [s for s in found if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]


def test_start_join_and_relay_stay_within_their_statements(texting):
    alice, bob = person(), person()
    start = texting(alice, "START")
    join = texting(bob, f"JOIN {last_code()}")
    relay = texting(alice, "See you at 8")

    # Each: the lookups, what the protocol writes, the text, what it queues, and the
    # delivery of what it queued (the test settings deliver at once, three statements);
    # a relay also takes the party's turn and counts its relays in the window (loops).
    assert len(relay) <= 11, relay
    assert relay.count("INSERT providers_message") == 2  # the text and its relay
    assert not [s for s in relay if s.startswith(("SAVEPOINT", "RELEASE"))]
    # START and JOIN also end an opt-out of the sender's, if any: one UPDATE each.
    assert len(start) <= 13, start
    assert len(join) <= 21, join
    # Only the inserts that may collide (a code held, a second conversation of the same
    # person, a second JOIN) are in a savepoint.
    assert start.count("SAVEPOINT") <= 1
    assert join.count("SAVEPOINT") <= 1
    assert len(writes(join)) <= 10, join  # the opt-in, the JOIN, the text, two texts, deliveries
