from __future__ import annotations

import logging
import re
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import override_settings

from conversations import replies
from conversations.codes import ALPHABET, LENGTH, code_generate
from conversations.models import Conversation, EndReason, JoinFailure, Participant, Role, State
from conversations.router import ConversationsRouter
from conversations.services import (
    conversation_call_route,
    conversation_expire_due,
    conversation_sms_receive,
    conversation_staff_end,
    conversation_start,
)
from providers.backends.console import inbound_sms
from providers.inbound import inbound_sms_receive
from providers.models import Direction, Message, Status
from providers.types import CallActionKind
from tests.factories import conversation, conversations_number
from tests.factories import conversations_person as person

pytestmark = pytest.mark.django_db

CODE = re.compile(rf"Your code is ([{ALPHABET}]{{{LENGTH}}})\.")


@pytest.fixture
def number(clock):
    return conversations_number()


def sms(proxy, sender, text):
    return conversation_sms_receive(proxy=proxy, sender=sender, text=text)


def only_reply(decision, recipient):
    assert [m.recipient for m in decision.messages] == [recipient]
    return decision.messages[0].body


def start(proxy, sender) -> str:
    body = only_reply(sms(proxy, sender, "START"), sender)
    return CODE.search(body).group(1)


def connect(proxy, alice, bob) -> Conversation:
    code = start(proxy, alice)
    assert sms(proxy, bob, f"JOIN {code}").outcome == "joined"
    return Conversation.objects.get(proxy=proxy, code=code)


def open_conversations(proxy, phone):
    return Conversation.objects.filter(
        proxy=proxy, state__in=[State.PENDING, State.ACTIVE], participants__phone=phone
    )


# --- codes ----------------------------------------------------------------------------------


def test_codes_are_short_and_never_contain_look_alike_characters():
    codes = {code_generate() for _ in range(2000)}
    assert len(codes) > 1990
    assert all(len(c) == 6 for c in codes)
    assert not set("".join(codes)) & set("0O1I")


# --- START ----------------------------------------------------------------------------------


def test_start_creates_a_pending_conversation_and_explains_how_to_join(number):
    alice = person()
    decision = sms(number, alice, " start ")
    body = only_reply(decision, alice)
    code = CODE.search(body).group(1)
    assert body == (
        f"Your code is {code}. Ask the other person to text JOIN {code} to {number.number}. "
        "Text END to stop."
    )
    created = Conversation.objects.get()
    assert (created.code, created.state, created.proxy) == (code, State.PENDING, number)
    assert decision.outcome == "started"
    assert decision.session == f"conversation:{created.pk}"
    assert list(created.participants.values_list("phone", "role")) == [(alice, Role.STARTER)]


def test_start_while_waiting_repeats_the_code_and_creates_nothing(number):
    alice = person()
    code = start(number, alice)
    decision = sms(number, alice, "START")
    body = only_reply(decision, alice)
    assert decision.outcome == "already_in_conversation"
    assert f"already have a code on this number: {code}" in body
    assert Conversation.objects.count() == 1


def test_start_while_in_a_conversation_names_a_free_number_of_the_pool(number):
    other_number = conversations_number()
    alice, bob = person(), person()
    connect(number, alice, bob)
    decision = conversation_start(proxy=number, sender=alice)
    body = only_reply(decision, alice)
    assert body.startswith(replies.ALREADY_CONNECTED)
    assert f"text START to {other_number.number}" in body
    assert Conversation.objects.count() == 1


def test_a_person_can_be_in_one_conversation_per_number_at_a_time(number):
    second = conversations_number()
    alice = person()
    start(number, alice)
    body = only_reply(sms(second, alice, "START"), alice)
    assert f"to {second.number}." in body
    assert Participant.objects.filter(phone=alice, open=True).count() == 2


