"""A synthetic city for the pool benchmark, and the pool sizes to compare against.

The trace: customers book rides all day with a daily shape (a morning and an evening
rush, busy Friday and Saturday nights, quiet before dawn); a few customers ride
every day, most ride now and then (log-normal booking rates, capped at twenty
times the average). Drivers work shifts and take
the rides back to back: the driver free soonest gets the next booking, and the pickup
waits for that driver. A ride is a session from its booking until `window` after its
pickup (the masking window), the interval in which its proxy number is taken for
both of its people.

Pure Python, seeded: the same arguments give the same trace.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# Share of a day's bookings in each hour (0-23), from a typical ride-hailing curve.
HOURLY_SHAPE = (
    1.2, 0.8, 0.6, 0.4, 0.4, 0.8, 2.4, 5.6, 7.2, 5.6, 4.4, 4.4,
    5.0, 4.8, 4.4, 4.8, 5.8, 7.2, 7.4, 6.0, 4.8, 4.0, 3.2, 2.0,
)  # fmt: skip
# Bookings relative to an average day, Monday first: Friday and Saturday are busier.
WEEKDAY_SHAPE = (0.9, 0.9, 0.95, 1.0, 1.2, 1.25, 0.8)


@dataclass(frozen=True)
class TraceRide:
    customer: int
    driver: int
    booked_at: datetime
    pickup_at: datetime

    def open_until(self, window: timedelta) -> datetime:
        return self.pickup_at + window


@dataclass(frozen=True)
class Shift:
    driver: int
    start_hour: int  # local hour the shift starts, every day
    hours: int


def _shifts(drivers: int, rng: random.Random) -> list[Shift]:
    # Most drivers cover the day, some the evening and night: start hours 5 to 20.
    starts = [5, 6, 7, 8, 10, 12, 14, 16, 17, 18, 20]
    weights = [1, 3, 4, 3, 2, 2, 2, 3, 3, 2, 2]
    return [
        Shift(driver=d, start_hour=rng.choices(starts, weights)[0], hours=rng.choice([8, 9, 10]))
        for d in range(drivers)
    ]


def _on_shift(shift: Shift, hour: int) -> bool:
    end = shift.start_hour + shift.hours
    return shift.start_hour <= hour < end or hour < end - 24


def generate(
    *,
    days: int = 30,
    customers: int = 20000,
    drivers: int = 200,
    rides_per_day: int = 2400,
    start: datetime,
    seed: int = 1,
) -> list[TraceRide]:
    """A month (by default) of rides, in booking order."""
    rng = random.Random(seed)
    raw = [rng.lognormvariate(0.0, 1.2) for _ in range(customers)]
    cap = 20 * sum(raw) / len(raw)
    cumulative = list(_accumulate([min(weight, cap) for weight in raw]))
    shifts = _shifts(drivers, rng)
    working_by_hour = [
        [s.driver for s in shifts if _on_shift(s, hour)] or list(range(drivers))
        for hour in range(24)
    ]
    free_at: dict[int, datetime] = dict.fromkeys(range(drivers), start)
    rides: list[TraceRide] = []
    day_total = sum(HOURLY_SHAPE)
    for day in range(days):
        day_start = start + timedelta(days=day)
        factor = WEEKDAY_SHAPE[day_start.weekday()]
        for hour, share in enumerate(HOURLY_SHAPE):
            expected = rides_per_day * factor * share / day_total
            count = _poisson(expected, rng)
            hour_start = day_start + timedelta(hours=hour)
            moments = sorted(
                hour_start + timedelta(seconds=rng.uniform(0, 3600)) for _ in range(count)
            )
            for booked in moments:
                customer = _pick(cumulative, rng)
                working = working_by_hour[booked.hour]
                # The driver free soonest takes it; ties broken at random.
                soonest = min(free_at[d] for d in working)
                candidates = [d for d in working if free_at[d] <= max(soonest, booked)]
                driver = rng.choice(candidates)
                pickup = max(booked, free_at[driver]) + timedelta(minutes=rng.uniform(3, 12))
                trip = timedelta(minutes=rng.uniform(8, 35))
                free_at[driver] = pickup + trip
                rides.append(TraceRide(customer, driver, booked, pickup))
    return rides


def _accumulate(values: Sequence[float]) -> Iterable[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


def _pick(cumulative: Sequence[float], rng: random.Random) -> int:
    target = rng.random() * cumulative[-1]
    low, high = 0, len(cumulative) - 1
    while low < high:
        mid = (low + high) // 2
        if cumulative[mid] < target:
            low = mid + 1
        else:
            high = mid
    return low


def _poisson(mean: float, rng: random.Random) -> int:
    if mean <= 0:
        return 0
    if mean > 50:  # normal approximation, plenty for hourly counts
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def _people(ride: TraceRide) -> tuple[tuple[str, int], tuple[str, int]]:
    return ("customer", ride.customer), ("driver", ride.driver)


def lower_bound(rides: Iterable[TraceRide], *, window: timedelta) -> int:
    """The largest number of rides open at once for any one person.

    No allocation can use fewer numbers: that person needs a different number for
    each of those rides. Intervals are half-open: a ride ending exactly when another
    one is booked does not overlap it.
    """
    events: dict[tuple[str, int], list[tuple[datetime, int]]] = defaultdict(list)
    for ride in rides:
        for person in _people(ride):
            events[person].append((ride.booked_at, 1))
            events[person].append((ride.open_until(window), -1))
    best = 0
    for person_events in events.values():
        person_events.sort()  # at equal times the end (-1) sorts before the start (+1)
        current = 0
        for _, delta in person_events:
            current += delta
            best = max(best, current)
    return best


def tutorial_pool(rides: Iterable[TraceRide]) -> int:
    """Pool size under the tutorial's rule: a number is never used twice for a person.

    Each ride takes the first number neither of its people has ever had (first fit,
    the tutorial's "pick a number without a ride for either party").
    """
    used: dict[tuple[str, int], set[int]] = defaultdict(set)
    size = 0
    for ride in sorted(rides, key=lambda r: r.booked_at):
        customer, driver = _people(ride)
        taken = used[customer] | used[driver]
        number = next(n for n in range(len(taken) + 1) if n not in taken)
        used[customer].add(number)
        used[driver].add(number)
        size = max(size, number + 1)
    return size


def first_fit_pool(rides: Iterable[TraceRide], *, window: timedelta) -> int:
    """Pool size when each ride takes the first number free for both of its people.

    A reference for the real allocation (which the benchmark replays in the database):
    the same rule, simulated in memory.
    """
    ends: list[tuple[datetime, int, tuple[str, int], tuple[str, int]]] = []
    busy: dict[tuple[str, int], set[int]] = defaultdict(set)
    size = 0
    for ride in sorted(rides, key=lambda r: r.booked_at):
        while ends and ends[0][0] <= ride.booked_at:
            _, number, customer, driver = heapq.heappop(ends)
            busy[customer].discard(number)
            busy[driver].discard(number)
        customer, driver = _people(ride)
        taken = busy[customer] | busy[driver]
        number = next(n for n in range(len(taken) + 1) if n not in taken)
        busy[customer].add(number)
        busy[driver].add(number)
        heapq.heappush(ends, (ride.open_until(window), number, customer, driver))
        size = max(size, number + 1)
    return size


def max_rides_per_person(rides: Iterable[TraceRide]) -> int:
    counts: dict[tuple[str, int], int] = defaultdict(int)
    for ride in rides:
        for person in _people(ride):
            counts[person] += 1
    return max(counts.values(), default=0)
