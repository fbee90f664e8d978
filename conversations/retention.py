"""Retention for conversations (called by the conversations router for
providers/retention.py).

A conversation ended at `ended_at`, or when it lapsed (`ENDS`). Once that is before the
cutoff its parties' numbers are erased; one that lapsed and was never touched since is
closed first, as touching it would have (nobody is texted).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime

from django.db import transaction

from providers.phone import ERASED

from .models import ENDS, Conversation, Participant
from .services import _close

SESSION = re.compile(r"conversation:(\d+)", re.ASCII)


def conversation_sessions_ended(*, sessions: Collection[str], before: datetime) -> set[str]:
    """Of these session names, those whose conversation ended before `before` or is unknown."""
    ids = [int(m[1]) for m in map(SESSION.fullmatch, sessions) if m]
    kept = Conversation.objects.alias(ends=ENDS).filter(pk__in=ids, ends__gte=before)
    return set(sessions) - {c.session for c in kept.only("pk")}


def conversations_personal_data_erase(
    *, before: datetime, now: datetime, batch: int
) -> dict[str, int]:
    """The parties' numbers of at most `batch` conversations that ended before `before`."""
    with transaction.atomic():
        due = list(
            Conversation.objects.alias(ends=ENDS)
            .filter(erased_at=None, ends__lt=before)
            .order_by("ends", "id")
            .select_related("proxy")[:batch]
        )
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
    return {"conversations": len(ids), "participants": parties}