def test_a_colliding_code_is_drawn_again(number, monkeypatch):
    conversation(proxy=number, code="AAAAAA")
    draws = iter(["AAAAAA", "BBBBBB"])
    monkeypatch.setattr("conversations.services.code_generate", lambda: next(draws))
    assert start(number, person()) == "BBBBBB"


def test_a_code_held_by_a_lapsed_conversation_is_freed_when_it_is_drawn(number, monkeypatch, clock):
    held = conversation(proxy=number, code="AAAAAA")
    clock.advance(hours=1)  # past the code's 30 minutes; nobody has texted since
    monkeypatch.setattr("conversations.services.code_generate", lambda: "AAAAAA")

    assert start(number, person()) == "AAAAAA"

    held.refresh_from_db()
    assert (held.state, held.end_reason) == (State.ENDED, EndReason.CODE_EXPIRED)
    assert Conversation.objects.filter(code="AAAAAA", state=State.PENDING).count() == 1


def test_the_same_code_may_be_open_on_two_numbers(number, monkeypatch):
    conversation(proxy=number, code="CCCCCC")
    elsewhere = conversations_number()
    monkeypatch.setattr("conversations.services.code_generate", lambda: "CCCCCC")
    assert start(elsewhere, person()) == "CCCCCC"


# --- JOIN -----------------------------------------------------------------------------------


def test_join_connects_both_parties_and_tells_them(number):
    alice, bob = person(), person()
    code = start(number, alice)
    decision = sms(number, bob, f"join {code.lower()}")
    assert decision.outcome == "joined"
    bodies = {m.recipient: m.body for m in decision.messages}
    assert bodies == {bob: replies.joined_joiner(), alice: replies.joined_starter(code=code)}
    assert "go to the other person" in bodies[bob]
    joined = Conversation.objects.get()
    assert joined.state == State.ACTIVE and joined.joined_at is not None
    assert decision.session == joined.session
    assert sorted(joined.participants.values_list("role", flat=True)) == ["joiner", "starter"]


def test_join_with_a_wrong_code_says_so_and_changes_nothing(number):
    alice, bob = person(), person()
    code = start(number, alice)
    wrong = "ZZZZZZ" if code != "ZZZZZZ" else "YYYYYY"
    decision = sms(number, bob, f"JOIN {wrong}")
    assert only_reply(decision, bob) == replies.join_unknown(code=wrong)
    assert decision.outcome == "join_unknown_code"
    assert Conversation.objects.get().state == State.PENDING
    assert not Participant.objects.filter(phone=bob).exists()


def test_join_with_a_code_of_another_number_is_a_wrong_code(number):
    code = start(conversations_number(), person())
    assert sms(number, person(), f"JOIN {code}").outcome == "join_unknown_code"


def test_a_lapsed_conversation_a_join_extends_before_it_is_locked_stays_open(
    number, clock, monkeypatch
):
    """The sender's conversation is read once, unlocked; when it is found lapsed it is
    closed only if it still is once locked. A JOIN may have extended it in between."""
    from datetime import timedelta

    from conversations.selectors import conversation_held_by
    from conversations.services import _sender_state

    alice = person()
    start(number, alice)
    as_read = conversation_held_by(proxy=number, phone=alice)
    now = clock.advance(minutes=31)  # lapsed, as this request read it ...
    # ... and joined by a request that read it a moment earlier, before the lock.
    Conversation.objects.filter(pk=as_read.pk).update(
        state=State.ACTIVE, joined_at=now, expires_at=now + timedelta(days=7)
    )
    monkeypatch.setattr("conversations.services.conversation_held_by", lambda **_: as_read)

    current, closed = _sender_state(proxy=number, phone=alice, now=now)

    assert closed == []
    assert (current.pk, current.state) == (as_read.pk, State.ACTIVE)
    assert Conversation.objects.get(pk=as_read.pk).state == State.ACTIVE


