"""The outbox: outbound messages are queued in the log, delivered, retried and swept.

A `Message` in `queued` is what a delivery task sends. It moves to `sending` under a
lease while a worker sends it, then to `sent`, back to `queued` with a backoff after a
transient failure, or to `failed`.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from .consent import is_opted_out, opt_out_record
from .events import events_sweep
from .exceptions import ProviderNotConfigured, SendError
from .models import Direction, Kind, Message, ProxyNumber, Status
from .outage import write_through_outage
from .phone import mask, redact
from .receipts import message_status_record
from .registry import get_provider
from .tasks import (
    deliver_message,
    delivery_task_write,
    enqueue_with_transaction,
    tasks_in_this_database,
)

logger = logging.getLogger(__name__)


def _delivery_settings() -> dict[str, Any]:
    return settings.MASKED_NUMBERS_DELIVERY


def message_queue(
    *,
    proxy: ProxyNumber,
    recipient: str,
    body: str,
    session: str = "",
    outcome: str = "",
    in_reply_to: Message | None = None,
    to_opted_out: bool = False,
) -> Message:
    """Log an outbound SMS as `queued` and enqueue its delivery.

    A text to a person who opted out of this number is logged as `suppressed` and
    never handed to the vendor; only the confirmation of an opt-out itself is sent to
    them (`to_opted_out`). Where tasks are rows of this database the task is written in the caller's
    transaction, so a message and its task commit or roll back together; an in-process
    backend runs it once the transaction commits.
    """
    message = Message(
        direction=Direction.OUTBOUND,
        kind=Kind.SMS,
        provider=proxy.provider,
        proxy=proxy,
        sender=proxy.number,
        recipient=recipient,
        body=body,
        status=Status.QUEUED,
        session=session,
        outcome=outcome,
        in_reply_to=in_reply_to,
        next_attempt_at=timezone.now(),
    )
    message.insert(unless_opted_out=not to_opted_out)
    if message.status == Status.SUPPRESSED:
        logger.info("SMS %s to %s not sent: opted out", message.pk, mask(recipient))
        return message
    enqueue_with_transaction(partial(message_enqueue, message_id=message.pk))
    return message


def message_enqueue(*, message_id: int, run_after: datetime | None = None) -> None:
    """Hand a message to the task queue. Enqueueing twice is harmless: delivery claims it.
    A task to run at once, where tasks are rows of this database, is written by one
    INSERT (`delivery_task_write`); a retry's waits for its time through the library."""
    from django.tasks import task_backends

    if run_after is None:
        if tasks_in_this_database():
            delivery_task_write(message_id=message_id)
        else:
            deliver_message.enqueue(message_id)
        return
    if not task_backends[deliver_message.backend].supports_defer:
        # In-process backends cannot wait: the outbox sweep picks the message up.
        return
    deliver_message.using(run_after=run_after).enqueue(message_id)


