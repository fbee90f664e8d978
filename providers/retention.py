"""Retention: personal data is kept for MASKED_NUMBERS_RETENTION_DAYS after its session
ended, then erased by `outbox_sweep`.

In the message log: the text, and the person's number (an inbound message's sender, an
outbound one's recipient; the pool number is not personal) of every message whose
session ended before the cutoff, as the session's service says; a message without a
session (unrouted, a stranger's) counts as ended at its own time. Then each service
erases its own (`BaseRouter.personal_data_erase`). Statuses, times, counts, outcomes and
session names stay. At most `batch` rows per table per run, each table in short
transactions, so a large backlog is worked off over several runs without long locks.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from .models import Direction, Message, Status
from .phone import ERASED, redact
from .registry import get_router

logger = logging.getLogger(__name__)

RETENTION_BATCH = 1000
# Candidate messages are read in pages, each skipping the sessions found still kept, so
# a long-open session's old messages cannot hold up the rest of the backlog.
PAGES_PER_RUN = 5
# Still to be sent: erased only once delivered or given up.
IN_FLIGHT = (Status.QUEUED, Status.SENDING)


def retention_cutoff(*, now: datetime) -> datetime:
    """Sessions that ended before this have their personal data erased."""
    return now - timedelta(days=settings.MASKED_NUMBERS_RETENTION_DAYS)


def retention_sweep(*, now: datetime | None = None, batch: int = RETENTION_BATCH) -> dict[str, int]:
    """One bounded run of retention; returns how many rows were erased, by what. A count
    equal to `batch` means more is waiting."""
    now = now or timezone.now()
    before = retention_cutoff(now=now)
    counts = {"messages": messages_erase(before=before, now=now, batch=batch)}
    for service in settings.MASKED_NUMBERS_ROUTERS:
        counts.update(get_router(service).personal_data_erase(before=before, now=now, batch=batch))
    erased = ", ".join(f"{what} {n}" for what, n in counts.items() if n)
    if erased:
        logger.info("retention: erased %s", erased)
    return counts


def messages_erase(*, before: datetime, now: datetime, batch: int) -> int:
    """Erase texts and people's numbers of at most `batch` messages of sessions that
    ended before `before`; returns how many."""
    candidates = (
        Message.objects.filter(erased_at=None, created_at__lt=before)
        .exclude(status__in=IN_FLIGHT)
        .order_by("created_at", "id")
    )
    kept: set[str] = set()
    erased = 0
    for _ in range(PAGES_PER_RUN):
        page = list(
            candidates.exclude(session__in=kept).values_list("pk", "session", "proxy__service")[
                : batch - erased
            ]
        )
        if not page:
            break
        ended = _sessions_ended(page, before=before)
        held = {(service, session) for _, session, service in page if session and service}
        held -= ended
        ids = [pk for pk, session, service in page if (service, session) not in held]
        kept |= {session for _, session in held}
        erased += _messages_erase(ids=ids, now=now)
        if erased >= batch:
            break
    return erased


def _sessions_ended(
    page: Iterable[tuple[int, str, str | None]], *, before: datetime
) -> set[tuple[str, str]]:
    """(service, session) of the page's sessions that ended before `before`; a message
    without a session, or without a pool number, has none and is not asked about."""
    by_service: dict[str, set[str]] = defaultdict(set)
    for _, session, service in page:
        if session and service:
            by_service[service].add(session)
    return {
        (service, session)
        for service, sessions in by_service.items()
        for session in get_router(service).sessions_ended(sessions=sessions, before=before)
    }


def _messages_erase(*, ids: list[int], now: datetime) -> int:
    if not ids:
        return 0
    with transaction.atomic():
        rows = Message.objects.filter(pk__in=ids, erased_at=None).exclude(status__in=IN_FLIGHT)
        # A vendor's error text may quote the number or the text: its digit runs go too.
        errors = [
            Message(pk=pk, last_error=redact(error))
            for pk, error in rows.exclude(last_error="").values_list("pk", "last_error")
            if redact(error) != error
        ]
        erased = rows.update(
            body="",
            sender=Case(When(direction=Direction.INBOUND, then=Value(ERASED)), default=F("sender")),
            recipient=Case(
                When(direction=Direction.OUTBOUND, then=Value(ERASED)), default=F("recipient")
            ),
            erased_at=now,
        )
        Message.objects.bulk_update(errors, ["last_error"])
    return erased
