"""Delivery: what became of an outbound SMS after the vendor accepted it.

Our statuses, whatever the vendor: `queued` and `sending` (ours, in the outbox),
`sent` (the vendor accepted it), then `delivered`, `undelivered` (the network says it
did not reach the phone) or `failed` (it could not be sent). Receipts arrive late,
twice and out of order, so a message only ever moves forward: a report of a lower or
equal rank changes nothing and is kept in the history all the same. Of the final
statuses only `delivered` can still follow another: a handset's confirmation is proof
it arrived, and Flowroute's level 2 report or a carrier's late receipt can come after
a failure report. `undelivered` and `failed` never replace each other: the first
stands.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Case, DateTimeField, F, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from .events import message_status_emit
from .models import Direction, Message, MessageStatusChange, Status
from .phone import redact

logger = logging.getLogger(__name__)

RANK: dict[str, int] = {
    Status.QUEUED: 0,
    Status.SENDING: 1,
    Status.SENT: 2,
    Status.UNDELIVERED: 3,
    Status.FAILED: 3,
    Status.DELIVERED: 4,
}
FAILURES = (Status.UNDELIVERED, Status.FAILED)


def message_status_record(
    *,
    message_id: int,
    status: str,
    vendor_status: str = "",
    error_code: str = "",
    error_description: str = "",
    at: datetime | None = None,
    vendor_id: str = "",
    only_from: Iterable[str] = (),
    last_error: str | None = None,
) -> bool:
    """Move an outbound SMS forward to `status` and write the report in its history.

    The one place a message's delivery status changes after sending (receipts, the
    outbox giving up). One conditional UPDATE decides, so of two reports racing for
    one message only one can move it. `only_from` narrows the statuses it may leave
    (the outbox fails only what it is sending). `vendor_id` fills in the vendor's id
    when a receipt came before the send was recorded. Returns whether it moved.
    """
    now = timezone.now()
    at = at or now
    lower = [s for s, rank in RANK.items() if rank < RANK[status]]
    if only_from:
        lower = [s for s in lower if s in set(only_from)]
    failed = status in FAILURES
    updates: dict[str, Any] = {
        "status": status,
        "vendor_status": vendor_status[:40],
        "error_code": error_code[:64] if failed else "",
        "error_description": error_description[:1000] if failed else "",
        "next_attempt_at": None,
        "updated_at": now,
    }
    if last_error is not None:
        updates["last_error"] = last_error[:1000]
    if status == Status.DELIVERED:
        updates["delivered_at"] = at
    if status != Status.FAILED:
        updates["sent_at"] = Coalesce("sent_at", Value(at, output_field=DateTimeField()))
    if vendor_id:
        updates["vendor_id"] = Case(
            When(vendor_id="", then=Value(vendor_id[:128])), default=F("vendor_id")
        )
    with transaction.atomic():
        moved = (
            Message.objects.filter(pk=message_id, direction=Direction.OUTBOUND, status__in=lower)
            .order_by()
            .update(**updates)
        )
        MessageStatusChange.objects.create(
            message_id=message_id,
            status=status,
            vendor_status=vendor_status[:40],
            error_code=error_code[:64],
            error_description=error_description[:1000],
            at=at,
            received_at=now,
            applied=bool(moved),
        )
        if moved and status in (Status.DELIVERED, *FAILURES):
            error = ": ".join(part for part in (error_code, error_description) if part)
            message_status_emit(message_id=message_id, status=status, error=error)
    logger.log(
        logging.WARNING if moved and failed else logging.INFO,
        "SMS %s: %s (%s)%s",
        message_id,
        status,
        redact(vendor_status) or "-",
        "" if moved else ", no change",
    )
    return bool(moved)
