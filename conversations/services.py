"""Writes of the conversations app: the START / JOIN / END protocol.

Every function runs in one transaction (inside the webhook's own when called by the
router), so what it replies is queued if and only if what it changed is committed.
Two database constraints keep the state truthful under concurrency: a person has one
open participation per number, and a code belongs to one open conversation per number.
Lapsed conversations are closed here, lazily, whenever someone touches them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from providers.events import event_emit, event_number, event_time, events_enabled
from providers.models import ProxyNumber
from providers.outbox import message_queue
from providers.phone import mask
from providers.selectors import reply_sent_since
from providers.turns import take_turns
from providers.types import CallAction, CallDecision, OutboundSms, SmsDecision

from . import clock, conf, replies
from .codes import code_generate, looks_like_code
from .models import OPEN_STATES, Conversation, EndReason, JoinFailure, Participant, Role, State
from .parser import End, Help, Invalid, Join, Start, parse
from .selectors import (
    conversation_code_history,
    conversation_held_by,
    conversation_number_free_for,
    conversation_open_for,
    conversation_other_party,
    conversation_party,
    join_attempts_blocked,
)

logger = logging.getLogger(__name__)

# Codes collide about once in 10**9 draws per open code; a few tries are plenty.
CODE_ATTEMPTS = 8


def _reply(
    sender: str, body: str, *, outcome: str, conversation: Conversation | None = None
) -> SmsDecision:
    return SmsDecision(
        messages=(OutboundSms(recipient=sender, body=body),),
        session=conversation.session if conversation else "",
        outcome=outcome,
    )


# --- closing -----------------------------------------------------------------------------


def _finish(*, conversations: QuerySet[Conversation], now: datetime, reason: str) -> list[int]:
    """End the still-open conversations of `conversations`; the ids actually ended.

    The rows are locked first and the filter is checked again on what is committed
    then (PostgreSQL re-evaluates it after waiting for a lock), so a conversation that a
    concurrent JOIN has just extended is not closed, and its parties are closed with it.
    """
    ids = list(
        conversations.filter(state__in=OPEN_STATES)
        .select_for_update()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return []
    Conversation.objects.filter(pk__in=ids).update(
        state=State.ENDED, end_reason=reason, ended_at=now
    )
    Participant.objects.filter(conversation_id__in=ids).update(open=False)
    if events_enabled():
        _ended_emit(ids=ids, reason=reason, now=now)
    return ids


def _ended_emit(*, ids: list[int], reason: str, now: datetime) -> None:
    """`conversation.ended` for each of these conversations, just ended."""
    ended = Conversation.objects.filter(pk__in=ids).select_related("proxy").order_by("pk")
    for conversation in ended.prefetch_related("participants"):
        event_emit(
            "conversation.ended",
            {
                "session": conversation.session,
                "conversation_id": conversation.pk,
                "proxy_number": conversation.proxy.number,
                "reason": reason,
                "ended_at": event_time(now),
                "parties": [
                    {"role": party.role, "phone": event_number(party.phone)}
                    for party in conversation.participants.all()
                ],
            },
        )


def _close_lapsed(
    *, proxy: ProxyNumber | None, now: datetime, code: str | None = None
) -> list[Conversation]:
    """Close lapsed conversations (on this number, or with this code); those closed."""
    due = Conversation.objects.filter(state__in=OPEN_STATES, expires_at__lte=now)
    if proxy is not None:
        due = due.filter(proxy=proxy)
    if code is not None:
        due = due.filter(code=code)
    return _close(lapsed=list(due.select_related("proxy")), now=now)


def _close(*, lapsed: list[Conversation], now: datetime) -> list[Conversation]:
    """End these lapsed conversations, those still lapsed once locked; those ended."""
    closed: list[Conversation] = []
    for state, reason in (
        (State.PENDING, EndReason.CODE_EXPIRED),
        (State.ACTIVE, EndReason.IDLE),
    ):
        candidates = [c for c in lapsed if c.state == state]
        if not candidates:
            continue  # nothing to lock; building the empty query costs more than a lookup
        ids = _finish(
            conversations=Conversation.objects.filter(
                pk__in=[c.pk for c in candidates], state=state, expires_at__lte=now
            ),
            now=now,
            reason=reason,
        )
        closed += [c for c in candidates if c.pk in ids]
    return closed


def _sender_state(
    *, proxy: ProxyNumber, phone: str, now: datetime
) -> tuple[Conversation | None, list[Conversation]]:
    """The sender's open conversation on this number (None: not in one), and theirs
    that had lapsed, closed now.

    One lookup where closing the lapsed ones and then finding the open one were two: a
    person has at most one open participation per number, so both are the same row.
    """
    held = conversation_held_by(proxy=proxy, phone=phone)
    if held is None or held.expires_at > now:
        return held, []
    closed = _close(lapsed=[held], now=now)
    if closed:
        return None, closed
    # A JOIN extended it while this waited for its lock: read it as it is now.
    return conversation_open_for(proxy=proxy, phone=phone, now=now), []


def conversation_expire_due(*, now: datetime | None = None) -> int:
    """Close every lapsed conversation (a periodic sweep; touching one closes it anyway)."""
    now = now or clock.now()
    with transaction.atomic():
        return len(_close_lapsed(proxy=None, now=now))


# --- one inbound SMS -------------------------------------------------------------------


def conversation_sms_receive(
    *, proxy: ProxyNumber, sender: str, text: str, now: datetime | None = None
) -> SmsDecision:
    """Decide what an SMS to a conversations number does, from the sender's state."""
    now = now or clock.now()
    if ProxyNumber.objects.filter(number=sender).exists():
        # Another number of the pool (a misconfigured forward, a bounce): answering it
        # could start two numbers texting each other forever.
        logger.warning("SMS on %s from pool number %s ignored", mask(proxy.number), mask(sender))
        return SmsDecision(outcome="from_pool_number")
    # No savepoints of their own inside the webhook's transaction (here and in the
    # commands below): nobody carries on after a failure in them, so a savepoint would
    # only add statements. The ones that catch an IntegrityError keep theirs.
    with transaction.atomic(savepoint=False):
        conversation, lapsed = _sender_state(proxy=proxy, phone=sender, now=now)
        command = parse(text)
        if conversation is not None and conversation.state == State.ACTIVE:
            # Connected: only END and HELP are commands, everything else is for the other.
            match command:
                case End(code=code) if code is None or looks_like_code(code):
                    return conversation_end(proxy=proxy, sender=sender, code=code, now=now)
                case Help():
                    return _reply(
                        sender,
                        f"{replies.CONNECTED_HELP} {replies.USAGE}",
                        outcome="help",
                        conversation=conversation,
                    )
            return conversation_relay(conversation=conversation, sender=sender, text=text, now=now)
        match command:
            case Start():
                # Lapsed ones closed and the open one looked up above, in this transaction.
                return _start(proxy=proxy, sender=sender, now=now, current=conversation)
            case Join(code=code):
                # As START: the state looked up above, in this transaction.
                return _join(proxy=proxy, sender=sender, code=code, now=now, current=conversation)
            case End(code=code):
                return conversation_end(proxy=proxy, sender=sender, code=code, now=now)
        if conversation is not None:
            reminder = replies.waiting(code=conversation.code, number=proxy.number)
            if isinstance(command, Help):
                return _reply(
                    sender,
                    f"{reminder} {replies.USAGE}",
                    outcome="help",
                    conversation=conversation,
                )
            return _unprompted(
                proxy=proxy,
                sender=sender,
                body=reminder,
                outcome="reminder",
                now=now,
                conversation=conversation,
            )
        if isinstance(command, Help):
            return _reply(sender, replies.USAGE, outcome="help")
        if isinstance(command, Invalid):
            return _reply(sender, f"{command.problem} {replies.USAGE}", outcome="invalid_command")
        if lapsed:
            return _reply(sender, _lapsed_notice(lapsed) + replies.USAGE, outcome="usage")
        return _unprompted(proxy=proxy, sender=sender, body=replies.USAGE, outcome="usage", now=now)


