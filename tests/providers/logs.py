"""Rows of the message log, written directly for tests that start from a given state."""

from __future__ import annotations

from typing import Any

from providers.models import Direction, Message, ProxyNumber, Status


def outbound_row(proxy: ProxyNumber, **fields: Any) -> Message:
    """An outbound SMS from `proxy`; `fields` set its status, attempts, ..."""
    defaults = {
        "direction": Direction.OUTBOUND,
        "provider": proxy.provider,
        "proxy": proxy,
        "sender": proxy.number,
        "recipient": "+14155550199",
        "body": "your ride is here",
        "status": Status.QUEUED,
    }
    return Message.objects.create(**{**defaults, **fields})
