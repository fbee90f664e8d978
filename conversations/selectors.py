"""Reads of the conversations app."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet

from providers.models import Message, ProxyNumber, Service
from providers.selectors import messages_for_session

from . import conf
from .models import OPEN_STATES, Conversation, JoinFailure, Participant

# Written as SQL for every text and call on a conversations number: it starts from the
# partial unique index of open participations (number, phone), one row, and the open
# states are written in so that the prepared statement's generic plan still uses it.
# Beside the ORM query it buys 16-17% of a START's and a relay's instructions.
HELD_BY_SQL = """
    SELECT c.* FROM conversations_conversation c
    JOIN conversations_participant pa ON pa.conversation_id = c.id
    WHERE pa.proxy_id = %(proxy)s AND pa.phone = %(phone)s AND pa.open
      AND c.proxy_id = %(proxy)s AND c.state IN ('pending', 'active')
    LIMIT 1
"""


def conversation_held_by(*, proxy: ProxyNumber, phone: str) -> Conversation | None:
    """The conversation this person's open participation on this number belongs to,
    lapsed or not. There is at most one (`participant_one_open_per_number`)."""
    params = {"proxy": proxy.pk, "phone": phone}
    held = next(iter(Conversation.objects.raw(HELD_BY_SQL, params)), None)
    if held is not None:
        held.proxy = proxy  # the same row; no query when a reply names it
    return held


def conversation_open_for(*, proxy: ProxyNumber, phone: str, now: datetime) -> Conversation | None:
    """The conversation this person is in on this number, unless it has lapsed."""
    held = conversation_held_by(proxy=proxy, phone=phone)
    return held if held is not None and held.expires_at > now else None


def conversation_other_party(*, conversation: Conversation, phone: str) -> str | None:
    """The number of the person this one talks to (never shown to them)."""
    return conversation.participants.exclude(phone=phone).values_list("phone", flat=True).first()


def conversation_party(*, conversation: Conversation, role: str) -> str:
    """The number of the party in this role; an open conversation always has its starter."""
    return conversation.participants.values_list("phone", flat=True).get(role=role)


def conversation_open_counts(*, proxy_ids: list[int], now: datetime) -> dict[int, int]:
    counts = dict.fromkeys(proxy_ids, 0)
    rows = (
        Conversation.objects.filter(
            proxy_id__in=proxy_ids, state__in=OPEN_STATES, expires_at__gt=now
        )
        .values("proxy_id")
        .annotate(n=Count("id"))
    )
    counts.update({row["proxy_id"]: row["n"] for row in rows})
    return counts


def conversation_list(
    *, state: str | None = None, number: str | None = None
) -> QuerySet[Conversation]:
    """Conversations for staff, newest first, with their parties loaded."""
    queryset = Conversation.objects.select_related("proxy").prefetch_related(
        Prefetch("participants", queryset=Participant.objects.order_by("joined_at", "id"))
    )
    if state:
        queryset = queryset.filter(state=state)
    if number is not None:
        queryset = queryset.filter(proxy__number=number)
    return queryset.order_by("-created_at", "-id")


def conversation_messages(*, conversation: Conversation) -> QuerySet[Message]:
    return messages_for_session(session=conversation.session)


def conversation_number_free_for(
    *, phone: str, exclude: ProxyNumber, now: datetime
) -> ProxyNumber | None:
    """Another conversations number of the pool where this person is in no conversation."""
    busy = Participant.objects.filter(
        phone=phone,
        open=True,
        conversation__state__in=OPEN_STATES,
        conversation__expires_at__gt=now,
    ).values("proxy_id")
    return (
        ProxyNumber.objects.filter(service=Service.CONVERSATIONS, active=True, sms=True)
        .exclude(pk=exclude.pk)
        .exclude(pk__in=busy)
        .order_by("number")
        .first()
    )


def join_attempts_blocked(*, proxy: ProxyNumber, phone: str, now: datetime) -> bool:
    """Whether this person may not try a code now: their failed JOINs (on any number)
    reached the per-sender limit, or this number is under attack (its failures reached
    the per-number limit) and they already failed on it in the window. Never the
    number's count alone: whoever has the right code gets in, however many guess."""
    limits = conf.join_limits()
    recent = JoinFailure.objects.filter(created_at__gt=now - limits.window)
    counts = recent.filter(Q(phone=phone) | Q(proxy=proxy)).aggregate(
        sender=Count("id", filter=Q(phone=phone)),
        number=Count("id", filter=Q(proxy=proxy)),
        here=Count("id", filter=Q(phone=phone, proxy=proxy)),
    )
    under_attack = counts["number"] >= limits.per_number
    return counts["sender"] >= limits.per_sender or (under_attack and counts["here"] > 0)


def conversation_code_history(*, proxy: ProxyNumber, code: str) -> Conversation | None:
    """The latest conversation that used this code on this number (for JOIN replies)."""
    return Conversation.objects.filter(proxy=proxy, code=code).order_by("-created_at").first()
