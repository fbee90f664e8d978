"""Opt-outs on a conversations number: the protocol keeps its meaning.

END (and every other opt-out keyword) ends the sender's conversation and opts them out
of the number; START opts in and starts a code; a JOIN opts a person back in and joins.
"""

from __future__ import annotations

import pytest

from conversations import replies
from conversations.models import Conversation, State
from providers.consent import is_opted_out, opt_out_record
from providers.models import Direction, Message, Status
from tests import factories
from tests.texting import delivered_to
from tests.texting import text as text_to

pytestmark = pytest.mark.django_db

CONFIRMATION = "You will no longer receive texts from this number. Reply START to resume."
OPT_IN = "You will receive texts from this number again. Reply STOP to stop."


@pytest.fixture
def proxy():
    return factories.conversations_number(number="+13125550100")


@pytest.fixture
def text(proxy):
    def send(sender: str, body: str) -> Message:
        return text_to(sender, body, to=proxy.number)

    return send


@pytest.fixture
def connected(proxy):
    alice, bob = factories.conversations_person(), factories.conversations_person()
    return factories.conversation(proxy=proxy, starter=alice, joiner=bob), alice, bob


@pytest.mark.parametrize("keyword", ["END", "end.", "Stop", "UNSUBSCRIBE!"])
def test_an_opt_out_keyword_ends_the_conversation_and_opts_the_sender_out(
    connected, text, proxy, keyword
):
    conversation, alice, bob = connected
    inbound = text(alice, keyword)

    assert (inbound.outcome, inbound.session) == ("opted_out", conversation.session)
    conversation.refresh_from_db()
    assert conversation.state == State.ENDED
    assert delivered_to(alice) == [f"{replies.ENDED_OPTED_OUT} {CONFIRMATION}"]
    assert delivered_to(bob) == [replies.ENDED_BY_OTHER]
    assert is_opted_out(proxy=proxy, phone=alice)
    assert not is_opted_out(proxy=proxy, phone=bob)


def test_end_with_a_code_is_the_protocols_end_only(connected, text, proxy):
    conversation, alice, bob = connected
    text(alice, f"END {conversation.code}")
    assert delivered_to(alice) == [replies.ENDED_BY_YOU]
    assert not is_opted_out(proxy=proxy, phone=alice)


def test_stop_from_someone_in_no_conversation_is_confirmed(text, proxy):
    person = factories.conversations_person()
    text(person, "STOP")
    assert delivered_to(person) == [CONFIRMATION]
    assert is_opted_out(proxy=proxy, phone=person)


def test_an_opted_out_person_gets_no_usage_text(text):
    person = factories.conversations_person()
    text(person, "STOP")
    text(person, "hello?")
    assert delivered_to(person) == [CONFIRMATION]
    usage = Message.objects.get(direction=Direction.OUTBOUND, outcome="usage")
    assert usage.status == Status.SUPPRESSED


def test_start_opts_in_and_starts_a_code(text, proxy):
    person = factories.conversations_person()
    text(person, "STOP")
    inbound = text(person, "start")

    assert inbound.outcome == "opted_in"
    assert not is_opted_out(proxy=proxy, phone=person)
    conversation = Conversation.objects.get(state=State.PENDING)
    assert inbound.session == conversation.session
    assert delivered_to(person)[1:] == [
        OPT_IN,
        replies.started(code=conversation.code, number=proxy.number),
    ]


def test_start_from_someone_never_opted_out_starts_a_code_as_ever(text, proxy):
    person = factories.conversations_person()
    inbound = text(person, "START")
    assert inbound.outcome == "started"
    code = Conversation.objects.get().code
    assert delivered_to(person) == [replies.started(code=code, number=proxy.number)]


def test_yes_opts_in_without_starting_anything(text):
    person = factories.conversations_person()
    text(person, "STOP")
    assert text(person, "YES").outcome == "opted_in"
    assert delivered_to(person) == [CONFIRMATION, OPT_IN]
    assert not Conversation.objects.exists()


def test_a_join_from_an_opted_out_person_opts_them_in_and_joins(text, proxy):
    alice, bob = factories.conversations_person(), factories.conversations_person()
    opt_out_record(proxy=proxy, phone=bob, keyword="STOP")
    conversation = factories.conversation(proxy=proxy, starter=alice)

    inbound = text(bob, f"JOIN {conversation.code}")

    assert inbound.outcome == "joined"
    assert not is_opted_out(proxy=proxy, phone=bob)
    assert delivered_to(bob) == [replies.joined_joiner()]
    text(alice, "hi")
    assert delivered_to(bob)[-1] == "hi"


def test_texts_to_a_party_the_vendor_reported_opted_out_are_not_sent(connected, text, proxy):
    conversation, alice, bob = connected
    opt_out_record(proxy=proxy, phone=bob, keyword="vendor: opted out")
    text(alice, "are you there?")
    assert delivered_to(bob) == []
    relay = Message.objects.get(direction=Direction.OUTBOUND, recipient=bob)
    assert relay.status == Status.SUPPRESSED
    # The sender is told once that their texts cannot be delivered.
    text(alice, "hello?")
    assert delivered_to(alice) == ["Sorry, your texts through this number cannot be delivered."]
