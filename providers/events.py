"""Events for the platform's backend: what happened, as it happens.

`event_emit(type, data)` writes an `Event` in the caller's transaction, so an event
commits or rolls back with what it reports. Delivery is the outbox's: a task POSTs it,
signed by the Standard Webhooks scheme, with the retries and backoff of texts; the
outbox sweep picks up what the task queue lost. Without MASKED_NUMBERS_EVENTS_URL
nothing is written and nothing is sent.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, F
from django.db.models.expressions import RawSQL
from django.utils import timezone
from standardwebhooks import Webhook

from .backends.http import retry_after_seconds
from .models import Event, EventStatus, Message, Status
from .outage import write_through_outage
from .phone import mask, redact
from .tasks import deliver_event, enqueue_with_transaction

logger = logging.getLogger(__name__)

EVENT_TYPES = frozenset(
    {
        "message.relayed",
        "message.delivered",
        "message.failed",
        "optout.created",
        "call.transferred",
        "ride.ended",
        "conversation.ended",
        "pool.exhausted",
    }
)
# Answers worth trying again: the endpoint is busy, timed out or broken for now.
TRANSIENT_STATUSES = frozenset({408, 429})


def events_enabled() -> bool:
    """Whether the platform is told of events (MASKED_NUMBERS_EVENTS_URL is set)."""
    return bool(settings.MASKED_NUMBERS_EVENTS_URL)


def event_number(number: str) -> str:
    """A person's number as events carry it: masked unless the settings allow full ones."""
    return number if settings.MASKED_NUMBERS_EVENTS_FULL_NUMBERS else mask(number)


def message_event_data(message: Message, **extra: Any) -> dict[str, Any]:
    """The `data` of a message event: its session, pool number, id, direction, status
    and both numbers (the pool number in full, the person's as `event_number`). Never
    the text."""
    proxy_number = message.proxy.number if message.proxy is not None else ""

    def shown(number: str) -> str:
        return number if number == proxy_number else event_number(number)

    return {
        "session": message.session,
        "message_id": message.pk,
        "proxy_number": proxy_number,
        "direction": message.direction,
        "kind": message.kind,
        "status": message.status,
        "provider": message.provider,
        "from": shown(message.sender),
        "to": shown(message.recipient),
        **extra,
    }


def event_time(at: datetime) -> str:
    """A time as events carry it: ISO 8601 in UTC."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_emit(type: str, data: dict[str, Any]) -> Event | None:  # noqa: A002 - the payload's name
    """Record an event for the platform in the caller's transaction; None when events
    are off. It is sent once that transaction commits."""
    if not events_enabled():
        return None
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    now = timezone.now()
    event = Event(type=type, created_at=now, next_attempt_at=now)
    event.payload = {"id": event.event_id, "type": type, "timestamp": event_time(now), "data": data}
    # The row and its task together; inside the caller's transaction, no savepoint.
    with transaction.atomic(savepoint=False):
        event.save()
        enqueue_with_transaction(partial(event_enqueue, pk=event.pk))
    return event


def event_enqueue(*, pk: int, run_after: datetime | None = None) -> None:
    """Hand an event to the task queue. Twice is harmless: delivery claims it."""
    from django.tasks import task_backends

    task = deliver_event
    if run_after is not None:
        if not task_backends[task.backend].supports_defer:
            return  # the outbox sweep picks it up when it is due
        task = task.using(run_after=run_after)
    task.enqueue(pk)


def event_headers(event: Event, body: str, *, now: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt: the event's stable id, the time of
    the attempt, and the signature of both with the body."""
    now = now or timezone.now()
    webhook = Webhook(settings.MASKED_NUMBERS_EVENTS_SECRET)
    return {
        "Content-Type": "application/json",
        "webhook-id": event.event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": webhook.sign(msg_id=event.event_id, timestamp=now, data=body),
    }


