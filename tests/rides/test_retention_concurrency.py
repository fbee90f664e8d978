"""Retention against a booking made at the same moment, each on its own connection."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from providers.retention import retention_sweep
from rides.models import Customer, Ride, RideStatus
from tests import factories

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite runs one writer at a time, so nothing runs in parallel",
    ),
]

CUSTOMER = "+14155550123"


def sweep_waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Within a transaction the activity view is read once unless told to read again.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def test_a_customer_booked_while_the_sweep_runs_keeps_their_number():
    customer = factories.customer(name="Alice", phone=CUSTOMER)
    old = factories.ride(customer=customer, proxy=factories.proxy_number())
    long_ago = timezone.now() - timedelta(days=40)
    Ride.objects.filter(pk=old.pk).update(status=RideStatus.EXPIRED, masking_ends_at=long_ago)
    swept: list[dict] = []

    def sweep() -> None:
        try:
            swept.append(retention_sweep())
        finally:
            connections.close_all()

    with transaction.atomic():
        # What a booking does: lock the person, then add their ride.
        Customer.objects.select_for_update().get(pk=customer.pk)
        factories.ride(customer=customer, proxy=factories.proxy_number())
        sweeper = threading.Thread(target=sweep)
        sweeper.start()
        for _ in range(1000):  # until the sweep waits for the booking's lock
            if sweep_waiting_on_a_lock():
                break
            time.sleep(0.01)
        assert sweep_waiting_on_a_lock()
    sweeper.join(timeout=60)

    customer.refresh_from_db()
    assert (customer.name, customer.phone) == ("Alice", CUSTOMER)
    assert swept and swept[0]["rides"] == 1 and swept[0]["customers"] == 0
    assert Ride.objects.get(pk=old.pk).erased_at is not None