def test_join_with_an_expired_code_says_it_expired(number, clock):
    alice, bob = person(), person()
    code = start(number, alice)
    clock.advance(minutes=31)
    decision = sms(number, bob, f"JOIN {code}")
    assert only_reply(decision, bob) == replies.join_expired(code=code)
    ended = Conversation.objects.get()
    assert (ended.state, ended.end_reason) == (State.ENDED, EndReason.CODE_EXPIRED)
    assert not Participant.objects.filter(open=True).exists()


def test_join_with_a_code_already_joined_says_it_is_taken(number):
    alice, bob, carol = person(), person(), person()
    joined = connect(number, alice, bob)
    decision = sms(number, carol, f"JOIN {joined.code}")
    assert only_reply(decision, carol) == replies.join_taken(code=joined.code)
    assert joined.participants.count() == 2


def test_joining_your_own_code_is_refused_and_not_counted_as_a_guess(number):
    alice = person()
    code = start(number, alice)
    decision = sms(number, alice, f"JOIN {code}")
    assert only_reply(decision, alice) == replies.join_own(code=code)
    assert Conversation.objects.get().state == State.PENDING
    assert not JoinFailure.objects.exists()


def test_joiner_already_waiting_on_this_number_cannot_join_another(number):
    alice, bob = person(), person()
    code = start(number, alice)
    start(number, bob)
    decision = sms(number, bob, f"JOIN {code}")
    assert only_reply(decision, bob) == replies.JOIN_BUSY
    assert Conversation.objects.get(code=code).state == State.PENDING


def test_joiner_in_a_conversation_on_another_number_can_join_here(number):
    alice, bob = person(), person()
    start(conversations_number(), bob)
    code = start(number, alice)
    assert sms(number, bob, f"JOIN {code}").outcome == "joined"


def test_join_without_a_code_explains_itself(number):
    bob = person()
    body = only_reply(sms(number, bob, "JOIN"), bob)
    assert body.startswith("JOIN needs the code")
    assert replies.USAGE in body


def test_join_with_something_that_cannot_be_a_code_explains_codes_and_counts(number):
    bob = person()
    for typed in ["K7Q2X0", "K7Q2XMM", "ABC", "x" * 500]:
        decision = sms(number, bob, f"JOIN {typed}")
        assert only_reply(decision, bob) == replies.NOT_A_CODE
        assert decision.outcome == "join_not_a_code"
    assert JoinFailure.objects.filter(phone=bob).count() == 4


def test_sms_from_another_pool_number_is_not_answered(number):
    other_pool_number = conversations_number()
    decision = sms(number, other_pool_number.number, "START")
    assert decision.messages == () and decision.outcome == "from_pool_number"
    assert not Conversation.objects.exists()


# --- END ------------------------------------------------------------------------------------


def test_end_stops_the_conversation_and_tells_both(number):
    alice, bob = person(), person()
    joined = connect(number, alice, bob)
    decision = sms(number, bob, "end")
    assert {m.recipient: m.body for m in decision.messages} == {
        bob: replies.ENDED_BY_YOU,
        alice: replies.ENDED_BY_OTHER,
    }
    joined.refresh_from_db()
    assert (joined.state, joined.end_reason) == (State.ENDED, EndReason.PARTY)
    assert not Participant.objects.filter(open=True).exists()
    # Both are free again on this number.
    assert sms(number, alice, "hello").outcome == "usage"
    assert sms(number, bob, "START").outcome == "started"


def test_end_with_your_own_code_ends_it(number):
    alice, bob = person(), person()
    joined = connect(number, alice, bob)
    assert sms(number, alice, f"END {joined.code.lower()}").outcome == "ended"


def test_end_with_a_code_that_is_not_yours_ends_nothing(number):
    alice, bob, carol, dave = person(), person(), person(), person()
    mine = connect(number, alice, bob)
    theirs = connect(number, carol, dave)
    decision = sms(number, alice, f"END {theirs.code}")
    assert only_reply(decision, alice) == replies.end_wrong_code(code=theirs.code)
    assert decision.outcome == "end_wrong_code"
    assert Conversation.objects.filter(pk__in=[mine.pk, theirs.pk], state=State.ACTIVE).count() == 2