def _unprompted(
    *,
    proxy: ProxyNumber,
    sender: str,
    body: str,
    outcome: str,
    now: datetime,
    conversation: Conversation | None = None,
) -> SmsDecision:
    """A reply nobody asked for, sent once per window: an auto-responder answering it
    would otherwise keep the two numbers texting each other for ever."""
    window = conf.repeat_reply_window()
    if window and reply_sent_since(
        proxy=proxy, recipient=sender, outcome=outcome, since=now - window
    ):
        return SmsDecision(
            session=conversation.session if conversation else "", outcome=f"{outcome}_not_repeated"
        )
    return _reply(sender, body, outcome=outcome, conversation=conversation)


def _lapsed_notice(lapsed: list[Conversation]) -> str:
    if not lapsed:
        return ""
    conversation = lapsed[0]
    if conversation.state == State.PENDING:
        return replies.code_lapsed(code=conversation.code)
    return replies.idle_ended(days=conf.idle_timeout().total_seconds() / 86400)


# --- START -------------------------------------------------------------------------------


def _participant_add(*, conversation: Conversation, phone: str, role: str, now: datetime) -> None:
    """Raises IntegrityError if the person already has an open conversation on the number."""
    # The number by its id: `conversation.proxy` would be one more SELECT on a JOIN,
    # whose conversation is read without its number.
    Participant.objects.create(
        conversation=conversation,
        proxy_id=conversation.proxy_id,
        phone=phone,
        role=role,
        joined_at=now,
    )