def event_deliver(*, pk: int) -> str:
    """One delivery attempt of a queued event. Returns the resulting status."""
    claimed = time.monotonic()
    event = _event_claim(pk=pk)
    if event is None:
        return "skipped"
    body = json.dumps(event.payload, separators=(",", ":"))
    try:
        headers = event_headers(event, body)
        response = requests.post(
            settings.MASKED_NUMBERS_EVENTS_URL,
            data=body.encode(),
            headers=headers,
            timeout=settings.MASKED_NUMBERS_EVENTS_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as err:
        return _event_failed(event, error=f"connection error: {type(err).__name__}")
    except Exception as err:  # noqa: BLE001 - a secret that cannot be read: fix it, retry
        logger.exception("event %s: cannot be sent", event.event_id)
        return _event_failed(event, error=f"cannot be sent: {type(err).__name__}")
    if 200 <= response.status_code < 300:
        _event_sent(pk=event.pk, claimed=claimed)
        return EventStatus.SENT
    transient = response.status_code in TRANSIENT_STATUSES or response.status_code >= 500
    return _event_failed(
        event,
        error=f"HTTP {response.status_code}",
        transient=transient,
        retry_after=retry_after_seconds(response),
    )


def _event_claim(*, pk: int) -> Event | None:
    """Move a queued event to `sending` under a lease; None if it was not queued."""
    from .outbox import _delivery_settings

    now = timezone.now()
    lease = timedelta(seconds=_delivery_settings()["SENDING_LEASE_SECONDS"])
    # `IS TRUE` keeps the status out of the index search: with statistics that see no
    # queued events, PostgreSQL would read every queued event to claim one.
    queued = RawSQL("(status = %s) IS TRUE", [EventStatus.QUEUED], output_field=BooleanField())
    claimed = Event.objects.filter(queued, pk=pk).update(
        status=EventStatus.SENDING,
        attempts=F("attempts") + 1,
        next_attempt_at=now + lease,
        updated_at=now,
    )
    return Event.objects.get(pk=pk) if claimed else None


def _event_sent(*, pk: int, claimed: float) -> None:
    """Record that the platform has it; a lost database is waited out (see
    write_through_outage), so the sweep does not send it again."""

    def record() -> None:
        now = timezone.now()
        Event.objects.filter(pk=pk, status__in=(EventStatus.SENDING, EventStatus.QUEUED)).update(
            status=EventStatus.SENT,
            sent_at=now,
            next_attempt_at=None,
            last_error="",
            updated_at=now,
        )

    write_through_outage(record, claimed=claimed, what=f"event {pk} received by the platform")


def _event_failed(
    event: Event, *, error: str, transient: bool = True, retry_after: float | None = None
) -> str:
    """Queued again after a backoff, or failed for good (a refusal, or the last attempt)."""
    from .outbox import _delivery_settings, backoff_seconds

    now = timezone.now()
    sending = Event.objects.filter(pk=event.pk, status=EventStatus.SENDING)
    if transient and event.attempts < _delivery_settings()["MAX_ATTEMPTS"]:
        at = now + timedelta(
            seconds=backoff_seconds(attempts=event.attempts, retry_after=retry_after)
        )
        sending.update(
            status=EventStatus.QUEUED, next_attempt_at=at, last_error=error, updated_at=now
        )
        logger.warning(
            "event %s (%s): attempt %d failed (%s), retrying at %s",
            event.event_id,
            event.type,
            event.attempts,
            error,
            at.isoformat(),
        )
        event_enqueue(pk=event.pk, run_after=at)
        return EventStatus.QUEUED
    sending.update(
        status=EventStatus.FAILED, next_attempt_at=None, last_error=error, updated_at=now
    )
    logger.error(
        "event %s (%s) failed after %d attempts: %s",
        event.event_id,
        event.type,
        event.attempts,
        error,
    )
    return EventStatus.FAILED


def event_resend(*, event: Event) -> bool:
    """Queue a failed event again (staff action), with the same id. False if it was not
    failed."""
    now = timezone.now()
    updated = Event.objects.filter(pk=event.pk, status=EventStatus.FAILED).update(
        status=EventStatus.QUEUED, attempts=0, next_attempt_at=now, updated_at=now
    )
    if updated:
        transaction.on_commit(lambda: event_enqueue(pk=event.pk))
    return bool(updated)


def events_sweep(*, now: datetime, grace_seconds: float, batch: int = 1000) -> int:
    """The outbox sweep's part for events: expired `sending` leases queued again, and
    overdue `queued` events enqueued. Returns how many were enqueued."""
    overdue = now - timedelta(seconds=grace_seconds)
    revived = Event.objects.filter(status=EventStatus.SENDING, next_attempt_at__lt=now).update(
        status=EventStatus.QUEUED,
        next_attempt_at=overdue,
        last_error="delivery interrupted (worker lost); retrying",
        updated_at=now,
    )
    if revived:
        logger.warning("outbox: %d interrupted event deliveries queued again", revived)
    due = list(
        Event.objects.filter(status=EventStatus.QUEUED, next_attempt_at__lte=overdue)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
    for pk in due:
        event_enqueue(pk=pk)
    return len(due)


def message_status_emit(*, message_id: int, status: str, error: str = "") -> None:
    """`message.delivered`, or `message.failed` for a text that failed for good or was
    reported undelivered. `error` is redacted: the vendor's words may carry a number."""
    if not events_enabled():
        return
    message = Message.objects.select_related("proxy").get(pk=message_id)
    if status == Status.DELIVERED:
        event_emit("message.delivered", message_event_data(message))
    else:
        event_emit("message.failed", message_event_data(message, error=redact(error)))
