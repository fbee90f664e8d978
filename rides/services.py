"""Writes of the rides service: people, rides, number allocation, notifications."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from providers.events import event_emit, event_number, event_time, events_enabled
from providers.models import Direction, ProxyNumber, Status
from providers.outbox import message_queue, message_resend
from providers.phone import mask

from .conf import masking_window
from .models import Customer, Driver, Ride, RideStatus, party_phone
from .selectors import (
    proxies_busy_for,
    proxies_for_rides,
    proxies_in_preference_order,
    ride_messages,
)

logger = logging.getLogger(__name__)

NOTIFICATION = "ride_notification"
# A number held for a ride further ahead than this is a typo, not a booking.
MAX_ADVANCE = timedelta(days=366)


class PoolExhausted(Exception):
    """No number of the rides pool can carry this ride.

    `reason` is `no_numbers` (nothing in the pool can carry a ride at all) or `in_use`
    (every suitable number already carries an open ride of the customer or driver).
    It rolls back the booking's transaction; whoever answers the booking with it calls
    `pool_exhausted_report` after that, so the platform hears of it.
    """

    code = "pool_exhausted"

    def __init__(self, message: str, *, reason: str, phones: tuple[str, str] = ("", "")) -> None:
        super().__init__(message)
        self.reason = reason
        self.phones = phones  # the customer's and the driver's


def pool_exhausted_report(*, error: PoolExhausted) -> None:
    """Tell the platform that a ride could not be booked for want of a number
    (`pool.exhausted`); outside the transaction that the refusal rolled back."""
    customer, driver = error.phones
    event_emit(
        "pool.exhausted",
        {
            "service": "rides",
            "reason": error.reason,
            "customer": event_number(customer),
            "driver": event_number(driver),
        },
    )


# --- people ------------------------------------------------------------------------


def _party_upsert[P: (Customer, Driver)](model: type[P], *, name: str, phone: str) -> P:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A name is needed: it is how the other party knows them."})
    try:
        phone = party_phone(phone)
    except ValidationError as err:
        raise ValidationError({"phone": err.messages}) from err
    party, created = model.objects.get_or_create(phone=phone, defaults={"name": name})
    if not created and party.name != name:
        # The platform that books the ride knows the current name; texts use it.
        party.name = name
        party.save(update_fields=["name"])
    return party


def customer_upsert(*, name: str, phone: str) -> Customer:
    """The customer with this phone (any format; stored E.164), created if new."""
    return _party_upsert(Customer, name=name, phone=phone)


def driver_upsert(*, name: str, phone: str) -> Driver:
    """The driver with this phone (any format; stored E.164), created if new."""
    return _party_upsert(Driver, name=name, phone=phone)


def _lock_people(*, phones: set[str]) -> tuple[list[int], list[int]]:
    """Lock every customer and driver row with these phones until the transaction ends.

    Always customers before drivers, each by id, so two transactions never wait on each
    other in a circle. Both roles are locked because one person may be a customer on
    one ride and a driver on another: their texts to a number must still pick one ride.
    """
    customers = Customer.objects.select_for_update().filter(phone__in=phones).order_by("pk")
    drivers = Driver.objects.select_for_update().filter(phone__in=phones).order_by("pk")
    return list(customers.values_list("pk", flat=True)), list(drivers.values_list("pk", flat=True))


# --- allocation ----------------------------------------------------------------------


def rides_expire(
    *,
    now: datetime | None = None,
    customer_ids: list[int] | None = None,
    driver_ids: list[int] | None = None,
) -> int:
    """Mark open rides whose masking window has passed as expired; returns how many.

    With ids, only those people's rides (the lazy close before an allocation);
    without, all of them (the periodic `rides_expire` command).
    """
    now = now or timezone.now()
    due = Ride.objects.filter(status=RideStatus.OPEN, masking_ends_at__lte=now)
    if customer_ids is None and driver_ids is None:
        return _rides_expire(due, now=now)
    expired = _rides_expire(due.filter(customer_id__in=customer_ids or []), now=now)
    return expired + _rides_expire(due.filter(driver_id__in=driver_ids or []), now=now)


def _rides_expire(due: QuerySet[Ride], *, now: datetime) -> int:
    """Mark these rides expired; with events on, each one's `ride.ended` too (the rows
    locked first, so a ride two sweeps see is reported once)."""
    if not events_enabled():
        return due.update(status=RideStatus.EXPIRED, ended_at=now)
    with transaction.atomic():
        rides = list(
            due.select_for_update(of=("self",)).select_related("proxy", "customer", "driver")
        )
        Ride.objects.filter(pk__in=[ride.pk for ride in rides]).update(
            status=RideStatus.EXPIRED, ended_at=now
        )
        for ride in rides:
            _ride_ended_emit(ride, reason=RideStatus.EXPIRED, ended_at=now)
    return len(rides)


def _ride_ended_emit(ride: Ride, *, reason: str, ended_at: datetime) -> None:
    event_emit(
        "ride.ended",
        {
            "session": ride.session,
            "ride_id": ride.pk,
            "proxy_number": ride.proxy.number,
            "reason": reason,
            "ended_at": event_time(ended_at),
            "customer": event_number(ride.customer.phone),
            "driver": event_number(ride.driver.phone),
        },
    )


def proxy_allocate(
    *, customer: Customer, driver: Driver, now: datetime | None = None
) -> ProxyNumber:
    """The number a new ride of these two people should use, or PoolExhausted.

    A number may carry many open rides, but never two open rides of one person (in
    either role). Locks both people for the rest of the caller's transaction, so call
    it inside the transaction that creates the ride (ride_create does).
    """
    now = now or timezone.now()
    with transaction.atomic():
        customer_ids, driver_ids = _lock_people(phones={customer.phone, driver.phone})
        rides_expire(now=now, customer_ids=customer_ids, driver_ids=driver_ids)
        busy = proxies_busy_for(customer_ids=customer_ids, driver_ids=driver_ids, now=now)
        suitable = proxies_for_rides()
        choice = proxies_in_preference_order(
            candidates=suitable.exclude(pk__in=busy), customer=customer, driver=driver
        ).first()
        if choice is not None:
            return choice
        raise _exhausted(suitable=suitable.count(), customer=customer, driver=driver)


def _exhausted(*, suitable: int, customer: Customer, driver: Driver) -> PoolExhausted:
    if suitable == 0:
        logger.warning("rides pool exhausted: no usable rides number")
        return PoolExhausted(
            "No proxy number can be allocated: the pool has no active rides number that "
            "can send SMS through a configured provider. Add numbers to the pool "
            "(service Rides, SMS enabled).",
            reason="no_numbers",
            phones=(customer.phone, driver.phone),
        )
    logger.warning(
        "rides pool exhausted: all %d numbers in use by customer %s or driver %s",
        suitable,
        customer.pk,
        driver.pk,
    )
    return PoolExhausted(
        f"No proxy number can be allocated: every suitable rides number ({suitable}) is in "
        f"use by an open ride of {customer.name} or {driver.name}. Add numbers to the pool, "
        "or end one of their open rides.",
        reason="in_use",
        phones=(customer.phone, driver.phone),
    )


# --- rides ---------------------------------------------------------------------------


def pickup_time_text(pickup_at: datetime) -> str:
    """A pickup time as the parties read it, in the configured time zone."""
    local = timezone.localtime(pickup_at)
    return f"{local:%H:%M} {local.tzname()} on {local:%a} {local.day} {local:%b}"


def ride_validate(
    *,
    customer: Customer,
    driver: Driver,
    start: str,
    destination: str,
    pickup_at: datetime,
    now: datetime | None = None,
) -> None:
    """Raise ValidationError, by field, for a ride that cannot be created as given."""
    errors: dict[str, str] = {}
    if customer.phone == driver.phone:
        errors["driver"] = "The driver's phone is the customer's phone: they cannot be masked."
    if not start.strip():
        errors["start"] = "Where the ride starts is needed."
    if not destination.strip():
        errors["destination"] = "Where the ride goes is needed."
    now = now or timezone.now()
    if timezone.is_naive(pickup_at):
        errors["pickup_at"] = "The pickup time needs a time zone."
    elif pickup_at > now + MAX_ADVANCE:
        errors["pickup_at"] = "The pickup time is more than a year ahead."
    elif pickup_at + masking_window() <= now:
        errors["pickup_at"] = "The pickup time is so long ago that the masking window is over."
    if errors:
        raise ValidationError(errors)


def ride_create(
    *,
    customer: Customer,
    driver: Driver,
    start: str,
    destination: str,
    pickup_at: datetime,
    now: datetime | None = None,
    notify: bool = True,
) -> Ride:
    """Create a ride on a freshly allocated number and text both parties from it.

    Raises ValidationError (by field) for bad input and PoolExhausted when no number
    can be allocated; then nothing is created and nobody is texted. The texts are
    queued in the same transaction and sent once it commits.
    """
    now = now or timezone.now()
    ride_validate(
        customer=customer,
        driver=driver,
        start=start,
        destination=destination,
        pickup_at=pickup_at,
        now=now,
    )
    with transaction.atomic():
        proxy = proxy_allocate(customer=customer, driver=driver, now=now)
        ride = Ride.objects.create(
            customer=customer,
            driver=driver,
            start=start.strip(),
            destination=destination.strip(),
            pickup_at=pickup_at,
            proxy=proxy,
            masking_ends_at=pickup_at + masking_window(),
            created_at=now,
        )
        if notify:
            _notify(ride)
    logger.info("ride %s created on %s", ride.pk, mask(proxy.number))
    return ride


def _notify(ride: Ride) -> None:
    # Names only: neither party learns anything about the other but the name.
    when = pickup_time_text(ride.pickup_at)
    texts = (
        (
            ride.customer.phone,
            f"{ride.driver.name} will pick you up at {when}. "
            "Reply to this message to contact the driver.",
        ),
        (
            ride.driver.phone,
            f"{ride.customer.name} will wait for you at {when}. "
            "Reply to this message to contact the customer.",
        ),
    )
    for recipient, body in texts:
        message_queue(
            proxy=ride.proxy,
            recipient=recipient,
            body=body,
            session=ride.session,
            outcome=NOTIFICATION,
        )


def ride_book(
    *,
    customer_name: str,
    customer_phone: str,
    driver_name: str,
    driver_phone: str,
    start: str,
    destination: str,
    pickup_at: datetime,
    now: datetime | None = None,
) -> Ride:
    """ride_create for people given by name and phone (matched by phone, created if new).

    One transaction: when no number is free, no person is created either.
    """
    errors: dict[str, str] = {}
    phones: dict[str, str] = {}
    for role, raw in (("customer", customer_phone), ("driver", driver_phone)):
        try:
            phones[role] = party_phone(raw)
        except ValidationError as err:
            errors[f"{role}_phone"] = " ".join(err.messages)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # Lock the people who exist before touching their names: same order as allocation.
        _lock_people(phones=set(phones.values()))
        customer = customer_upsert(name=customer_name, phone=phones["customer"])
        driver = driver_upsert(name=driver_name, phone=phones["driver"])
        return ride_create(
            customer=customer,
            driver=driver,
            start=start,
            destination=destination,
            pickup_at=pickup_at,
            now=now,
        )


def ride_close(*, ride: Ride, now: datetime | None = None) -> bool:
    """End the ride's masking now: its number stops relaying for it. False if it had ended."""
    now = now or timezone.now()
    with transaction.atomic():
        still_open = Ride.objects.filter(pk=ride.pk, status=RideStatus.OPEN)
        expired = still_open.filter(masking_ends_at__lte=now).update(
            status=RideStatus.EXPIRED, ended_at=now
        )
        closed = still_open.update(status=RideStatus.CLOSED, ended_at=now, masking_ends_at=now)
        if (expired or closed) and events_enabled():
            reason = RideStatus.CLOSED if closed else RideStatus.EXPIRED
            _ride_ended_emit(ride, reason=reason, ended_at=now)
    ride.refresh_from_db()
    if closed:
        logger.info("ride %s: masking ended early", ride.pk)
    return bool(closed)


def ride_notifications_resend(*, ride: Ride) -> int:
    """Queue the ride's failed notification texts again; returns how many."""
    failed = ride_messages(ride=ride).filter(
        direction=Direction.OUTBOUND, status=Status.FAILED, outcome=NOTIFICATION
    )
    return sum(message_resend(message=message) for message in failed)
