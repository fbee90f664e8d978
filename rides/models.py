from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from providers.exceptions import InvalidPhoneNumber
from providers.models import ProxyNumber, Service
from providers.phone import costly_number, to_e164
from providers.selectors import is_pool_number


def party_phone(raw: object) -> str:
    """A person's own number in E.164, or ValidationError: not a number, a number that
    costs the sender (premium-rate, shared-cost, international networks), or one of
    the pool's (texts would loop through the service)."""
    try:
        phone = to_e164(raw)
    except InvalidPhoneNumber as err:
        raise ValidationError(f"Not a valid phone number ({err}).") from err
    costly = costly_number(phone)
    if costly:
        raise ValidationError(f"{phone} is {costly}, not a person's phone.")
    if is_pool_number(number=phone):
        raise ValidationError(f"{phone} is a number of the pool, not a person's phone.")
    return phone


class Party(models.Model):
    """Someone who rides or drives, known by their own phone number (E.164, unique)."""

    name = models.CharField(max_length=100)
    phone = models.CharField(
        max_length=20, unique=True, help_text="Their own number, e.g. +14155550123"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        abstract = True
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # Staff type numbers in any format; stored (and compared) in E.164 only.
        try:
            self.phone = party_phone(self.phone)
        except ValidationError as err:
            raise ValidationError({"phone": err.messages}) from err


class Customer(Party):
    pass


class Driver(Party):
    pass


class RideStatus(models.TextChoices):
    """A ride's state, in the same words in the admin and the API: open (its number
    relays), expired (the masking window after pickup has passed), closed (masking was
    ended early by staff or the API)."""

    OPEN = "open", "Open"
    EXPIRED = "expired", "Expired"
    CLOSED = "closed", "Closed"


OPEN = Q(status=RideStatus.OPEN)


def ride_session(ride_id: int) -> str:
    """The session name of a ride in the message log."""
    return f"ride:{ride_id}"


class Ride(models.Model):
    """A customer and a driver who reach each other through one proxy number.

    The ride is open (its number relays) while its status is `open` and
    `masking_ends_at` lies ahead. Rides whose window has passed are marked `expired`
    lazily: when one of their people gets a new ride, and by the `rides_expire` sweep.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="rides")
    driver = models.ForeignKey(Driver, on_delete=models.PROTECT, related_name="rides")
    start = models.CharField(max_length=255)
    destination = models.CharField(max_length=255)
    pickup_at = models.DateTimeField("pickup time")
    proxy = models.ForeignKey(
        ProxyNumber,
        on_delete=models.PROTECT,
        related_name="rides",
        limit_choices_to={"service": Service.RIDES},
        verbose_name="proxy number",
    )
    status = models.CharField(max_length=10, choices=RideStatus.choices, default=RideStatus.OPEN)
    masking_ends_at = models.DateTimeField("masking ends")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When retention erased its addresses, and its people's numbers and names unless
    # they had a later ride (rides/retention.py).
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Routing picks the ride by (number, sender): one open ride per person and
            # number, whatever the application code does.
            models.UniqueConstraint(
                fields=["customer", "proxy"], condition=OPEN, name="ride_open_customer_proxy"
            ),
            models.UniqueConstraint(
                fields=["driver", "proxy"], condition=OPEN, name="ride_open_driver_proxy"
            ),
        ]
        indexes = [
            # Open sessions per number (admin), and the sweep of rides past their window:
            # both stay small however long the ride history grows.
            models.Index(
                fields=["proxy", "masking_ends_at"], condition=OPEN, name="ride_open_proxy"
            ),
            models.Index(fields=["masking_ends_at"], condition=OPEN, name="ride_open_due"),
            # Retention reads ended rides not yet erased: the backlog, not the history.
            models.Index(
                fields=["masking_ends_at"], condition=Q(erased_at=None), name="ride_unerased"
            ),
        ]

    def __str__(self) -> str:
        return f"Ride {self.pk}: {self.customer} with {self.driver}"

    @property
    def session(self) -> str:
        return ride_session(self.pk)

    def current_status(self, now: datetime | None = None) -> str:
        """The status as of now: an `open` ride whose window has passed is expired."""
        now = now or timezone.now()
        if self.status == RideStatus.OPEN and self.masking_ends_at <= now:
            return RideStatus.EXPIRED
        return self.status
