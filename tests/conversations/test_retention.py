"""Retention on conversations numbers: parties' numbers and the log's texts go once a
conversation ended more than the retention period ago."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conversations.models import Conversation, EndReason, JoinFailure, Participant, State
from providers.backends.console import inbound_sms
from providers.inbound import inbound_sms_receive
from providers.models import Direction, Message, Status
from providers.phone import ERASED
from providers.retention import retention_sweep
from tests.factories import conversation, conversations_number
from tests.factories import conversations_person as person

pytestmark = pytest.mark.django_db

PERIOD, MINUTE = timedelta(days=30), timedelta(minutes=1)


def text(proxy, sender: str, body: str) -> None:
    inbound_sms_receive(inbound=inbound_sms(sender=sender, recipient=proxy.number, text=body))


@pytest.fixture
def ended():
    """A conversation that was joined, carried a text and was ended by a party."""
    proxy = conversations_number()
    alice, bob = person(), person()
    item = conversation(proxy=proxy, starter=alice)
    for sender, body in [(bob, f"JOIN {item.code}"), (alice, "north door"), (bob, "END")]:
        text(proxy, sender, body)
    item.refresh_from_db()
    assert item.state == State.ENDED
    delivered(item)
    return item, alice, bob


def delivered(item: Conversation) -> None:
    Message.objects.filter(session=item.session, status=Status.QUEUED).update(status=Status.SENT)


def parties(item: Conversation) -> set[str]:
    return set(Participant.objects.filter(conversation=item).values_list("phone", flat=True))


def log(item: Conversation) -> list[Message]:
    return list(Message.objects.filter(session=item.session))


def test_a_conversation_ended_a_minute_inside_the_period_keeps_its_parties(ended):
    item, alice, bob = ended
    retention_sweep(now=item.ended_at + PERIOD - MINUTE)
    assert parties(item) == {alice, bob}
    assert "north door" in {m.body for m in log(item)}
    assert Conversation.objects.get(pk=item.pk).erased_at is None


def test_a_conversation_ended_a_minute_past_the_period_loses_numbers_and_texts(ended):
    item, alice, bob = ended
    counts = retention_sweep(now=item.ended_at + PERIOD + MINUTE)
    assert parties(item) == {ERASED}
    assert {m.body for m in log(item)} == {""}
    for message in log(item):
        person_side = (
            message.sender if message.direction == Direction.INBOUND else message.recipient
        )
        assert person_side == ERASED
        assert item.proxy.number in (message.sender, message.recipient)
    after = Conversation.objects.get(pk=item.pk)
    assert (after.code, after.state, after.end_reason, after.ended_at) == (
        item.code,
        State.ENDED,
        EndReason.PARTY,
        item.ended_at,
    )
    assert (counts["conversations"], counts["participants"]) == (1, 2)
    assert counts["conversation messages"] == len(log(item))


def test_a_code_that_lapsed_long_ago_untouched_is_closed_and_erased():
    item = conversation()
    starter = parties(item).pop()
    counts = retention_sweep(now=item.expires_at + PERIOD + MINUTE)
    item.refresh_from_db()
    assert (item.state, item.end_reason) == (State.ENDED, EndReason.CODE_EXPIRED)
    assert parties(item) == {ERASED} != {starter}
    assert counts["conversations"] == 1


def test_an_open_conversation_keeps_its_old_texts_and_does_not_hold_up_the_rest(ended):
    item, *_ = ended
    proxy = conversations_number()
    alice, bob = person(), person()
    talking = conversation(proxy=proxy, starter=alice, joiner=bob)
    for n in range(6):
        text(proxy, alice, f"text {n}")
    delivered(talking)
    # Long ago by the sweep's clock, and still going on then.
    later = item.ended_at + PERIOD + MINUTE
    Conversation.objects.filter(pk=talking.pk).update(expires_at=later + timedelta(days=1))
    old_ones = Message.objects.filter(session=talking.session).count()

    runs = [retention_sweep(now=later, batch=3)["conversation messages"] for _ in range(4)]

    assert sum(runs) == len(log(item))
    assert {m.body for m in log(item)} == {""}
    assert Message.objects.filter(session=talking.session, erased_at=None).count() == old_ones
    assert parties(talking) == {alice, bob}


def test_an_erased_person_can_start_again_on_the_same_number(ended):
    item, alice, _ = ended
    retention_sweep(now=item.ended_at + PERIOD + MINUTE)
    text(item.proxy, alice, "START")
    assert Participant.objects.filter(proxy=item.proxy, phone=alice, open=True).exists()


def test_failed_joins_older_than_the_period_are_deleted():
    proxy = conversations_number()
    stranger = person()
    text(proxy, stranger, "JOIN ZZZZZZ")
    failure = JoinFailure.objects.get(phone=stranger)
    counts = retention_sweep(now=failure.created_at + PERIOD - MINUTE)
    assert JoinFailure.objects.filter(phone=stranger).exists() and counts["failed joins"] == 0
    counts = retention_sweep(now=failure.created_at + PERIOD + MINUTE)
    assert not JoinFailure.objects.filter(phone=stranger).exists()
    assert counts["failed joins"] == 1