def test_end_of_someone_elses_code_by_an_outsider_ends_nothing(number):
    code = start(number, person())
    outsider = person()
    decision = sms(number, outsider, f"END {code}")
    assert only_reply(decision, outsider) == replies.end_wrong_code(code=code)
    assert Conversation.objects.get().state == State.PENDING


def test_in_an_active_conversation_end_with_a_word_is_relayed_but_a_wrong_code_is_not(number):
    alice, bob = person(), person()
    connect(number, alice, bob)
    assert only_reply(sms(number, alice, "end later"), bob) == "end later"
    decision = sms(number, alice, "END ABCDEF")
    assert only_reply(decision, alice) == replies.end_wrong_code(code="ABCDEF")
    assert Conversation.objects.get().state == State.ACTIVE


def test_end_with_something_that_cannot_be_a_code_outside_a_conversation(number):
    stranger = person()
    assert only_reply(sms(number, stranger, "END now"), stranger) == replies.NOT_A_CODE


def test_end_while_waiting_cancels_the_code(number):
    alice = person()
    code = start(number, alice)
    assert only_reply(sms(number, alice, "END"), alice) == replies.cancelled(code=code)
    assert Conversation.objects.get().state == State.ENDED
    assert sms(number, person(), f"JOIN {code}").outcome == "join_unknown_code"


def test_end_outside_a_conversation_says_so(number):
    alice = person()
    decision = sms(number, alice, "END")
    assert only_reply(decision, alice) == replies.NOT_IN_CONVERSATION
    assert decision.outcome == "end_nothing"


# --- HELP, other text, relaying ------------------------------------------------------------


def test_help_at_any_time_gives_the_usage_text(number):
    alice, bob = person(), person()
    assert only_reply(sms(number, alice, "HELP"), alice) == replies.USAGE
    code = start(number, alice)
    waiting = only_reply(sms(number, alice, "help"), alice)
    assert code in waiting and replies.USAGE in waiting
    sms(number, bob, f"JOIN {code}")
    connected = sms(number, bob, "Help")
    assert only_reply(connected, bob).endswith(replies.USAGE)
    assert connected.outcome == "help"


@pytest.mark.parametrize(
    "text", ["Hi there!", "start", "START", "join me later", "JOIN ABCDEF", "end of story", "  "]
)
def test_in_an_active_conversation_everything_but_end_and_help_is_relayed(number, text):
    alice, bob = person(), person()
    joined = connect(number, alice, bob)
    decision = sms(number, alice, text)
    if text.strip():
        assert decision.messages[0].body == text
        assert only_reply(decision, bob) == text
        assert decision.outcome == "relayed"
    else:
        assert decision.messages == () and decision.outcome == "not_relayed"
    assert decision.session == joined.session
    assert Conversation.objects.get().state == State.ACTIVE


def test_relay_works_both_ways(number):
    alice, bob = person(), person()
    connect(number, alice, bob)
    assert only_reply(sms(number, alice, "ping"), bob) == "ping"
    assert only_reply(sms(number, bob, "pong"), alice) == "pong"


def test_text_while_waiting_reminds_of_the_code(number):
    alice = person()
    code = start(number, alice)
    decision = sms(number, alice, "is anyone there?")
    assert only_reply(decision, alice) == replies.waiting(code=code, number=number.number)
    assert decision.outcome == "reminder"


def test_text_outside_a_conversation_gets_the_usage_text(number):
    stranger = person()
    decision = sms(number, stranger, "hello?")
    assert only_reply(decision, stranger) == replies.USAGE
    assert decision.outcome == "usage"
    assert not Conversation.objects.exists()


