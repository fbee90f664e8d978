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


# --- rides ---------------------------------------------------------------------------

_people = itertools.count(1)


def customer(*, name: str | None = None, phone: str | None = None):
    from rides.models import Customer

    n = next(_people)
    return Customer.objects.create(name=name or f"Customer {n}", phone=phone or f"+1415555{n:04d}")


def driver(*, name: str | None = None, phone: str | None = None):
    from rides.models import Driver

    n = next(_people)
    return Driver.objects.create(name=name or f"Driver {n}", phone=phone or f"+1650555{n:04d}")


def ride(*, customer=None, driver=None, proxy=None, pickup_at=None, notify: bool = False, **kwargs):
    """A ride through the service (allocation included), or on `proxy` when given."""
    from datetime import timedelta

    from django.utils import timezone

    from rides.conf import masking_window
    from rides.models import Ride
    from rides.services import ride_create
    from tests import factories

    customer = customer or factories.customer()
    driver = driver or factories.driver()
    pickup_at = pickup_at or timezone.now() + timedelta(hours=1)
    if proxy is not None:
        return Ride.objects.create(
            customer=customer,
            driver=driver,
            proxy=proxy,
            start=kwargs.get("start", "Central Station"),
            destination=kwargs.get("destination", "Airport"),
            pickup_at=pickup_at,
            masking_ends_at=pickup_at + masking_window(),
        )
    return ride_create(
        customer=customer,
        driver=driver,
        start=kwargs.get("start", "Central Station"),
        destination=kwargs.get("destination", "Airport"),
        pickup_at=pickup_at,
        now=kwargs.get("now"),
        notify=notify,
    )