def _already_in(*, proxy: ProxyNumber, sender: str, current: Conversation, now: datetime):
    if current.state == State.PENDING:
        body = replies.already_waiting(code=current.code, number=proxy.number)
    else:
        body = replies.ALREADY_CONNECTED
    other_number = conversation_number_free_for(phone=sender, exclude=proxy, now=now)
    if other_number is not None:
        body += replies.elsewhere(number=other_number.number)
    return _reply(sender, body, outcome="already_in_conversation", conversation=current)


def conversation_start(
    *, proxy: ProxyNumber, sender: str, now: datetime | None = None
) -> SmsDecision:
    """Open a pending conversation with a fresh code, unless the sender is in one here."""
    now = now or clock.now()
    with transaction.atomic(savepoint=False):
        current, _ = _sender_state(proxy=proxy, phone=sender, now=now)
        return _start(proxy=proxy, sender=sender, now=now, current=current)


def _start(
    *, proxy: ProxyNumber, sender: str, now: datetime, current: Conversation | None
) -> SmsDecision:
    """START, once the sender's lapsed conversations here are closed and `current` is
    their open one (None: not in one). Inside a transaction."""
    for attempt in range(CODE_ATTEMPTS):
        if attempt:
            # After a collision: the sender may have started one concurrently.
            current = conversation_open_for(proxy=proxy, phone=sender, now=now)
        if current is not None:
            return _already_in(proxy=proxy, sender=sender, current=current, now=now)
        code = code_generate()
        try:
            with transaction.atomic():
                conversation = Conversation.objects.create(
                    proxy=proxy,
                    code=code,
                    state=State.PENDING,
                    created_at=now,
                    last_activity_at=now,
                    expires_at=now + conf.code_ttl(),
                )
                _participant_add(
                    conversation=conversation, phone=sender, role=Role.STARTER, now=now
                )
        except IntegrityError:
            # The code is held on this number, or the sender started one concurrently
            # (seen on the next round). A conversation that holds the code but has
            # lapsed is closed here, so the code is free again; a new one is drawn.
            # (Closing lapsed holders only on a collision saves a lookup per START.)
            _close_lapsed(proxy=proxy, code=code, now=now)
            continue
        logger.info("conversation %s started on %s", conversation.pk, mask(proxy.number))
        return _reply(
            sender,
            replies.started(code=code, number=proxy.number),
            outcome="started",
            conversation=conversation,
        )
    raise RuntimeError(f"no free conversation code after {CODE_ATTEMPTS} attempts")


# --- JOIN --------------------------------------------------------------------------------


def join_failure_record(
    *, proxy: ProxyNumber, phone: str, reason: str, now: datetime | None = None
) -> None:
    """Count a failed JOIN; rows older than the window are of no more use and go."""
    now = now or clock.now()
    JoinFailure.objects.filter(created_at__lte=now - conf.join_limits().window).delete()
    JoinFailure.objects.create(proxy=proxy, phone=phone, reason=reason, created_at=now)


def _join_refusal(*, proxy: ProxyNumber, code: str) -> tuple[str, str]:
    """Why no pending conversation has this code: (outcome, reply)."""
    latest = conversation_code_history(proxy=proxy, code=code)
    if latest is not None and latest.joined_at is not None:
        return "join_taken", replies.join_taken(code=code)
    if latest is not None and latest.end_reason == EndReason.CODE_EXPIRED:
        return "join_expired", replies.join_expired(code=code)
    # Never used, or cancelled by its starter: nothing to tell a guesser apart.
    return "join_unknown_code", replies.join_unknown(code=code)