def backoff_seconds(*, attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff after the n-th failed attempt, honouring Retry-After."""
    conf = _delivery_settings()
    delay = min(
        conf["BACKOFF_MAX_SECONDS"], conf["BACKOFF_BASE_SECONDS"] * 2 ** max(0, attempts - 1)
    )
    if retry_after is not None:
        delay = max(delay, min(retry_after, conf["BACKOFF_MAX_SECONDS"]))
    return float(delay)


def message_deliver(*, message_id: int) -> str:
    """One delivery attempt of a queued outbound SMS. Returns the resulting status."""
    claimed = time.monotonic()
    message = _message_claim(message_id=message_id)
    if message is None:
        return "skipped"
    try:
        sent = get_provider(message.provider).send_sms(
            sender=message.sender,
            recipient=message.recipient,
            body=message.body,
            reference=str(message.pk),
        )
    except (SendError, ProviderNotConfigured) as err:
        if isinstance(err, SendError) and err.opted_out:
            return _message_opted_out(message, error=err.summary)
        transient = isinstance(err, ProviderNotConfigured) or err.transient
        return _message_failed(
            message,
            error=getattr(err, "summary", str(err)),
            detail=getattr(err, "detail", ""),
            transient=transient,
            retry_after=getattr(err, "retry_after", None),
        )
    except Exception as err:
        # A vendor answer we could not read, a bug in a backend: keep the message, retry.
        logger.exception("SMS %s: unexpected error while sending", message.pk)
        return _message_failed(
            message,
            error=f"unexpected error: {type(err).__name__}",
            detail="",
            transient=True,
            retry_after=None,
        )
    _message_sent(message_id=message.pk, vendor_id=sent.vendor_id[:128], claimed=claimed)
    return Status.SENT


# The claim and the read of what to send in one round trip; beside the ORM's update()
# and get() it cuts a delivery's CPU by a quarter (bench/HISTORY.md, 2026-12-01).
# `IS TRUE` keeps the status out of the index search: the statistics see almost no
# queued rows, and PostgreSQL would otherwise read every queued row to find this one.
CLAIM_SQL = """
    UPDATE providers_message
    SET status = 'sending', attempts = attempts + 1, next_attempt_at = %(lease_ends)s,
        updated_at = %(now)s
    WHERE id = %(id)s AND direction = 'out' AND (status = 'queued') IS TRUE
    RETURNING id, provider, proxy_id, sender, recipient, body, attempts
"""


def _message_claim(*, message_id: int) -> Message | None:
    """Move a queued outbound SMS to `sending` under a lease; None if it was not queued.
    The conditional UPDATE lets one worker only have it."""
    connection = connections[Message.objects.db]
    now = timezone.now()
    lease = timedelta(seconds=_delivery_settings()["SENDING_LEASE_SECONDS"])
    at = connection.ops.adapt_datetimefield_value
    params = {"id": message_id, "now": at(now), "lease_ends": at(now + lease)}
    claimed = list(Message.objects.raw(CLAIM_SQL, params))
    return claimed[0] if claimed else None


def _message_sent(*, message_id: int, vendor_id: str, claimed: float) -> None:
    """Record the vendor's acceptance of a message claimed at `claimed` (monotonic).

    The vendor has it from here on, so a lost connection is tried again on a new one
    for twice the lease (short pauses, to come before the sweep would send it again);
    after that the error is raised and the sweep sends it again: at least once, never
    lost. From `queued` too: the sweep may have taken back the lease meanwhile. Inside
    a transaction (a connection that cannot be replaced) the error is raised at once.
    """

    def record() -> None:
        now = timezone.now()
        Message.objects.filter(pk=message_id, status__in=(Status.SENDING, Status.QUEUED)).update(
            status=Status.SENT,
            vendor_id=vendor_id,
            sent_at=now,
            next_attempt_at=None,
            last_error="",
            updated_at=now,
        )

    write_through_outage(record, claimed=claimed, what=f"SMS {message_id} accepted by the vendor")


def _message_failed(
    message: Message, *, error: str, detail: str, transient: bool, retry_after: float | None
) -> str:
    now = timezone.now()
    # The log gets our words only; the vendor's (`detail`) may carry the number or text.
    stored = f"{error}: {detail}" if detail else error
    if detail:
        logger.debug("SMS %s: vendor said %s", message.pk, detail)
    if transient and message.attempts < _delivery_settings()["MAX_ATTEMPTS"]:
        at = now + timedelta(
            seconds=backoff_seconds(attempts=message.attempts, retry_after=retry_after)
        )
        Message.objects.filter(pk=message.pk, status=Status.SENDING).update(
            status=Status.QUEUED, next_attempt_at=at, last_error=stored[:1000], updated_at=now
        )
        logger.warning(
            "SMS %s to %s: attempt %d failed (%s), retrying at %s",
            message.pk,
            mask(message.recipient),
            message.attempts,
            redact(error),
            at.isoformat(),
        )
        message_enqueue(message_id=message.pk, run_after=at)
        return Status.QUEUED
    message_status_record(
        message_id=message.pk,
        status=Status.FAILED,
        error_description=error,
        only_from=(Status.SENDING,),
        last_error=stored,
    )
    logger.error(
        "SMS %s to %s failed after %d attempts: %s",
        message.pk,
        mask(message.recipient),
        message.attempts,
        redact(error),
    )
    return Status.FAILED


def _message_opted_out(message: Message, *, error: str) -> str:
    """The vendor refused because the recipient opted out of the number: failed for
    good, and recorded, so that nothing more is queued to them from it."""
    with transaction.atomic():
        message_status_record(
            message_id=message.pk,
            status=Status.FAILED,
            error_description=f"opted out ({error})",
            only_from=(Status.SENDING,),
            last_error=f"opted out ({error})",
        )
        if (proxy := message.proxy) is not None:
            opt_out_record(
                proxy=proxy, phone=message.recipient, keyword=f"{message.provider}: refused"
            )
    logger.warning(
        "SMS %s to %s not sent: opted out (%s)", message.pk, mask(message.recipient), redact(error)
    )
    return Status.FAILED


def message_resend(*, message: Message) -> bool:
    """Queue a failed outbound SMS again (staff action). False if it was not failed,
    its recipient has opted out of its number, or retention erased it."""
    proxy = message.proxy
    if proxy is not None and is_opted_out(proxy=proxy, phone=message.recipient):
        return False
    updated = Message.objects.filter(
        pk=message.pk, direction=Direction.OUTBOUND, status=Status.FAILED, erased_at=None
    ).update(
        status=Status.QUEUED, attempts=0, next_attempt_at=timezone.now(), updated_at=timezone.now()
    )
    if updated:
        transaction.on_commit(lambda: message_enqueue(message_id=message.pk))
    return bool(updated)


def outbox_sweep(*, now: datetime | None = None, grace_seconds: float = 30) -> int:
    """Pick up what the task queue lost: expired `sending` leases and overdue `queued` rows.

    Run periodically (`manage.py outbox_sweep --loop`). Returns how many were enqueued.
    """
    now = now or timezone.now()
    overdue = now - timedelta(seconds=grace_seconds)
    revived = Message.objects.filter(
        direction=Direction.OUTBOUND, status=Status.SENDING, next_attempt_at__lt=now
    ).update(
        status=Status.QUEUED,
        next_attempt_at=overdue,
        last_error="delivery interrupted (worker lost); retrying",
        updated_at=now,
    )
    if revived:
        logger.warning("outbox: %d interrupted deliveries queued again", revived)
    due = list(
        Message.objects.filter(
            direction=Direction.OUTBOUND, status=Status.QUEUED, next_attempt_at__lte=overdue
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:1000]
    )
    for message_id in due:
        message_enqueue(message_id=message_id)
    return len(due) + events_sweep(now=now, grace_seconds=grace_seconds)


def delivery_tasks_prune(*, now: datetime | None = None, batch: int = 10_000) -> int:
    """Delete finished delivery task rows older than the configured age; returns how many.

    The message log keeps what matters (status, attempts, last error); the task row is
    the queue's bookkeeping. At most `batch` rows per call, so a sweep never holds a
    long lock.
    """
    from django_tasks_db.models import DBTaskResult

    if not tasks_in_this_database():
        return 0
    cutoff = (now or timezone.now()) - timedelta(
        hours=_delivery_settings()["TASK_RESULTS_KEPT_HOURS"]
    )
    old = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).order_by()
    ids = list(old.values_list("pk", flat=True)[:batch])
    if not ids:
        return 0
    deleted, _ = DBTaskResult.objects.filter(pk__in=ids).delete()
    return deleted