def receive(proxy, sender, text) -> list[str]:
    """Through the whole inbound path, so replies land in the message log; their bodies."""
    result = inbound_sms_receive(
        inbound=inbound_sms(sender=sender, recipient=proxy.number, text=text)
    )
    return [m.body for m in result.message.replies.all()]


def test_unprompted_replies_are_not_repeated_within_ten_minutes(number, clock):
    stranger, alice = person(), person()
    assert receive(number, stranger, "hi") == [replies.USAGE]
    assert receive(number, stranger, "hi") == []
    assert receive(number, stranger, "HELP") == [
        f"{replies.USAGE} {settings.MASKED_NUMBERS_HELP_STOP}"
    ]
    code = start(number, alice)
    assert receive(number, alice, "anyone?") == [replies.waiting(code=code, number=number.number)]
    assert receive(number, alice, "anyone?") == []
    clock.advance(minutes=10, seconds=1)
    assert receive(number, stranger, "hi") == [replies.USAGE]
    assert len(receive(number, alice, "anyone?")) == 1


@override_settings(CONVERSATIONS_REPEAT_REPLY_MINUTES=0)
def test_repeating_unprompted_replies_can_be_allowed(number):
    stranger = person()
    assert receive(number, stranger, "hi") == receive(number, stranger, "hi") == [replies.USAGE]


def test_misused_command_outside_a_conversation_says_what_is_wrong(number):
    stranger = person()
    body = only_reply(sms(number, stranger, "START please"), stranger)
    assert body == f"START takes nothing after it. {replies.USAGE}"


def test_two_conversations_on_one_number_stay_apart(number):
    alice, bob, carol, dave = person(), person(), person(), person()
    connect(number, alice, bob)
    connect(number, carol, dave)
    assert only_reply(sms(number, alice, "for bob"), bob) == "for bob"
    assert only_reply(sms(number, dave, "for carol"), carol) == "for carol"


# --- expiry ---------------------------------------------------------------------------------


def test_a_pending_code_expires_and_the_starter_is_told(number, clock):
    alice = person()
    code = start(number, alice)
    clock.advance(minutes=29)
    assert sms(number, alice, "still there?").outcome == "reminder"
    clock.advance(minutes=2)
    body = only_reply(sms(number, alice, "still there?"), alice)
    assert body == replies.code_lapsed(code=code) + replies.USAGE
    assert start(number, alice) != ""


@override_settings(CONVERSATIONS_CODE_TTL_MINUTES=5)
def test_the_code_lifetime_is_configurable(number, clock):
    code = start(number, person())
    clock.advance(minutes=6)
    assert sms(number, person(), f"JOIN {code}").outcome == "join_expired"


def test_an_idle_conversation_ends_after_seven_days_but_messages_keep_it_open(number, clock):
    alice, bob = person(), person()
    connect(number, alice, bob)
    clock.advance(days=6)
    assert sms(number, alice, "still here").outcome == "relayed"
    clock.advance(days=6)
    assert sms(number, bob, "me too").outcome == "relayed"
    clock.advance(days=7, seconds=1)
    body = only_reply(sms(number, alice, "hello?"), alice)
    assert body == replies.idle_ended(days=7) + replies.USAGE
    ended = Conversation.objects.get()
    assert (ended.state, ended.end_reason) == (State.ENDED, EndReason.IDLE)


@override_settings(CONVERSATIONS_IDLE_DAYS=1)
def test_the_idle_time_is_configurable(number, clock):
    alice, bob = person(), person()
    connect(number, alice, bob)
    clock.advance(days=1, seconds=1)
    assert sms(number, bob, "hi").outcome == "usage"


def test_the_sweep_closes_lapsed_conversations_and_frees_their_people(number, clock):
    alice, bob, carol = person(), person(), person()
    connect(number, alice, bob)
    start(number, carol)
    clock.advance(minutes=31)
    assert conversation_expire_due() == 1
    clock.advance(days=7)
    assert conversation_expire_due() == 1
    assert not Participant.objects.filter(open=True).exists()
    assert ConversationsRouter().open_sessions(proxy_ids=[number.pk]) == {number.pk: 0}


