"""Reads of the telephony layer."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import QuerySet

from .models import Message, ProxyNumber
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


def messages_for_session(*, session: str) -> QuerySet[Message]:
    """The log of one ride or conversation, oldest first."""
    return (
        Message.objects.filter(session=session).select_related("proxy").order_by("created_at", "id")
    )
