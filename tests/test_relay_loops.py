"""Relay loops: a party's texts in a session are relayed up to a limit per window."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test import override_settings

from providers.inbound import inbound_sms_receive
from providers.models import Direction, Message, Status
from providers.types import InboundSms
from tests import factories
from tests.factories import conversation, conversations_number, conversations_person
from tests.texting import delivered_to, text

pytestmark = pytest.mark.django_db

CUSTOMER, DRIVER = "+14155550123", "+14155550456"
RIDE_NUMBER = "+12065550100"
PARALLEL = 12
NOTICE = (
    "You have sent many texts in a short time, so they are not passed on for now. "
    "Please try again in a few minutes."
)


@pytest.fixture
def ride():
    return factories.ride(
        customer=factories.customer(phone=CUSTOMER),
        driver=factories.driver(phone=DRIVER),
        proxy=factories.proxy_number(number=RIDE_NUMBER),
    )


def outcomes(sender: str, bodies: list[str], *, to: str = RIDE_NUMBER) -> list[str]:
    return [text(sender, body, to=to).outcome for body in bodies]


def window_passes() -> None:
    """Every logged message moves 10 minutes and a second into the past."""
    for message in Message.objects.all():
        Message.objects.filter(pk=message.pk).update(
            created_at=message.created_at - timedelta(minutes=10, seconds=1)
        )


def test_texts_beyond_the_limit_are_not_relayed_and_the_sender_is_told_once(ride):
    bodies = [f"message {i}" for i in range(25)]
    assert outcomes(CUSTOMER, bodies) == ["relayed"] * 20 + ["loop_limited"] * 5
    assert delivered_to(DRIVER) == bodies[:20]
    assert delivered_to(CUSTOMER) == [NOTICE]
    limited = Message.objects.filter(direction=Direction.INBOUND, outcome="loop_limited")
    assert limited.count() == 5
    assert set(limited.values_list("status", "session")) == {(Status.RECEIVED, ride.session)}
    # The other party is not limited by the sender's texts.
    assert outcomes(DRIVER, ["on my way"]) == ["relayed"]


def test_the_same_text_again_and_again_is_relayed_three_times(ride):
    assert outcomes(CUSTOMER, ["Sorry, I'm driving."] * 5) == ["relayed"] * 3 + ["loop_limited"] * 2
    assert delivered_to(DRIVER) == ["Sorry, I'm driving."] * 3
    assert delivered_to(CUSTOMER) == [NOTICE]
    # Other texts of the same sender still go through.
    assert outcomes(CUSTOMER, ["I am at the gate"]) == ["relayed"]


def test_the_limit_lifts_by_itself_and_the_notice_is_once_per_window(ride):
    outcomes(CUSTOMER, ["same"] * 4)
    window_passes()
    assert outcomes(CUSTOMER, ["same"] * 4) == ["relayed"] * 3 + ["loop_limited"]
    assert delivered_to(CUSTOMER) == [NOTICE, NOTICE]
    assert delivered_to(DRIVER) == ["same"] * 6


@override_settings(
    MASKED_NUMBERS_LOOP_MAX_TEXTS=4,
    MASKED_NUMBERS_LOOP_MAX_REPEATS=2,
    MASKED_NUMBERS_LOOP_NOTICE="Slow down.",
)
def test_the_limits_and_the_notice_are_settings(ride):
    assert outcomes(CUSTOMER, ["a", "a", "a"]) == ["relayed", "relayed", "loop_limited"]
    assert outcomes(CUSTOMER, ["b", "c", "d"]) == ["relayed", "relayed", "loop_limited"]
    assert delivered_to(CUSTOMER) == ["Slow down."]


def test_an_auto_responder_pair_stops_after_the_limit(ride):
    """Each party answers every text it gets: the loop ends within the limits."""
    answers = {CUSTOMER: "Auto-reply: I am driving.", DRIVER: "Auto-reply: out of office."}
    sender, relays = CUSTOMER, 0
    for _ in range(100):
        if text(sender, answers[sender], to=RIDE_NUMBER).outcome != "relayed":
            break
        relays += 1
        sender = DRIVER if sender == CUSTOMER else CUSTOMER
    assert relays == 6  # three of each, then each is told once and silence
    assert delivered_to(CUSTOMER).count(NOTICE) + delivered_to(DRIVER).count(NOTICE) == 1


@override_settings(MASKED_NUMBERS_LOOP_MAX_REPEATS=100)
def test_a_conversations_party_is_limited_too():
    proxy = conversations_number()
    alice, bob = conversations_person(), conversations_person()
    conversation(proxy=proxy, starter=alice, joiner=bob)
    bodies = [f"hello {i}" for i in range(22)]
    assert outcomes(alice, bodies, to=proxy.number) == ["relayed"] * 20 + ["loop_limited"] * 2
    assert delivered_to(bob) == bodies[:20]
    assert delivered_to(alice) == [NOTICE]
    # END still ends the conversation: only relays are limited.
    assert outcomes(alice, ["END"], to=proxy.number) == ["opted_out"]
    assert delivered_to(bob)[-1].startswith("The other person ended the conversation.")


def test_replies_to_strangers_are_not_counted_as_relays(ride):
    stranger = "+14155550999"
    assert set(outcomes(stranger, ["hi"] * 5)) == {"unknown_sender"}
    assert NOTICE not in delivered_to(stranger)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite runs one writer at a time, so nothing runs in parallel",
)
@override_settings(MASKED_NUMBERS_LOOP_MAX_TEXTS=5)
def test_parallel_texts_cannot_outrun_the_limit(ride):
    barrier = threading.Barrier(PARALLEL)
    results: list[str] = []

    def send(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            event = InboundSms(
                provider="console",
                sender=CUSTOMER,
                recipient=RIDE_NUMBER,
                text=f"parallel {index}",
                vendor_id=f"parallel-{index}",
            )
            results.append(inbound_sms_receive(inbound=event).message.outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert Counter(results) == {"relayed": 5, "loop_limited": PARALLEL - 5}
    notices = Message.objects.filter(direction=Direction.OUTBOUND, recipient=CUSTOMER)
    assert notices.filter(outcome="loop_limited").count() == 1
