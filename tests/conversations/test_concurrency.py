"""Many senders at once on PostgreSQL: the constraints and row locks keep the state sound.

Each thread has its own database connection and runs the whole inbound path, as
several web processes would.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from conversations.models import Conversation, JoinFailure, Participant, State
from providers.backends.console import inbound_sms
from providers.inbound import inbound_sms_receive
from providers.models import Direction, Message
from tests.factories import conversation, conversations_number
from tests.factories import conversations_person as person

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="needs PostgreSQL: SQLite serialises every write, so no race can happen there",
    ),
]


def at_once(proxy, texts: list[tuple[str, str]]) -> list[str]:
    """Send (sender, text) pairs to the number all at the same moment; the outcomes.
    `proxy` may be a list of numbers: the texts go to each in turn."""
    numbers = proxy if isinstance(proxy, list) else [proxy]
    barrier = threading.Barrier(len(texts))
    outcomes: list[str] = [""] * len(texts)
    errors: list[BaseException] = []

    def send(index: int, sender: str, text: str) -> None:
        try:
            barrier.wait(timeout=10)
            number = numbers[index % len(numbers)].number
            result = inbound_sms_receive(
                inbound=inbound_sms(sender=sender, recipient=number, text=text)
            )
            outcomes[index] = result.message.outcome
        except BaseException as err:  # noqa: BLE001 - reported by the test below
            errors.append(err)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=send, args=(i, sender, text))
        for i, (sender, text) in enumerate(texts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return outcomes


def open_participations(proxy, phone) -> int:
    return Participant.objects.filter(proxy=proxy, phone=phone, open=True).count()


def test_one_person_starting_many_times_at_once_gets_one_conversation():
    proxy = conversations_number()
    alice = person()
    outcomes = at_once(proxy, [(alice, "START")] * 12)
    assert Counter(outcomes) == {"started": 1, "already_in_conversation": 11}
    assert Conversation.objects.filter(proxy=proxy).count() == 1
    assert open_participations(proxy, alice) == 1


def test_many_people_starting_at_once_get_distinct_codes():
    proxy = conversations_number()
    outcomes = at_once(proxy, [(person(), "START") for _ in range(16)])
    assert outcomes == ["started"] * 16
    codes = list(Conversation.objects.filter(proxy=proxy).values_list("code", flat=True))
    assert len(set(codes)) == 16


def test_colliding_codes_drawn_at_once_still_give_one_open_conversation_per_code(monkeypatch):
    proxy = conversations_number()
    lock = threading.Lock()
    draws = Counter()

    def first_draws_collide() -> str:
        # Every sender's first draw is the same code: only one may keep it.
        with lock:
            draws[threading.get_ident()] += 1
            first = draws[threading.get_ident()] == 1
        return "QQQQQQ" if first else "".join(secrets.choice("ABCDEFGH") for _ in range(6))

    monkeypatch.setattr("conversations.services.code_generate", first_draws_collide)
    outcomes = at_once(proxy, [(person(), "START") for _ in range(10)])
    assert outcomes == ["started"] * 10
    assert Conversation.objects.filter(proxy=proxy, code="QQQQQQ").count() == 1
    assert Conversation.objects.filter(proxy=proxy).values("code").distinct().count() == 10


def test_many_people_joining_one_code_at_once_only_one_gets_in():
    proxy = conversations_number()
    pending = conversation(proxy=proxy)
    joiners = [person() for _ in range(12)]
    outcomes = at_once(proxy, [(joiner, f"JOIN {pending.code}") for joiner in joiners])
    assert Counter(outcomes) == {"joined": 1, "join_taken": 11}
    pending.refresh_from_db()
    assert pending.state == State.ACTIVE
    assert pending.participants.count() == 2


def test_one_person_joining_many_codes_at_once_joins_only_one():
    proxy = conversations_number()
    starters = [person() for _ in range(8)]
    codes = [conversation(proxy=proxy, starter=starter).code for starter in starters]
    bob = person()
    outcomes = Counter(at_once(proxy, [(bob, f"JOIN {code}") for code in codes]))
    # A JOIN that read Bob's state before the winner committed is refused as busy; one
    # that read it after finds him connected, and his text goes to his partner, as any
    # text of his then would. Which of the two each gets depends on the scheduler.
    assert outcomes["joined"] == 1
    assert set(outcomes) <= {"joined", "join_busy", "relayed"}, outcomes
    assert open_participations(proxy, bob) == 1
    joined = Conversation.objects.get(proxy=proxy, state=State.ACTIVE)
    partner = joined.participants.exclude(phone=bob).get().phone
    relayed_to = set(
        Message.objects.filter(direction=Direction.OUTBOUND, proxy=proxy)
        .exclude(recipient=bob)
        .values_list("recipient", flat=True)
    )
    # Relays, and the joined notice, reach the joined conversation's starter only.
    assert relayed_to <= {partner}, relayed_to


def test_starting_and_joining_at_once_leaves_a_person_in_one_conversation():
    proxy = conversations_number()
    codes = [conversation(proxy=proxy).code for _ in range(4)]
    bob = person()
    texts = [(bob, "START")] * 4 + [(bob, f"JOIN {code}") for code in codes]
    outcomes = at_once(proxy, texts)
    assert sum(o in {"started", "joined"} for o in outcomes) == 1
    assert open_participations(proxy, bob) == 1


def test_ending_and_joining_at_once_never_leaves_a_half_open_conversation():
    proxy = conversations_number()
    for _ in range(6):
        alice, bob = person(), person()
        pending = conversation(proxy=proxy, starter=alice)
        at_once(proxy, [(alice, "END"), (bob, f"JOIN {pending.code}")])
        pending.refresh_from_db()
        open_count = pending.participants.filter(open=True).count()
        assert open_count == (2 if pending.is_open else 0)


# Every refusal is answered here: the bound on replies to strangers would otherwise
# name the outcome of the later ones (reply_limited_per_sender).
@override_settings(MASKED_NUMBERS_SYSTEM_REPLIES_PER_SENDER=100)
def test_parallel_wrong_guesses_cannot_outrun_the_senders_limit():
    proxy = conversations_number()
    pending = conversation(proxy=proxy)
    guesser = person()
    guesses = [code for code in ("ABCDEF", "BCDEFG", "CDEFGH", "DEFGHJ") * 6]
    texts = [(guesser, f"JOIN {g}") for g in guesses if g != pending.code]
    outcomes = at_once(proxy, texts)
    assert Counter(outcomes) == {"join_unknown_code": 5, "join_rate_limited": len(texts) - 5}
    assert JoinFailure.objects.filter(phone=guesser).count() == 5


def test_parallel_wrong_guesses_on_several_numbers_stop_at_the_senders_limit():
    numbers = [conversations_number() for _ in range(4)]
    guesser = person()
    texts = [(guesser, f"JOIN {g}") for g in ("ABCDEF", "BCDEFG", "CDEFGH") * 4]
    outcomes = at_once(numbers, texts)
    assert Counter(outcomes) == {"join_unknown_code": 5, "join_rate_limited": len(texts) - 5}
    assert JoinFailure.objects.filter(phone=guesser).count() == 5


@override_settings(CONVERSATIONS_JOIN_FAILURES_PER_NUMBER=1)
def test_the_right_code_gets_in_during_a_parallel_flood_of_guesses():
    proxy = conversations_number()
    pending = conversation(proxy=proxy)
    joiner = person()
    texts = [(person(), f"JOIN {g}") for g in ("ABCDEF", "BCDEFG", "CDEFGH") * 6]
    texts = [(s, t) for s, t in texts if t != f"JOIN {pending.code}"]
    texts.insert(len(texts) // 2, (joiner, f"JOIN {pending.code}"))
    outcomes = at_once(proxy, texts)
    assert outcomes.count("joined") == 1
    pending.refresh_from_db()
    assert pending.state == State.ACTIVE
    assert pending.participants.filter(phone=joiner).exists()