def test_the_expire_command_closes_lapsed_conversations(number, clock):
    start(number, person())
    clock.advance(minutes=31)
    out = StringIO()
    call_command("conversations_expire", stdout=out)
    assert out.getvalue().strip() == "conversations: 1 closed"
    assert Conversation.objects.get().end_reason == EndReason.CODE_EXPIRED


def test_open_sessions_count_open_conversations_per_number(number):
    second = conversations_number()
    connect(number, person(), person())
    start(number, person())
    ended = connect(number, person(), person())
    conversation_staff_end(conversation=ended)
    assert ConversationsRouter().open_sessions(proxy_ids=[number.pk, second.pk]) == {
        number.pk: 2,
        second.pk: 0,
    }


# --- rate limit -----------------------------------------------------------------------------


def wrong_codes(proxy, sender, count):
    return [sms(proxy, sender, f"JOIN ZZZZZ{ALPHABET[i % 32]}").outcome for i in range(count)]


def test_failed_joins_are_limited_per_sender(number, clock):
    alice, guesser = person(), person()
    code = start(number, alice)
    assert wrong_codes(number, guesser, 5) == ["join_unknown_code"] * 5
    decision = sms(number, guesser, f"JOIN {code}")
    assert decision.outcome == "join_rate_limited"
    assert only_reply(decision, guesser) == (
        "Too many wrong codes from this phone or to this number. "
        "Please wait 15 minutes and try again."
    )
    assert Conversation.objects.get().state == State.PENDING
    # The limit follows the sender to other numbers of the pool.
    assert wrong_codes(conversations_number(), guesser, 1) == ["join_rate_limited"]
    clock.advance(minutes=15, seconds=1)
    assert sms(number, guesser, f"JOIN {code}").outcome == "joined"


@override_settings(
    CONVERSATIONS_JOIN_FAILURES_PER_NUMBER=3,
    CONVERSATIONS_JOIN_FAILURE_WINDOW_MINUTES=10,
    CONVERSATIONS_JOIN_LIMIT_REPLY="Slow down, wait {minutes} min.",
)
def test_a_flood_of_wrong_guesses_does_not_stop_the_right_code(number, clock):
    code = start(number, person())
    guessers = [person() for _ in range(10)]
    for guesser in guessers:
        wrong_codes(number, guesser, 5)
    joiner = person()
    assert sms(number, joiner, f"JOIN {code}").outcome == "joined"
    assert Conversation.objects.get().state == State.ACTIVE


@override_settings(
    CONVERSATIONS_JOIN_FAILURES_PER_NUMBER=3,
    CONVERSATIONS_JOIN_FAILURE_WINDOW_MINUTES=10,
    CONVERSATIONS_JOIN_LIMIT_REPLY="Slow down, wait {minutes} min.",
)
def test_a_number_under_attack_gives_each_sender_one_wrong_guess_per_window(number, clock):
    code = start(number, person())
    # Until the number has 3 failures in the window, a sender has its usual 5.
    assert wrong_codes(number, early := person(), 3) == ["join_unknown_code"] * 3
    assert wrong_codes(number, early, 1) == ["join_rate_limited"]
    late = person()
    assert wrong_codes(number, late, 2) == ["join_unknown_code", "join_rate_limited"]
    decision = sms(number, late, f"JOIN {code}")
    assert only_reply(decision, late) == "Slow down, wait 10 min."
    # Elsewhere the sender has the rest of its own allowance.
    assert wrong_codes(conversations_number(), late, 1) == ["join_unknown_code"]
    clock.advance(minutes=10, seconds=1)
    assert sms(number, late, f"JOIN {code}").outcome == "joined"


