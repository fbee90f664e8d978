"""Reads of the rides service. Every lookup here goes through an index that covers
open rides or one person's rides, never through the whole ride history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections
from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.utils import timezone

from providers.models import Message, ProxyNumber, Service
from providers.phone import country_of
from providers.registry import provider_aliases
from providers.selectors import messages_for_session

from .models import Customer, Driver, Ride, RideStatus, ride_session

UNKNOWN_SENDER = "unknown_sender"


def rides_open(*, now: datetime | None = None) -> QuerySet[Ride]:
    return Ride.objects.filter(status=RideStatus.OPEN, masking_ends_at__gt=now or timezone.now())


@dataclass(frozen=True)
class RideRoute:
    """What routing needs of the sender's open ride: its id and both phones."""

    ride_id: int
    customer_phone: str
    driver_phone: str

    @property
    def session(self) -> str:
        return ride_session(self.ride_id)

    def other_party_phone(self, sender: str) -> str:
        """The number a message from `sender` goes to: the other person of the ride."""
        return self.driver_phone if sender == self.customer_phone else self.customer_phone


# Written as SQL, once per role, so that PostgreSQL keeps one generic plan of the
# prepared statement (unique indexes all the way: the person by phone, their open ride
# on this number by `ride_open_customer_proxy` / `ride_open_driver_proxy`, whose
# condition the literal status matches) instead of planning it for every text and call.
# Beside the ORM query it halves a call's instructions and PostgreSQL CPU.
RIDE_FOR_INBOUND_SQL = """
    SELECT r.id, c.phone, d.phone FROM rides_ride r
    JOIN rides_customer c ON c.id = r.customer_id JOIN rides_driver d ON d.id = r.driver_id
    WHERE c.phone = %(sender)s AND r.proxy_id = %(proxy)s
      AND r.status = 'open' AND r.masking_ends_at > %(now)s
    UNION ALL
    SELECT r.id, c.phone, d.phone FROM rides_ride r
    JOIN rides_customer c ON c.id = r.customer_id JOIN rides_driver d ON d.id = r.driver_id
    WHERE d.phone = %(sender)s AND r.proxy_id = %(proxy)s
      AND r.status = 'open' AND r.masking_ends_at > %(now)s
    LIMIT 1
"""


def ride_for_inbound(
    *, proxy: ProxyNumber, sender: str, now: datetime | None = None
) -> RideRoute | None:
    """The open ride on this number that `sender` (E.164) belongs to, if any, in either
    role. Allocation guarantees at most one per number and phone."""
    connection = connections[Ride.objects.db]
    params: dict[str, Any] = {
        "sender": sender,
        "proxy": proxy.pk,
        "now": connection.ops.adapt_datetimefield_value(now or timezone.now()),
    }
    with connection.cursor() as cursor:
        cursor.execute(RIDE_FOR_INBOUND_SQL, params)
        row = cursor.fetchone()
    return RideRoute(*row) if row else None


def ride_open_counts(*, proxy_ids: list[int], now: datetime | None = None) -> dict[int, int]:
    counts = dict.fromkeys(proxy_ids, 0)
    rows = (
        rides_open(now=now)
        .filter(proxy_id__in=proxy_ids)
        .order_by()
        .values("proxy_id")
        .annotate(n=Count("id"))
    )
    counts.update({row["proxy_id"]: row["n"] for row in rows})
    return counts


def party_ids_by_phone(*, phones: set[str]) -> tuple[list[int], list[int]]:
    """Customer ids and driver ids with these phones: one person may hold both roles."""
    return (
        list(Customer.objects.filter(phone__in=phones).values_list("pk", flat=True)),
        list(Driver.objects.filter(phone__in=phones).values_list("pk", flat=True)),
    )


def proxies_busy_for(
    *, customer_ids: list[int], driver_ids: list[int], now: datetime | None = None
) -> set[int]:
    """Numbers on which any of these people (in either role) has an open ride."""
    open_rides = rides_open(now=now).order_by()
    busy = set(open_rides.filter(customer_id__in=customer_ids).values_list("proxy_id", flat=True))
    busy |= set(open_rides.filter(driver_id__in=driver_ids).values_list("proxy_id", flat=True))
    return busy


def proxies_for_rides() -> QuerySet[ProxyNumber]:
    """Numbers that can carry a ride: in the rides pool, active, SMS, provider configured."""
    return ProxyNumber.objects.filter(
        service=Service.RIDES, active=True, sms=True, provider__in=provider_aliases()
    )


def proxies_in_preference_order(
    *, candidates: QuerySet[ProxyNumber], customer: Customer, driver: Driver
) -> QuerySet[ProxyNumber]:
    """Voice first, then the riders' country, then a stable order (first fit).

    Taking the first free number of a fixed order packs each person's rides onto the
    lowest numbers, so the pool needed stays close to the most rides any one person
    has open at once.
    """
    countries = [c for c in (country_of(customer.phone), country_of(driver.phone)) if c]
    local = Case(
        When(country__in=countries, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return candidates.annotate(_local=local).order_by("-voice", "_local", "id")


def ride_messages(*, ride: Ride) -> QuerySet[Message]:
    """The ride's notifications, relayed texts and calls, oldest first."""
    return messages_for_session(session=ride.session)


def ride_list(*, status: str | None = None) -> QuerySet[Ride]:
    rides = Ride.objects.select_related("customer", "driver", "proxy")
    if status == RideStatus.OPEN:
        return rides.filter(status=RideStatus.OPEN, masking_ends_at__gt=timezone.now())
    if status == RideStatus.EXPIRED:
        return rides.filter(status=RideStatus.OPEN, masking_ends_at__lte=timezone.now()) | (
            rides.filter(status=RideStatus.EXPIRED)
        )
    if status:
        return rides.filter(status=status)
    return rides
