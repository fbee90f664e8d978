"""Allocation and routing stay indexed lookups however long the ride history grows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from providers.selectors import proxy_open_sessions
from rides.models import Customer, Driver
from rides.router import RidesRouter
from rides.services import ride_create
from tests import factories

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="reads PostgreSQL's EXPLAIN output"
    ),
]

HISTORY = 100_000
OPEN_NOW = 2_000


def fill_history(pool: list[int]) -> None:
    """A long past: many people, many rides, all over; a few rides still open."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO rides_customer (name, phone, created_at) "
            "SELECT 'C' || i, '+1415' || lpad(i::text, 7, '0'), now() "
            "FROM generate_series(1, 30000) AS i"
        )
        cursor.execute(
            "INSERT INTO rides_driver (name, phone, created_at) "
            "SELECT 'D' || i, '+1650' || lpad(i::text, 7, '0'), now() "
            "FROM generate_series(1, 3000) AS i"
        )
        cursor.execute(
            "INSERT INTO rides_ride (customer_id, driver_id, start, destination, pickup_at, "
            "proxy_id, status, masking_ends_at, created_at) "
            "SELECT c.min + i %% 30000, d.min + i %% 3000, 'A', 'B', "
            "now() - interval '1 day' * (i %% 900 + 2), (%s::bigint[])[1 + i %% %s], "
            "CASE WHEN i > %s THEN 'open' ELSE 'expired' END, "
            "CASE WHEN i > %s THEN now() + interval '1 day' "
            "ELSE now() - interval '1 day' * (i %% 900 + 1) END, now() "
            "FROM generate_series(1, %s) AS i, "
            "(SELECT min(id) FROM rides_customer) c, (SELECT min(id) FROM rides_driver) d",
            [pool, len(pool), HISTORY - OPEN_NOW, HISTORY - OPEN_NOW, HISTORY],
        )
        cursor.execute("ANALYZE rides_customer; ANALYZE rides_driver; ANALYZE rides_ride")


def plans_touching_rides(queries: list[dict]) -> list[str]:
    plans = []
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if "rides_ride" not in sql or sql.startswith(("SAVEPOINT", "RELEASE")):
                continue
            cursor.execute(f"EXPLAIN {sql}")
            plans.append(sql + "\n" + "\n".join(row[0] for row in cursor.fetchall()))
    return plans


def test_allocation_and_routing_do_not_scan_the_ride_history():
    pool = [factories.proxy_number() for _ in range(40)]
    fill_history([p.pk for p in pool])
    regular = Customer.objects.order_by("pk")[7]
    driver = Driver.objects.order_by("pk")[7]

    with CaptureQueriesContext(connection) as captured:
        ride = ride_create(
            customer=regular,
            driver=driver,
            start="A",
            destination="B",
            pickup_at=timezone.now() + timedelta(hours=1),
            notify=False,
        )
        router = RidesRouter()
        assert router.route_sms(proxy=ride.proxy, sender=regular.phone, text="hi").outcome == (
            "relayed"
        )
        assert router.route_call(proxy=ride.proxy, caller=driver.phone).outcome == "transferred"
        router.route_sms(proxy=ride.proxy, sender="+13125550142", text="hi")
        proxy_open_sessions(proxies=pool)

    plans = plans_touching_rides(captured.captured_queries)
    assert len(plans) >= 6
    for plan in plans:
        assert "Seq Scan on rides_ride" not in plan, plan
        assert "Seq Scan on rides_customer" not in plan, plan
        assert "Seq Scan on rides_driver" not in plan, plan


def test_the_ride_lookup_has_one_plan_right_for_every_text():
    """The webhook's ride lookup is a prepared statement: PostgreSQL may run it with a
    generic plan, made once without the parameters' values. That plan must still go
    from the sender's phone through unique indexes, never walk the open rides."""
    from rides.selectors import RIDE_FOR_INBOUND_SQL
    from tests.plans import generic_plan

    pool = [factories.proxy_number() for _ in range(40)]
    fill_history([p.pk for p in pool])
    plan = generic_plan(
        RIDE_FOR_INBOUND_SQL,
        params={"sender": 1, "proxy": 2, "now": 3},
        types="text, bigint, timestamptz",
        values=f"'+14150000042', {pool[0].pk:d}, now()",
    )
    assert "Seq Scan" not in plan, plan
    assert "ride_open_customer_proxy" in plan, plan
    assert "ride_open_driver_proxy" in plan, plan
    assert "ride_open_due" not in plan, plan
