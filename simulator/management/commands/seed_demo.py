from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from providers.models import ProxyNumber
from rides.models import Customer, Driver, Ride
from rides.selectors import rides_open
from rides.services import PoolExhausted, customer_upsert, driver_upsert, ride_create

from ...demo import DEMO_CUSTOMERS, DEMO_DRIVERS, DEMO_NUMBERS, SAMPLE_RIDE

DEMO_USERNAME = "demo"


def password_file() -> Path:
    """Where the generated demo password waits to be shown (git-ignored)."""
    default = Path(settings.BASE_DIR) / ".demo-password"
    return Path(os.environ.get("MASKED_NUMBERS_DEMO_PASSWORD_FILE") or default)


class Command(BaseCommand):
    help = "Create the demo data (idempotent): console numbers, people, a ride, a staff login."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        for number, service, voice in DEMO_NUMBERS:
            ProxyNumber.objects.get_or_create(
                number=number,
                defaults={
                    "provider": "console",
                    "service": service,
                    "sms": True,
                    "voice": voice,
                    "country": "US",
                },
            )
        customers = [customer_upsert(name=name, phone=phone) for name, phone in DEMO_CUSTOMERS]
        drivers = [driver_upsert(name=name, phone=phone) for name, phone in DEMO_DRIVERS]
        ride = self._sample_ride(customer=customers[0], driver=drivers[0])
        self._superuser()
        if ride is not None:
            self.stdout.write(
                f"Sample ride {ride.pk}: {ride.customer} and {ride.driver} on "
                f"{ride.proxy.number}, both texted from it."
            )
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    def _sample_ride(self, *, customer: Customer, driver: Driver) -> Ride | None:
        """A ride between the first demo customer and driver, unless one is still open."""
        if rides_open().filter(customer=customer, driver=driver).exists():
            return None
        try:
            return ride_create(
                customer=customer,
                driver=driver,
                start=SAMPLE_RIDE.start,
                destination=SAMPLE_RIDE.destination,
                pickup_at=timezone.now() + SAMPLE_RIDE.pickup_in,
            )
        except PoolExhausted as err:
            # Someone retired the demo numbers: the rest of the demo still works.
            self.stderr.write(f"No sample ride: {err}")
            return None

    def _superuser(self) -> None:
        User = get_user_model()  # noqa: N806
        user = User.objects.filter(username=DEMO_USERNAME).first()
        wanted = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if user is not None and not wanted:
            return
        password = wanted or secrets.token_urlsafe(12)
        if user is None:
            user = User.objects.create_superuser(DEMO_USERNAME, email="", password=password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        path = password_file()
        if wanted:
            path.unlink(missing_ok=True)
        else:
            # Printed by `make run` (demo_login) until the password is changed; readable
            # by its owner only, before the password is in it.
            path.touch()
            path.chmod(0o600)
            path.write_text(password)