def conversation_join(
    *, proxy: ProxyNumber, sender: str, code: str, now: datetime | None = None
) -> SmsDecision:
    """Join the pending conversation with this code; both parties are told."""
    now = now or clock.now()
    with transaction.atomic(savepoint=False):
        current, _ = _sender_state(proxy=proxy, phone=sender, now=now)
        return _join(proxy=proxy, sender=sender, code=code, now=now, current=current)


def _join(
    *, proxy: ProxyNumber, sender: str, code: str, now: datetime, current: Conversation | None
) -> SmsDecision:
    """JOIN, once the sender's lapsed conversations here are closed and `current` is
    their open one (None: not in one). Inside a transaction."""
    code = code.strip().upper()
    # A sender's JOINs take turns, on every number, so that parallel guesses cannot all
    # read its failure count before any of them adds to it. Other senders do not wait.
    take_turns("join", sender)
    if join_attempts_blocked(proxy=proxy, phone=sender, now=now):
        # Checked before the code is looked at: a limited guesser learns nothing.
        logger.warning(
            "JOIN from %s on %s refused: too many failures",
            mask(sender),
            mask(proxy.number),
        )
        return _reply(sender, conf.join_limit_reply(), outcome="join_rate_limited")
    if not looks_like_code(code):
        join_failure_record(proxy=proxy, phone=sender, reason="join_not_a_code", now=now)
        return _reply(sender, replies.NOT_A_CODE, outcome="join_not_a_code")
    if current is not None:
        # Read before the lock: if the sender changed it meanwhile (a START of theirs in
        # another request), adding them below collides and they are told they are busy.
        if current.code == code:
            return _reply(
                sender, replies.join_own(code=code), outcome="join_own", conversation=current
            )
        return _reply(sender, replies.JOIN_BUSY, outcome="join_busy", conversation=current)
    conversation = (
        Conversation.objects.select_for_update()
        .filter(proxy=proxy, code=code, state=State.PENDING, expires_at__gt=now)
        .first()
    )
    if conversation is None:
        # A lapsed holder of the code is closed only now, so that the refusal can say the
        # code expired. (While it holds the code no other conversation can, so on success
        # there is none to close.)
        _close_lapsed(proxy=proxy, code=code, now=now)
        outcome, body = _join_refusal(proxy=proxy, code=code)
        join_failure_record(proxy=proxy, phone=sender, reason=outcome, now=now)
        return _reply(sender, body, outcome=outcome)
    try:
        with transaction.atomic():
            _participant_add(conversation=conversation, phone=sender, role=Role.JOINER, now=now)
    except IntegrityError:
        # The sender started or joined another conversation here at the same moment.
        return _reply(sender, replies.JOIN_BUSY, outcome="join_busy")
    conversation.state = State.ACTIVE
    conversation.joined_at = now
    conversation.last_activity_at = now
    conversation.expires_at = now + conf.idle_timeout()
    conversation.save(update_fields=["state", "joined_at", "last_activity_at", "expires_at"])
    starter = conversation_party(conversation=conversation, role=Role.STARTER)
    logger.info("conversation %s joined on %s", conversation.pk, mask(proxy.number))
    return SmsDecision(
        messages=(
            OutboundSms(recipient=sender, body=replies.joined_joiner()),
            OutboundSms(recipient=starter, body=replies.joined_starter(code=code)),
        ),
        session=conversation.session,
        outcome="joined",
    )


# --- END ---------------------------------------------------------------------------------


