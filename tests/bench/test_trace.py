"""The pool benchmark's trace and the pool sizes it is compared with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench import trace
from bench.trace import TraceRide

T0 = datetime(2026, 9, 7, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def ride(customer: int, driver: int, booked_minutes: float, pickup_minutes: float) -> TraceRide:
    return TraceRide(
        customer=customer,
        driver=driver,
        booked_at=T0 + timedelta(minutes=booked_minutes),
        pickup_at=T0 + timedelta(minutes=pickup_minutes),
    )


def small_city(seed: int = 1) -> list[TraceRide]:
    return trace.generate(
        days=2, customers=300, drivers=12, rides_per_day=200, start=T0.replace(hour=0), seed=seed
    )


def test_same_seed_gives_the_same_trace_and_another_seed_another():
    assert small_city(seed=3) == small_city(seed=3)
    assert small_city(seed=3) != small_city(seed=4)


def test_trace_is_in_booking_order_with_pickups_after_bookings():
    rides = small_city()
    assert rides == sorted(rides, key=lambda r: r.booked_at)
    assert all(r.pickup_at > r.booked_at for r in rides)


def test_a_driver_never_has_two_pickups_closer_than_the_shortest_trip():
    by_driver: dict[int, list[datetime]] = {}
    for r in small_city():
        by_driver.setdefault(r.driver, []).append(r.pickup_at)
    for pickups in by_driver.values():
        pickups.sort()
        gaps = [b - a for a, b in zip(pickups, pickups[1:], strict=False)]
        assert all(gap >= timedelta(minutes=8 + 3) for gap in gaps)


def test_bookings_follow_the_daily_shape():
    rides = trace.generate(
        days=7, customers=2000, drivers=60, rides_per_day=1000, start=T0.replace(hour=0)
    )
    per_hour = [0] * 24
    for r in rides:
        per_hour[r.booked_at.hour] += 1
    assert per_hour[18] > 5 * per_hour[3]  # evening rush against the small hours
    assert 0.8 * 7000 < len(rides) < 1.2 * 7000


def test_lower_bound_is_the_most_rides_one_person_has_open_at_once():
    window = timedelta(minutes=30)
    rides = [
        ride(1, 1, 0, 10),  # open 0..40
        ride(2, 1, 20, 30),  # open 20..60: driver 1 has two open
        ride(3, 1, 35, 45),  # open 35..75: driver 1 has three open (35..40)
        ride(4, 2, 0, 10),
    ]
    assert trace.lower_bound(rides, window=window) == 3


def test_a_ride_ending_when_the_next_is_booked_does_not_overlap_it():
    window = timedelta(minutes=30)
    rides = [ride(1, 1, 0, 10), ride(2, 1, 40, 50)]  # the first is open until exactly 40
    assert trace.lower_bound(rides, window=window) == 1


def test_lower_bound_of_no_rides_is_zero():
    assert trace.lower_bound([], window=HOUR) == 0


def test_tutorial_rule_never_gives_a_person_the_same_number_twice():
    # One driver, three customers, rides far apart: a fresh number every time.
    rides = [ride(c, 1, 600 * c, 600 * c + 10) for c in range(3)]
    assert trace.tutorial_pool(rides) == 3
    assert trace.lower_bound(rides, window=HOUR) == 1


def test_tutorial_rule_needs_at_least_the_most_rides_of_one_person():
    rides = small_city()
    assert trace.tutorial_pool(rides) >= trace.max_rides_per_person(rides)


def test_first_fit_reuses_a_number_once_its_ride_is_over():
    rides = [ride(c, 1, 600 * c, 600 * c + 10) for c in range(3)]
    assert trace.first_fit_pool(rides, window=HOUR) == 1


def test_first_fit_is_never_below_the_lower_bound():
    rides = small_city()
    for window in (timedelta(minutes=10), HOUR, timedelta(hours=24)):
        assert trace.first_fit_pool(rides, window=window) >= trace.lower_bound(rides, window=window)
