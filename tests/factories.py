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


# --- conversations -----------------------------------------------------------------------

_conversations_people = itertools.count(1000)


def conversations_person() -> str:
    """A fresh E.164 number for a person (never a pool number)."""
    return f"+1312555{next(_conversations_people):04d}"


def conversations_number(*, provider: str = "console", **kwargs) -> ProxyNumber:
    return proxy_number(provider=provider, service=Service.CONVERSATIONS, **kwargs)


def conversation(
    *,
    proxy: ProxyNumber | None = None,
    starter: str | None = None,
    joiner: str | None = None,
    code: str | None = None,
):
    """A conversation as the protocol leaves it: pending, or active when it has a joiner."""
    from django.utils import timezone

    from conversations import conf
    from conversations.codes import code_generate
    from conversations.models import Conversation, Participant, Role, State

    proxy = proxy or conversations_number()
    now = timezone.now()
    item = Conversation.objects.create(
        proxy=proxy,
        code=code or code_generate(),
        state=State.ACTIVE if joiner else State.PENDING,
        joined_at=now if joiner else None,
        expires_at=now + (conf.idle_timeout() if joiner else conf.code_ttl()),
    )
    Participant.objects.create(
        conversation=item, proxy=proxy, phone=starter or conversations_person(), role=Role.STARTER
    )
    if joiner:
        Participant.objects.create(conversation=item, proxy=proxy, phone=joiner, role=Role.JOINER)
    return item


def staff_with(*permissions: str, username: str = "ops"):
    """A staff user holding exactly these permissions ("app_label.codename")."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(username, password="ops-password-123")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user
