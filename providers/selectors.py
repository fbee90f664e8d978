"""Reads of the telephony layer."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db.models import QuerySet

from .models import Direction, Message, ProxyNumber
from .registry import get_router


def proxy_open_sessions(*, proxies: list[ProxyNumber]) -> dict[int, int]:
    """Open sessions per proxy number id, asked of each number's service router."""
    by_service: dict[str, list[int]] = defaultdict(list)
    for proxy in proxies:
        by_service[proxy.service].append(proxy.pk)
    counts: dict[int, int] = {}
    for service, ids in by_service.items():
        counts.update(get_router(service).open_sessions(proxy_ids=ids))
    return counts


def is_pool_number(*, number: str) -> bool:
    """Whether this E.164 number is (or was) one of the pool's own."""
    return ProxyNumber.objects.filter(number=number).exists()


def messages_for_session(*, session: str) -> QuerySet[Message]:
    """The log of one ride or conversation, oldest first."""
    return (
        Message.objects.filter(session=session).select_related("proxy").order_by("created_at", "id")
    )


def reply_sent_since(*, proxy: ProxyNumber, recipient: str, outcome: str, since: datetime) -> bool:
    """Whether this number texted this person a reply of this kind after `since`.

    Services use it to answer unsolicited texts once per window, so an auto-responder
    on the other end cannot keep texting back and forth with the number.
    """
    return Message.objects.filter(
        proxy=proxy,
        direction=Direction.OUTBOUND,
        recipient=recipient,
        outcome=outcome,
        created_at__gt=since,
    ).exists()


def message_for_receipt(*, provider: str, reference: str, vendor_id: str) -> int | None:
    """The id of the outbound SMS a delivery receipt reports on: by our reference (the
    message's id) where the vendor echoed it, else by the vendor's message id."""
    # Unordered: the log's default order would lead the planner away from the indexes.
    outbound = Message.objects.filter(provider=provider, direction=Direction.OUTBOUND).order_by()
    found: list[int] = []
    if reference.isdigit() and len(reference) < 19:
        found = list(outbound.filter(pk=int(reference)).values_list("pk", flat=True))
    if not found and vendor_id:
        found = list(outbound.filter(vendor_id=vendor_id).values_list("pk", flat=True)[:1])
    return found[0] if found else None
