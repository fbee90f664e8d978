"""Writes of the telephony layer: receiving, queueing and delivering messages."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from .db import (
    GuardExists,
    Then,
    fetch_instance,
    insert_row,
    insert_unless_duplicate,
    quoted_names,
    update_fields,
)
from .exceptions import (
    InvalidPhoneNumber,
    ProviderNotConfigured,
    SendError,
    WebhookValidationError,
)
from .models import Direction, Kind, Message, ProxyNumber, SeenSignature, Status
from .phone import country_of, mask, redact, to_e164
from .pool import active_proxy, pool_changed
from .registry import get_provider, get_router
from .routing import BaseRouter
from .task_backend import DeliveryTaskBackend
from .tasks import deliver_message
from .types import CallAction, CallActionKind, InboundCall, InboundSms, SmsDecision

logger = logging.getLogger(__name__)

UNKNOWN_NUMBER_SAY = "Sorry, this number is not in service."


@dataclass(frozen=True)
class InboundResult:
    message: Message
    duplicate: bool = False


@cache
def _statement(template: str, alias: str) -> str:
    """A statement of the webhook or delivery path with its table names quoted for the
    database, once per process (see providers/db.py on why these are written as SQL)."""
    return template.format(**quoted_names(alias, message=Message))


def sms_queue(
    *,
    proxy: ProxyNumber,
    recipient: str,
    body: str,
    session: str = "",
    outcome: str = "",
    in_reply_to: Message | None = None,
) -> Message:
    """Log an outbound SMS as `queued`; it is delivered after the transaction commits."""
    message = _outbound(
        proxy=proxy,
        recipient=recipient,
        body=body,
        session=session,
        outcome=outcome,
        in_reply_to=in_reply_to,
    )
    insert_row(message)
    if _tasks_in_this_database():
        # The task row commits, or rolls back, with the message: no commit of its own
        # after the transaction (one fsync per webhook less), and no window in which a
        # crash leaves a queued message without its task.
        delivery_enqueue(message_id=message.pk)
    else:
        transaction.on_commit(lambda: delivery_enqueue(message_id=message.pk))
    return message


def _outbound(
    *,
    proxy: ProxyNumber,
    recipient: str,
    body: str,
    session: str = "",
    outcome: str = "",
    in_reply_to: Message | None = None,
) -> Message:
    """An outbound SMS's log row, `queued`, not yet written."""
    return Message(
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


def _task_rows_backend() -> DeliveryTaskBackend | None:
    """The task backend whose rows a webhook can write with its own (see task_backend)."""
    from django.tasks import task_backends

    backend = task_backends[deliver_message.backend]
    return backend if isinstance(backend, DeliveryTaskBackend) else None


def _tasks_in_this_database() -> bool:
    """Whether delivery tasks are rows of our own database (the `database` backend)."""
    from django.tasks import task_backends
    from django_tasks_db import DatabaseBackend

    return isinstance(task_backends[deliver_message.backend], DatabaseBackend)


def inbound_sms_receive(*, inbound: InboundSms) -> InboundResult:
    """Log an inbound SMS once, let the number's service decide, queue what it says.

    A vendor id seen before is a redelivery: acknowledged, not processed again; a
    signature's id seen before is a replay, refused (WebhookValidationError) having
    written nothing. A router whose routing only reads (`sms_routing_writes`, a ride's)
    is asked first, and the text, what it sends and their delivery tasks are written
    at once (see _receive_routed_first); one that writes is asked after the text is
    logged, in one transaction with it, so a redelivery or a replay, found at that
    first write, changes nothing.
    """
    proxy = active_proxy(inbound.recipient)
    router = get_router(proxy.service) if proxy is not None and proxy.sms else None
    message = Message(
        direction=Direction.INBOUND,
        kind=Kind.SMS,
        provider=inbound.provider,
        vendor_id=inbound.vendor_id,
        proxy=proxy,
        sender=inbound.sender,
        recipient=inbound.recipient,
        body=inbound.text,
        status=Status.RECEIVED if router is not None else Status.UNROUTED,
    )
    if router is None:
        message.outcome = "not_in_pool" if proxy is None else "sms_off"
        # A redelivery collides on the (provider, vendor id) constraint; ON CONFLICT DO
        # NOTHING tells so in the same statement, without a savepoint around it.
        if not _insert_inbound(message, nonce=inbound.nonce):
            return _redelivered(inbound)
        logger.warning(
            "SMS from %s to %s not routed: %s",
            mask(inbound.sender),
            mask(inbound.recipient),
            message.outcome,
        )
        return InboundResult(message=message)
    backend = _task_rows_backend()
    # Routed first where the whole write is one: the relays' task rows written with the
    # text, or tasks run in-process once it is in. Another backend keeping its tasks in
    # this database enqueues them one by one, in the transaction of the other way.
    if not router.sms_routing_writes and (backend is not None or not _tasks_in_this_database()):
        return _receive_routed_first(inbound, message, router, backend)
    return _receive_then_route(inbound, message, router)


def _receive_then_route(inbound: InboundSms, message: Message, router: BaseRouter) -> InboundResult:
    """A text whose routing writes: logged first, then routed, in one transaction."""
    # No savepoint of its own inside a caller's transaction: nobody carries on after a
    # failure here, and a savepoint is two more statements on every text.
    with transaction.atomic(savepoint=False):
        try:
            inserted = _insert_inbound(message, nonce=inbound.nonce)
        except WebhookValidationError as err:
            refused = err  # nothing was written: raised below, once the block is left
        else:
            refused = None
            if inserted:
                decision = _route_sms(router, message, inbound)
                update_fields(message, "session", "outcome", "updated_at")
                for outbound in decision.messages:
                    sms_queue(
                        proxy=message.proxy,
                        recipient=outbound.recipient,
                        body=outbound.body,
                        session=decision.session,
                        outcome=decision.outcome,
                        in_reply_to=message,
                    )
    # Raised outside the block: an exception inside it would doom a caller's transaction.
    if refused is not None:
        raise refused
    if not inserted:
        return _redelivered(inbound)
    _log_routed(message, inbound, decision)
    return InboundResult(message=message)


def _receive_routed_first(
    inbound: InboundSms,
    message: Message,
    router: BaseRouter,
    backend: DeliveryTaskBackend | None,
) -> InboundResult:
    """A text whose routing only reads: the router is asked first, then the text (with
    its outcome), the texts it sends and, where tasks are rows of this database, their
    delivery tasks are written by one statement on PostgreSQL (one transaction
    elsewhere): no transaction of its own, nothing half written, and a redelivery or a
    replay, which conflict on the text or its signature, write nothing more."""
    decision = _route_sms(router, message, inbound)
    queued, then = [], []
    for outbound in decision.messages:
        relay = _outbound(
            proxy=message.proxy,
            recipient=outbound.recipient,
            body=outbound.body,
            session=decision.session,
            outcome=decision.outcome,
        )
        then.append(Then(relay, "in_reply_to"))
        task = None
        if backend is not None:
            # The relay's key, known once it is written, goes in as the task's argument.
            task = backend.task_row(deliver_message, (0,), {})
            then.append(Then(task, "args_kwargs", after=len(then), path=("args", "0")))
        queued.append((relay, task))
    if not _insert_inbound(message, nonce=inbound.nonce, then=then):
        return _redelivered(inbound)
    for relay, task in queued:
        if task is not None:
            backend.enqueued(task)
        else:
            # An in-process backend: run once the text is in (at once, outside a
            # caller's transaction).
            transaction.on_commit(partial(delivery_enqueue, message_id=relay.pk))
    _log_routed(message, inbound, decision)
    return InboundResult(message=message)


def _redelivered(inbound: InboundSms) -> InboundResult:
    logger.info("duplicate %s SMS %s ignored", inbound.provider, inbound.vendor_id)
    existing = Message.objects.get(
        provider=inbound.provider,
        direction=Direction.INBOUND,
        kind=Kind.SMS,
        vendor_id=inbound.vendor_id,
    )
    return InboundResult(message=existing, duplicate=True)


def _log_routed(message: Message, inbound: InboundSms, decision: SmsDecision) -> None:
    logger.info(
        "SMS %s on %s from %s: %s, %d to send",
        message.pk,
        mask(message.proxy.number),
        mask(inbound.sender),
        decision.outcome or "-",
        len(decision.messages),
    )


def _route_sms(router: BaseRouter, message: Message, inbound: InboundSms) -> SmsDecision:
    """The router's decision on a text, its session and outcome set on the log row."""
    decision = router.route_sms(proxy=message.proxy, sender=inbound.sender, text=inbound.text)
    message.session = decision.session
    message.outcome = decision.outcome
    return decision


def inbound_call_receive(*, inbound: InboundCall) -> CallAction:
    """Log an inbound call and return what the vendor should do with it.

    A call whose routing only reads (a ride's, an unknown number's) writes one row, its
    log entry with the signature's one-time id, in one statement: no transaction. A
    router that writes while routing a call (`call_routing_writes`) gets one, so a
    replay, found at that last write, undoes what it wrote.
    """
    proxy = active_proxy(inbound.recipient)
    router = get_router(proxy.service) if proxy is not None and proxy.voice else None
    if router is not None and router.call_routing_writes:
        with transaction.atomic():
            return _call_route_and_log(inbound, proxy, router)
    return _call_route_and_log(inbound, proxy, router)


def _call_route_and_log(
    inbound: InboundCall, proxy: ProxyNumber | None, router: BaseRouter | None
) -> CallAction:
    if router is not None:
        decision = router.route_call(proxy=proxy, caller=inbound.caller)
        action, session, outcome = decision.action, decision.session, decision.outcome
    else:
        action, session = CallAction.say(UNKNOWN_NUMBER_SAY), ""
        outcome = "not_in_pool" if proxy is None else "voice_off"
    transfer = action.kind == CallActionKind.TRANSFER
    # The vendor asking again for the same call gets the same answer, logged once.
    _insert_inbound(
        Message(
            direction=Direction.INBOUND,
            kind=Kind.CALL,
            provider=inbound.provider,
            vendor_id=inbound.vendor_id,
            proxy=proxy,
            sender=inbound.caller,
            recipient=inbound.recipient,
            body="" if transfer else action.text,
            status=(
                Status.TRANSFERRED
                if transfer
                else (Status.ANSWERED if router is not None else Status.UNROUTED)
            ),
            outcome=outcome,
            session=session,
        ),
        nonce=inbound.nonce,
    )
    logger.info(
        "call on %s from %s: %s", mask(inbound.recipient), mask(inbound.caller), outcome or "-"
    )
    return action


def _insert_inbound(message: Message, *, nonce: str, then: Sequence[Then] = ()) -> bool:
    """Log an inbound event unless the vendor sent it before (False then), and the rows
    of `then` with it. The request's one-time id, if it has one, is written with it: a
    replayed request is refused here (WebhookValidationError), having written nothing."""
    if not nonce:
        return insert_unless_duplicate(message, then=then)
    try:
        return insert_unless_duplicate(message, guard=SeenSignature(jti=nonce[:255]), then=then)
    except GuardExists:
        raise WebhookValidationError("signature was already used (replay)") from None


# --- delivery ----------------------------------------------------------------------------


def _delivery_settings() -> dict:
    return settings.MASKED_NUMBERS_DELIVERY


def backoff_seconds(*, attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff after the n-th failed attempt, honouring Retry-After."""
    conf = _delivery_settings()
    delay = min(
        conf["BACKOFF_MAX_SECONDS"], conf["BACKOFF_BASE_SECONDS"] * 2 ** max(0, attempts - 1)
    )
    if retry_after is not None:
        delay = max(delay, min(retry_after, conf["BACKOFF_MAX_SECONDS"]))
    return delay


def delivery_enqueue(*, message_id: int, run_after: datetime | None = None) -> None:
    """Hand a message to the task queue. Enqueueing twice is harmless: delivery claims it."""
    from django.tasks import task_backends

    from .tasks import deliver_message

    task = deliver_message
    if run_after is not None:
        if not task_backends[task.backend].supports_defer:
            # In-process backends cannot wait: the outbox sweep picks the message up.
            return
        task = task.using(run_after=run_after)
    task.enqueue(message_id)


def message_deliver(*, message_id: int) -> str:
    """One delivery attempt of a queued outbound SMS. Returns the resulting status."""
    claimed = time.monotonic()
    message = _delivery_claim(message_id=message_id)
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
        transient = isinstance(err, ProviderNotConfigured) or err.transient
        return _delivery_failed(
            message,
            error=getattr(err, "summary", str(err)),
            detail=getattr(err, "detail", ""),
            transient=transient,
            retry_after=getattr(err, "retry_after", None),
        )
    except Exception as err:
        # A vendor answer we could not read, a bug in a backend: keep the message, retry.
        logger.exception("SMS %s: unexpected error while sending", message.pk)
        return _delivery_failed(
            message,
            error=f"unexpected error: {type(err).__name__}",
            detail="",
            transient=True,
            retry_after=None,
        )
    _delivery_sent(message_id=message.pk, vendor_id=sent.vendor_id[:128], claimed=claimed)
    return Status.SENT


_CLAIM_SQL = """
    UPDATE {message} SET status = %s, attempts = attempts + 1, next_attempt_at = %s,
        updated_at = %s
    WHERE id = %s AND direction = %s AND status = %s
    RETURNING id, provider, sender, recipient, body, attempts
"""


def _delivery_claim(*, message_id: int) -> Message | None:
    """Move a queued outbound SMS to `sending` under a lease; None if it was not queued.

    Claimed by one worker only: the status moves in one conditional UPDATE, which also
    returns what the send needs (one statement, where an update and a get are two).
    Written as SQL, as the sent update below: Django has no UPDATE … RETURNING, and
    these run for every text (see providers/db.py on the cost of building them).
    """
    now = timezone.now()
    lease = timedelta(seconds=_delivery_settings()["SENDING_LEASE_SECONDS"])
    ops = connection.ops
    sql = _statement(_CLAIM_SQL, connection.alias)
    params = [
        Status.SENDING,
        ops.adapt_datetimefield_value(now + lease),
        ops.adapt_datetimefield_value(now),
        message_id,
        Direction.OUTBOUND,
        Status.QUEUED,
    ]
    return fetch_instance(Message, sql, params, alias=connection.alias)


# From `queued` too: where the sweep took back a lapsed lease while the vendor's
# acceptance could not be written (the database was down), the record still stops the
# second send, unless another worker has claimed the message meanwhile.
_SENT_SQL = """
    UPDATE {message} SET status = %s, vendor_id = %s, sent_at = %s, next_attempt_at = NULL,
        last_error = '', updated_at = %s
    WHERE id = %s AND status IN (%s, %s)
"""

# Pauses between tries to record a send while the database is unreachable.
SENT_RECORD_FIRST_PAUSE, SENT_RECORD_MAX_PAUSE = 0.1, 1.0


def _delivery_sent(*, message_id: int, vendor_id: str, claimed: float) -> None:
    """Record the vendor's acceptance of a message claimed at `claimed` (monotonic).

    The vendor has the message from here on. Were this record lost to a database outage,
    the message would stay in `sending` and the sweep would send it again once its lease
    lapsed, so a lost connection is tried again, on a new connection, until the lease
    has run twice its length (short pauses: the first try after the database is back
    should come before the sweep and another worker's claim). After that the error is
    raised, and the sweep sends the message again: at least once, never lost. Inside a
    transaction (a connection that cannot be replaced) the error is raised at once.
    """
    pause = SENT_RECORD_FIRST_PAUSE
    while True:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        params = [Status.SENT, vendor_id, now, now, message_id, Status.SENDING, Status.QUEUED]
        try:
            with connection.cursor() as cursor:
                cursor.execute(_statement(_SENT_SQL, connection.alias), params)
            return
        except (OperationalError, InterfaceError) as err:
            # Read only on a failure: every delivered text passes here.
            lease = _delivery_settings()["SENDING_LEASE_SECONDS"]
            left = claimed + 2 * lease - time.monotonic()
            if connection.in_atomic_block or left <= 0:
                raise
            logger.warning(
                "SMS %s accepted by the vendor; recording it failed (%s), trying again",
                message_id,
                type(err).__name__,
            )
            connection.close()
            time.sleep(min(pause, left))
            pause = min(pause * 2, SENT_RECORD_MAX_PAUSE)


def _delivery_failed(
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
        delivery_enqueue(message_id=message.pk, run_after=at)
        return Status.QUEUED
    Message.objects.filter(pk=message.pk, status=Status.SENDING).update(
        status=Status.FAILED, next_attempt_at=None, last_error=stored[:1000], updated_at=now
    )
    logger.error(
        "SMS %s to %s failed after %d attempts: %s",
        message.pk,
        mask(message.recipient),
        message.attempts,
        redact(error),
    )
    return Status.FAILED


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
        delivery_enqueue(message_id=message_id)
    return len(due)


def message_resend(*, message: Message) -> bool:
    """Queue a failed outbound SMS again (staff action). False if it was not failed."""
    updated = Message.objects.filter(
        pk=message.pk, direction=Direction.OUTBOUND, status=Status.FAILED
    ).update(
        status=Status.QUEUED, attempts=0, next_attempt_at=timezone.now(), updated_at=timezone.now()
    )
    if updated:
        transaction.on_commit(lambda: delivery_enqueue(message_id=message.pk))
    return bool(updated)


def proxy_number_clean(
    *, number: str, provider: str, sms: bool, voice: bool, exclude_pk: int | None = None
) -> str:
    """Check a pool number's settings; return the number in E.164.

    Raises ValidationError with the reason per field: not a number, already in the pool,
    provider not configured, a number its provider does not serve, or a capability the
    provider's numbers do not have here.
    """
    try:
        e164 = to_e164(number)
    except InvalidPhoneNumber as err:
        raise ValidationError(
            {"number": f"{str(number)[:40]!r} is not a valid phone number."}
        ) from err
    if provider not in settings.MASKED_NUMBERS_PROVIDERS:
        configured = ", ".join(settings.MASKED_NUMBERS_PROVIDERS) or "none"
        raise ValidationError(
            {"provider": f"provider {provider!r} is not configured (configured: {configured})."}
        )
    if problems := get_provider(provider).number_problems(number=e164, sms=sms, voice=voice):
        raise ValidationError(problems)
    if ProxyNumber.objects.filter(number=e164).exclude(pk=exclude_pk).exists():
        raise _already_in_pool(e164)
    return e164


def _already_in_pool(e164: str) -> ValidationError:
    return ValidationError({"number": f"{e164} is already in the pool."})


def proxy_number_create(
    *, number: str, provider: str, service: str, sms: bool = True, voice: bool = False
) -> ProxyNumber:
    """Add a rented number to the pool (see proxy_number_clean for what is refused)."""
    e164 = proxy_number_clean(number=number, provider=provider, sms=sms, voice=voice)
    try:
        with transaction.atomic():
            return ProxyNumber.objects.create(
                number=e164,
                provider=provider,
                service=service,
                sms=sms,
                voice=voice,
                country=country_of(e164),
            )
    except IntegrityError as err:
        # Another request added the same number between the check and the insert.
        raise _already_in_pool(e164) from err


def proxy_number_retire(*, proxy: ProxyNumber) -> bool:
    """Take a number out of the pool; its history stays. False if it was retired already."""
    now = timezone.now()
    retired = ProxyNumber.objects.filter(pk=proxy.pk, active=True).update(
        active=False, retired_at=now
    )
    if retired:
        proxy.active, proxy.retired_at = False, now
        pool_changed()  # an update, not a save: no signal empties the cache
    return bool(retired)


def delivery_tasks_prune(*, now: datetime | None = None, batch: int = 10_000) -> int:
    """Delete finished delivery task rows older than the configured age; returns how many.

    One row per delivery attempt would otherwise pile up for ever. The message log
    keeps what matters (status, attempts, last error); the task row is only the queue's
    bookkeeping. At most `batch` rows per call, so a sweep never holds a long lock.
    """
    from django_tasks_db.models import DBTaskResult

    if not _tasks_in_this_database():
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


def seen_signatures_prune(*, now: datetime | None = None) -> int:
    """Forget signature ids older than the replay window (their JWTs expired long ago)."""
    cutoff = (now or timezone.now()) - timedelta(
        seconds=settings.MASKED_NUMBERS_REPLAY_WINDOW_SECONDS
    )
    deleted, _ = SeenSignature.objects.filter(seen_at__lt=cutoff).delete()
    return deleted