def test_refused_attempts_while_limited_do_not_extend_the_wait(number, clock):
    guesser = person()
    wrong_codes(number, guesser, 5)
    clock.advance(minutes=10)
    assert wrong_codes(number, guesser, 20) == ["join_rate_limited"] * 20
    clock.advance(minutes=5, seconds=1)
    assert wrong_codes(number, guesser, 1) == ["join_unknown_code"]
    assert JoinFailure.objects.count() == 1


# --- calls ----------------------------------------------------------------------------------


def test_a_party_calling_is_transferred_to_the_other_party(number):
    alice, bob = person(), person()
    joined = connect(number, alice, bob)
    decision = conversation_call_route(proxy=number, caller=bob)
    assert decision.action.kind == CallActionKind.TRANSFER
    assert decision.action.destination == alice
    assert (decision.session, decision.outcome) == (joined.session, "transferred")


def test_a_call_keeps_the_conversation_from_going_idle(number, clock):
    alice, bob = person(), person()
    connect(number, alice, bob)
    clock.advance(days=6)
    conversation_call_route(proxy=number, caller=alice)
    clock.advance(days=6)
    assert sms(number, bob, "hi").outcome == "relayed"


@pytest.mark.parametrize("who", ["stranger", "waiting"])
def test_anyone_else_calling_hears_an_apology(number, who):
    caller = person()
    if who == "waiting":
        start(number, caller)
    decision = conversation_call_route(proxy=number, caller=caller)
    assert decision.action.kind == CallActionKind.SAY
    assert decision.action.text == replies.CALL_NOT_CONNECTED


# --- staff ----------------------------------------------------------------------------------


def test_staff_ending_a_conversation_texts_both_parties(number):
    alice, bob = person(), person()
    joined = connect(number, alice, bob)
    assert conversation_staff_end(conversation=joined) is True
    assert conversation_staff_end(conversation=joined) is False
    joined.refresh_from_db()
    assert (joined.state, joined.end_reason) == (State.ENDED, EndReason.STAFF)
    queued = Message.objects.filter(direction=Direction.OUTBOUND, session=joined.session)
    assert sorted(queued.values_list("recipient", flat=True)) == sorted([alice, bob])
    assert {m.body for m in queued} == {replies.ENDED_BY_STAFF}
    assert {m.status for m in queued} <= {Status.QUEUED, Status.SENT}


# --- invariants -----------------------------------------------------------------------------


def test_the_database_refuses_two_open_participations_of_one_person_on_one_number(number):
    alice = person()
    conversation(proxy=number, starter=alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        conversation(proxy=number, starter=alice)


def test_the_database_refuses_two_open_conversations_with_one_code(number):
    conversation(proxy=number, code="DDDDDD")
    with pytest.raises(IntegrityError), transaction.atomic():
        conversation(proxy=number, code="DDDDDD")


def test_an_ended_conversation_frees_its_code_and_people_in_the_database(number):
    alice = person()
    first = conversation(proxy=number, starter=alice, code="EEEEEE")
    conversation_staff_end(conversation=first)
    conversation(proxy=number, starter=alice, code="EEEEEE")
    assert Conversation.objects.filter(code="EEEEEE").count() == 2


def test_no_reply_carries_the_other_partys_number_and_logs_are_masked(number, caplog):
    alice, bob = person(), person()
    texts = [(alice, "START"), (bob, "JOIN {code}"), (alice, "HELP"), (bob, "END")]
    code = ""
    outbound = []
    with caplog.at_level(logging.INFO):
        for sender, text in texts:
            inbound = inbound_sms(
                sender=sender, recipient=number.number, text=text.format(code=code)
            )
            result = inbound_sms_receive(inbound=inbound)
            replies_ = list(result.message.replies.all())
            outbound += replies_
            if not code:
                code = CODE.search(replies_[0].body).group(1)
    assert len(outbound) == 6
    for message in outbound:
        other = bob if message.recipient == alice else alice
        assert other not in message.body
        assert other[2:] not in message.body
    info = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert alice not in info and bob not in info
    assert code not in info
