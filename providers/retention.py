"""Retention: personal data is kept for MASKED_NUMBERS_RETENTION_DAYS after its session
ended, then erased by `outbox_sweep`.

Each service erases its own, and its sessions' messages in the log, through
`BaseRouter.personal_data_erase` (it knows when its sessions ended); messages without a
session (unrouted, a stranger's, the replies to them) count as ended at their own time
and are erased here. In the log that is the text and the person's number (an inbound
message's sender, an outbound one's recipient; the pool number is not personal).
Statuses, times, counts, outcomes and session names stay. At most `batch` rows per table
per step, each in a short transaction, so a large backlog is worked off over several
runs without long locks.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from .models import Direction, Event, EventStatus, Message, MessageStatusChange, Status
from .phone import ERASED, redact
from .registry import get_router

logger = logging.getLogger(__name__)

RETENTION_BATCH = 1000
# Still to be sent: erased only once sent or given up.
IN_FLIGHT = (Status.QUEUED, Status.SENDING)


def retention_cutoff(*, now: datetime) -> datetime:
    """Sessions that ended before this have their personal data erased."""
    return now - timedelta(days=settings.MASKED_NUMBERS_RETENTION_DAYS)


def retention_sweep(*, now: datetime | None = None, batch: int = RETENTION_BATCH) -> dict[str, int]:
    """One bounded run of retention; returns how many rows were erased, by what. A count
    equal to `batch` means more is waiting."""
    now = now or timezone.now()
    before = retention_cutoff(now=now)
    counts = {
        "messages": messages_erase(before=before, now=now, batch=batch),
        "events": events_delete(before=before, batch=batch),
    }
    for service in settings.MASKED_NUMBERS_ROUTERS:
        router = get_router(service)
        counts.update(router.personal_data_erase(before=before, now=now, batch=batch))
    erased = ", ".join(f"{what} {n}" for what, n in counts.items() if n)
    if erased:
        logger.info("retention: erased %s", erased)
    return counts


def messages_erase(*, before: datetime, now: datetime, batch: int) -> int:
    """Erase at most `batch` messages without a session logged before `before`."""
    ids = (
        Message.objects.filter(erased_at=None, session="", created_at__lt=before)
        .exclude(status__in=IN_FLIGHT)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )
    return _messages_erase(ids=list(ids[:batch]), now=now)


def events_delete(*, before: datetime, batch: int) -> int:
    """Delete at most `batch` events for the platform sent or failed before `before`
    (their payloads may carry full numbers, by a setting)."""
    done = Event.objects.filter(
        created_at__lt=before, status__in=[EventStatus.SENT, EventStatus.FAILED]
    )
    ids = list(done.order_by("created_at", "id").values_list("pk", flat=True)[:batch])
    return Event.objects.filter(pk__in=ids).delete()[0] if ids else 0


def session_messages_erase(
    *, sessions: Collection[str], now: datetime, batch: int
) -> tuple[int, set[str]]:
    """For services: erase at most `batch` messages of these sessions, which ended before
    the cutoff. Returns how many, and which of the sessions have none left to erase (a
    text still to be sent holds its session back)."""
    if not sessions:
        return 0, set()
    left = Message.objects.filter(session__in=sessions, erased_at=None).order_by()
    # Session by session, so that as many as can be are done in this run.
    ids = left.exclude(status__in=IN_FLIGHT).order_by("session", "id").values_list("pk", flat=True)
    erased = _messages_erase(ids=list(ids[:batch]), now=now)
    return erased, set(sessions) - set(left.values_list("session", flat=True).distinct())


def _messages_erase(*, ids: list[int], now: datetime) -> int:
    if not ids:
        return 0
    with transaction.atomic():
        rows = Message.objects.filter(pk__in=ids, erased_at=None).exclude(status__in=IN_FLIGHT)
        # A vendor's error text may quote the number or the text: its digit runs go too.
        errors = [
            Message(pk=pk, last_error=redact(error), error_description=redact(description))
            for pk, error, description in rows.values_list("pk", "last_error", "error_description")
            if redact(error) != error or redact(description) != description
        ]
        changes = [
            MessageStatusChange(pk=pk, error_description=redact(description))
            for pk, description in MessageStatusChange.objects.filter(
                message_id__in=ids
            ).values_list("pk", "error_description")
            if redact(description) != description
        ]
        erased = rows.update(
            body="",
            sender=Case(When(direction=Direction.INBOUND, then=Value(ERASED)), default=F("sender")),
            recipient=Case(
                When(direction=Direction.OUTBOUND, then=Value(ERASED)), default=F("recipient")
            ),
            erased_at=now,
        )
        Message.objects.bulk_update(errors, ["last_error", "error_description"])
        MessageStatusChange.objects.bulk_update(changes, ["error_description"])
    return erased
