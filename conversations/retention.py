"""Retention for conversations (called by the conversations router for
providers/retention.py).

A conversation ended at `ended_at`, or when it lapsed (`ENDS`). Once that is before the
cutoff its messages in the log and its parties' numbers are erased; one that lapsed and
was never touched since is closed first, as touching it would have (nobody is texted).
Failed JOINs older than the cutoff are deleted.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from providers.phone import ERASED
from providers.retention import session_messages_erase

from .models import ENDS, Conversation, JoinFailure, Participant
from .services import _close


def conversations_personal_data_erase(
    *, before: datetime, now: datetime, batch: int
) -> dict[str, int]:
    """At most `batch` conversations that ended before `before`: their messages, then,
    once none is left, their parties' numbers."""
    due = list(
        Conversation.objects.alias(ends=ENDS)
        .filter(erased_at=None, ends__lt=before)
        .order_by("ends", "id")
        .select_related("proxy")[:batch]
    )
    messages, done = session_messages_erase(sessions=[c.session for c in due], now=now, batch=batch)
    due = [c for c in due if c.session in done]
    with transaction.atomic():
        ended = [c for c in due if not c.is_open] + _close(
            lapsed=[c for c in due if c.is_open], now=now
        )
        ids = [c.pk for c in ended]
        parties = (
            Participant.objects.filter(conversation_id__in=ids, open=False)
            .exclude(phone=ERASED)
            .update(phone=ERASED)
        )
        Conversation.objects.filter(pk__in=ids).update(erased_at=now)
    return {
        "conversation messages": messages,
        "conversations": len(ids),
        "participants": parties,
        "failed joins": _join_failures_delete(before=before, batch=batch),
    }


def _join_failures_delete(*, before: datetime, batch: int) -> int:
    """Failed JOINs count only within their window; older ones are pruned as new ones
    come, and those older than `before` (a sender's number) here, at most `batch`."""
    ids = JoinFailure.objects.filter(created_at__lt=before).order_by("created_at")
    deleted, _ = JoinFailure.objects.filter(
        pk__in=list(ids.values_list("pk", flat=True)[:batch])
    ).delete()
    return deleted
