"""Benchmark 2: ride creation latency with a short and a long ride history.

`rides.services.ride_create` (allocation, the ride, both notifications queued) called
in one process, one ride after another, on a fresh copy of each history; the time of
each call, commit included. Rides go to people of the history, at random.

    python -m bench.ride_create            (BENCH_QUICK=1 for a small, short run)
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import timedelta

from .common import LARGE, QUICK, SMALL, finish, log, run_django, scale_name
from .scenario import prepared_rides
from .table import Row, ratio_at_most

NAME = "ride_create"
CREATIONS = 100 if QUICK else 400
WARMUP = 20


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def create_rides(count: str) -> dict:
    """In the child: time `count` ride_create calls (after a warm-up)."""
    from django.utils import timezone

    from rides.models import Customer, Driver
    from rides.services import ride_create

    from .data import OPEN_RIDES

    rng = random.Random(11)
    customer_ids = list(Customer.objects.filter(pk__gt=OPEN_RIDES).values_list("pk", flat=True))
    driver_ids = list(Driver.objects.values_list("pk", flat=True))
    timings: list[float] = []
    for i in range(WARMUP + int(count)):
        customer = Customer.objects.get(pk=rng.choice(customer_ids))
        driver = Driver.objects.get(pk=rng.choice(driver_ids))
        started = time.perf_counter()
        ride_create(
            customer=customer,
            driver=driver,
            start="1 Main St",
            destination="500 Market St",
            pickup_at=timezone.now() + timedelta(minutes=10),
        )
        if i >= WARMUP:
            timings.append((time.perf_counter() - started) * 1000)
    return {"timings_ms": timings}


def measure(rides: int) -> list[float]:
    database, _ = prepared_rides(rides)
    return run_django("bench.ride_create", "create", str(CREATIONS), database=database)[
        "timings_ms"
    ]


def run() -> list[Row]:
    results = {}
    for rides in (SMALL, LARGE):
        timings = measure(rides)
        results[rides] = {
            "p50": percentile(timings, 0.50),
            "p99": percentile(timings, 0.99),
            "mean": statistics.fmean(timings),
        }
        log(f"{scale_name(rides)}: ride_create {results[rides]}")
    small, large = results[SMALL], results[LARGE]
    big, little = f"{LARGE:,}", f"{SMALL:,}"
    rows = [Row(NAME, f"ride_create {stat}, {n:,} rides", results[n][stat], "ms")
            for n in (SMALL, LARGE) for stat in ("p50", "p99", "mean")]  # fmt: skip
    rows += [
        Row(
            NAME,
            f"ride_create {stat} at {big} vs {little}",
            large[stat],
            "ms",
            small[stat],
            f"{little} rides",
            "<= 1.5",
            ratio_at_most(large[stat], small[stat], 1.5),
        )
        for stat in ("p50", "mean")
    ]
    return finish(NAME, rows)


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1:
        from .common import child_main

        child_main({"create": create_rides})
    else:
        run()