def conversation_end(
    *, proxy: ProxyNumber, sender: str, code: str | None = None, now: datetime | None = None
) -> SmsDecision:
    """End the sender's conversation on this number (only theirs: a code must match)."""
    now = now or clock.now()
    code = code.strip().upper() if code is not None else None
    with transaction.atomic(savepoint=False):
        current, _ = _sender_state(proxy=proxy, phone=sender, now=now)
        if code is not None and (current is None or current.code != code):
            body = (
                replies.end_wrong_code(code=code) if looks_like_code(code) else replies.NOT_A_CODE
            )
            return _reply(sender, body, outcome="end_wrong_code", conversation=current)
        if current is None:
            return _reply(sender, replies.NOT_IN_CONVERSATION, outcome="end_nothing")
        ended = _finish(
            conversations=Conversation.objects.filter(pk=current.pk),
            now=now,
            reason=EndReason.PARTY,
        )
        if not ended:
            # Someone else ended it in the meantime: they told both parties.
            return _reply(sender, replies.NOT_IN_CONVERSATION, outcome="end_nothing")
        logger.info("conversation %s ended by a party", current.pk)
        # Read after the lock: a JOIN may have completed while END waited for it.
        other = conversation_other_party(conversation=current, phone=sender)
        if other is None:
            return _reply(
                sender, replies.cancelled(code=current.code), outcome="ended", conversation=current
            )
        return SmsDecision(
            messages=(
                OutboundSms(recipient=sender, body=replies.ENDED_BY_YOU),
                OutboundSms(recipient=other, body=replies.ENDED_BY_OTHER),
            ),
            session=current.session,
            outcome="ended",
        )


def conversation_opt_out(
    *, proxy: ProxyNumber, sender: str, now: datetime | None = None
) -> SmsDecision:
    """The sender opted out of this number (END, STOP, ...): their conversation here
    ends, the other party is told as for END, and the sender hears that it ended (put
    before their opt-out's confirmation)."""
    decision = conversation_end(proxy=proxy, sender=sender, now=now)
    if decision.outcome != "ended":
        return SmsDecision(session=decision.session)
    others = tuple(m for m in decision.messages if m.recipient != sender)
    return SmsDecision(
        messages=(OutboundSms(recipient=sender, body=replies.ENDED_OPTED_OUT), *others),
        session=decision.session,
        outcome="ended",
    )


def conversation_staff_end(*, conversation: Conversation, now: datetime | None = None) -> bool:
    """End a conversation from the admin and text its parties. False if already over."""
    now = now or clock.now()
    with transaction.atomic():
        parties = list(conversation.participants.values_list("phone", flat=True))
        if not _finish(
            conversations=Conversation.objects.filter(pk=conversation.pk),
            now=now,
            reason=EndReason.STAFF,
        ):
            return False
        for phone in parties:
            message_queue(
                proxy=conversation.proxy,
                recipient=phone,
                body=replies.ENDED_BY_STAFF,
                session=conversation.session,
                outcome="ended_by_staff",
            )
        logger.info("conversation %s ended by staff", conversation.pk)
        return True


# --- relay and calls ---------------------------------------------------------------------


def _touch(*, conversation: Conversation, now: datetime) -> None:
    Conversation.objects.filter(pk=conversation.pk, state=State.ACTIVE).update(
        last_activity_at=now, expires_at=now + conf.idle_timeout()
    )


def conversation_relay(
    *, conversation: Conversation, sender: str, text: str, now: datetime | None = None
) -> SmsDecision:
    """Pass a party's text, verbatim, to the other party from the conversations number."""
    now = now or clock.now()
    other = conversation_other_party(conversation=conversation, phone=sender)
    if other is None or not text.strip():
        # Nothing to pass on: an empty text is not worth a vendor's refusal.
        return SmsDecision(session=conversation.session, outcome="not_relayed")
    _touch(conversation=conversation, now=now)
    return SmsDecision(
        messages=(OutboundSms(recipient=other, body=text),),
        session=conversation.session,
        outcome="relayed",
    )


def conversation_call_route(
    *, proxy: ProxyNumber, caller: str, now: datetime | None = None
) -> CallDecision:
    """A party of an active conversation reaches the other party, caller ID masked."""
    now = now or clock.now()
    with transaction.atomic(savepoint=False):
        conversation, _ = _sender_state(proxy=proxy, phone=caller, now=now)
        other: str | None = None
        if conversation is not None and conversation.state == State.ACTIVE:
            other = conversation_other_party(conversation=conversation, phone=caller)
        if conversation is None or other is None:
            return CallDecision(
                action=CallAction.say(replies.CALL_NOT_CONNECTED),
                session=conversation.session if conversation else "",
                outcome="not_connected",
            )
        _touch(conversation=conversation, now=now)
        return CallDecision(
            action=CallAction.transfer(other),
            session=conversation.session,
            outcome="transferred",
        )
