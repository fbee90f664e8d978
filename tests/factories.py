"""Test data builders (plain functions: the models are small)."""

from __future__ import annotations

import itertools

from providers.models import ProxyNumber, Service

_numbers = itertools.count(100)


def proxy_number(
    *,
    number: str | None = None,
    provider: str = "console",
    service: str = Service.RIDES,
    sms: bool = True,
    voice: bool = True,
    country: str = "US",
    active: bool = True,
) -> ProxyNumber:
    return ProxyNumber.objects.create(
        number=number or f"+1206555{next(_numbers):04d}",
        provider=provider,
        service=service,
        sms=sms,
        voice=voice,
        country=country,
        active=active,
    )
