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
from tests.rides.test_statement_budget import logged_with_jti, statements

pytestmark = pytest.mark.django_db(transaction=True)

_ids = itertools.count(1)
TEXT = logged_with_jti("providers_message")  # the text and its signature's jti
# The number the text came in on is read for the first text only: the process keeps it
# (see providers/pool.py).
NUMBER = "SELECT providers_proxynumber"
LOOKUPS = [
    "SELECT providers_proxynumber",  # is the sender a pool number? (loop guard)
    # The sender's conversation here, lapsed or not (one row at most): one lookup for
    # closing a lapsed one and finding the open one.
    "SELECT conversations_conversation",
]
DELIVERY = ["UPDATE providers_message", "UPDATE providers_message"]


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


def test_start_join_and_relay_use_no_savepoint_they_do_not_need(texting):
    alice, bob = person(), person()
    start = texting(alice, "START")
    join = texting(bob, f"JOIN {last_code()}")
    relay = texting(alice, "See you at 8")

    assert relay == [
        *TEXT,
        *LOOKUPS,
        "SELECT conversations_participant",  # the other party
        "UPDATE conversations_conversation",  # last activity
        "UPDATE providers_message",
        "INSERT providers_message",
        *DELIVERY,
    ]
    assert start == [
        NUMBER,
        *TEXT,
        *LOOKUPS,
        # Only the inserts that may collide (a code held on the number, a second
        # conversation of the same person) are in a savepoint. Lapsed holders of the
        # code are looked for only after such a collision.
        "SAVEPOINT",
        "INSERT conversations_conversation",
        "INSERT conversations_participant",
        "RELEASE",
        "UPDATE providers_message",
        "INSERT providers_message",
        *DELIVERY,
    ]
    assert join == [
        *TEXT,
        *LOOKUPS,
        # The sender's state comes from the webhook's lookups above, not read again.
        "SELECT providers_proxynumber",  # the number locked: JOINs on it take turns
        "SELECT conversations_joinfailure",  # failed JOINs of this sender
        "SELECT conversations_joinfailure",  # and on this number
        "SELECT conversations_conversation",  # the pending one with the code, locked
        "SAVEPOINT",
        "INSERT conversations_participant",  # the number by its id, not read again
        "RELEASE",
        "UPDATE conversations_conversation",
        "SELECT conversations_participant",  # the starter
        "UPDATE providers_message",
        "INSERT providers_message",
        "INSERT providers_message",
        *DELIVERY,
        *DELIVERY,
    ]
