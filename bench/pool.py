"""Benchmark 3: how many numbers the pool needs for a month of a city.

The synthetic trace (bench/trace.py) is replayed, in booking order, through the real
allocation (`rides.services.ride_create` at the booking time, on an empty database
with the production settings). The pool starts with one number and gets one more
each time allocation finds none free: its final size is what our allocation needed.
Beside it: the lower bound (the most rides any one person has open at once, with the
configured masking window) and the tutorial's rule (never reuse a number for a
person), both computed from the same trace.

    python -m bench.pool            (BENCH_QUICK=1 for a smaller city, fewer days)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from . import db, trace
from .common import QUICK, finish, log, run_django
from .table import Row

NAME = "pool"
DATABASE = "bench_pool"
START = datetime(2026, 9, 7, tzinfo=UTC)  # a Monday
SWEEP_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class City:
    days: int
    customers: int
    drivers: int
    rides_per_day: int


CITY = (
    City(days=3, customers=2_000, drivers=40, rides_per_day=400)
    if QUICK
    else City(days=30, customers=12_000, drivers=150, rides_per_day=1_800)
)


def city_trace(city: City = CITY) -> list[trace.TraceRide]:
    return trace.generate(
        days=city.days,
        customers=city.customers,
        drivers=city.drivers,
        rides_per_day=city.rides_per_day,
        start=START,
    )


def replay(days: str, customers: str, drivers: str, rides_per_day: str) -> dict:
    """In the child: replay the trace through ride_create, growing the pool on demand."""
    from providers.models import ProxyNumber, Service
    from rides.conf import masking_window
    from rides.models import Customer, Driver
    from rides.services import PoolExhausted, ride_create, rides_expire

    from .data import copy_rows, customer_phone, driver_phone, proxy_phone

    city = City(int(days), int(customers), int(drivers), int(rides_per_day))
    rides = city_trace(city)
    joined = START - timedelta(days=1)
    for model, phone, label, count in (
        (Customer, customer_phone, "Customer", city.customers),
        (Driver, driver_phone, "Driver", city.drivers),
    ):
        copy_rows(
            model,
            ["id", "name", "phone", "created_at"],
            ((i + 1, f"{label} {i}", phone(i), joined) for i in range(count)),
        )
    customers_by_id = {c.pk: c for c in Customer.objects.all()}
    drivers_by_id = {d.pk: d for d in Driver.objects.all()}

    def add_number() -> None:
        index = ProxyNumber.objects.count()
        ProxyNumber.objects.create(
            number=proxy_phone(index),
            provider="messagebird",
            service=Service.RIDES,
            sms=True,
            voice=True,
            country="US",
        )

    add_number()
    started = time.perf_counter()
    swept = START
    for ride in rides:
        if ride.booked_at - swept >= SWEEP_EVERY:
            # As the periodic `rides_expire` command does in production.
            rides_expire(now=ride.booked_at)
            swept = ride.booked_at
        for _ in range(1000):
            try:
                ride_create(
                    customer=customers_by_id[ride.customer + 1],
                    driver=drivers_by_id[ride.driver + 1],
                    start="1 Main St",
                    destination="500 Market St",
                    pickup_at=ride.pickup_at,
                    now=ride.booked_at,
                    notify=False,
                )
                break
            except PoolExhausted:
                add_number()
        else:
            raise RuntimeError("the pool grew by 1000 numbers for one ride")
    elapsed = time.perf_counter() - started
    return {
        "rides": len(rides),
        "pool": ProxyNumber.objects.count(),
        "window_seconds": masking_window().total_seconds(),
        "seconds": elapsed,
    }


def run() -> list[Row]:
    db.create(DATABASE)
    db.relax_durability(DATABASE)  # the replay's speed is not what is measured here
    db.migrate(DATABASE)
    city = CITY
    log(f"pool: replaying {city} through ride_create ...")
    replayed = run_django(
        "bench.pool",
        "replay",
        str(city.days),
        str(city.customers),
        str(city.drivers),
        str(city.rides_per_day),
        database=DATABASE,
        timeout=3600,
    )
    db.drop(DATABASE)
    rides = city_trace(city)
    window = timedelta(seconds=replayed["window_seconds"])
    bound = trace.lower_bound(rides, window=window)
    tutorial = trace.tutorial_pool(rides)
    ours = replayed["pool"]
    hours = window.total_seconds() / 3600
    what = (
        f"{city.days} days, {len(rides):,} rides, {city.customers:,} customers, "
        f"{city.drivers} drivers, {hours:g} h window"
    )
    log(f"pool: {what}; replay took {replayed['seconds']:.0f} s")
    rows = [
        Row(NAME, f"lower bound ({what})", bound),
        Row(
            NAME,
            "pool needed, our allocation",
            ours,
            "",
            bound,
            "lower bound",
            "<= 1.10",
            ours <= bound * 1.10,
        ),
        Row(
            NAME,
            "pool needed, tutorial rule (never reuse for a person)",
            tutorial,
            "",
            bound,
            "lower bound",
        ),
        Row(
            NAME,
            "our allocation vs tutorial rule",
            ours,
            "",
            tutorial,
            "tutorial rule",
            "far below",
            ours * 4 <= tutorial,
        ),
    ]
    return finish(NAME, rows)


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1:
        from .common import child_main

        child_main({"replay": replay})
    else:
        run()
