"""Rides booked at the same moment for the same people, each on its own connection."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from providers.backends import console
from providers.inbound import inbound_sms_receive
from providers.models import Direction, Message, OptOut
from providers.types import InboundSms
from rides.models import Customer, Ride, RideStatus
from rides.services import PoolExhausted, ride_book, ride_create
from tests import factories

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite runs one writer at a time, so nothing runs in parallel",
    ),
]

PARALLEL = 12


def run_together(jobs: list[Callable[[], object]]) -> list[object]:
    """Start every job at the same instant in its own thread (and connection)."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def worker(index: int, job: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = job()
        except Exception as err:  # noqa: BLE001 - collected for the assertions
            results[index] = err
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def assert_no_person_twice_on_a_number() -> None:
    open_rides = Ride.objects.filter(status=RideStatus.OPEN)
    for role in ("customer_id", "driver_id"):
        pairs = Counter(open_rides.values_list(role, "proxy_id"))
        assert max(pairs.values(), default=0) == 1, pairs


def outcomes(results: list[object]) -> Counter:
    unexpected = [r for r in results if not isinstance(r, Ride | PoolExhausted)]
    assert not unexpected, unexpected
    return Counter(type(r).__name__ for r in results)


@pytest.mark.parametrize("shared", ["customer", "driver"])
def test_parallel_rides_of_one_person_never_share_a_number(shared):
    pool = [factories.proxy_number() for _ in range(5)]
    person = getattr(factories, shared)()
    other = "driver" if shared == "customer" else "customer"
    pickup = timezone.now() + timedelta(hours=1)

    def job(partner):
        people = {shared: person, other: partner}
        return lambda: ride_create(**people, start="A", destination="B", pickup_at=pickup)

    results = run_together([job(getattr(factories, other)()) for _ in range(PARALLEL)])

    assert outcomes(results) == {"Ride": len(pool), "PoolExhausted": PARALLEL - len(pool)}
    assert sorted(r.proxy_id for r in results if isinstance(r, Ride)) == [p.pk for p in pool]
    assert_no_person_twice_on_a_number()


def test_parallel_bookings_of_a_new_customer_create_them_once():
    for _ in range(PARALLEL):
        factories.proxy_number()
    pickup = timezone.now() + timedelta(hours=1)

    def job(n: int):
        return lambda: ride_book(
            customer_name="Alice",
            customer_phone="+14155550123",
            driver_name=f"Driver {n}",
            driver_phone=f"+1650555{n:04d}",
            start="A",
            destination="B",
            pickup_at=pickup,
        )

    results = run_together([job(n) for n in range(PARALLEL)])

    assert outcomes(results) == {"Ride": PARALLEL}
    assert Customer.objects.count() == 1
    assert_no_person_twice_on_a_number()


def test_parallel_rides_of_one_person_in_both_roles_never_share_a_number():
    pool = [factories.proxy_number() for _ in range(3)]
    as_customer = factories.customer(phone="+14155550777")
    as_driver = factories.driver(phone="+14155550777")
    pickup = timezone.now() + timedelta(hours=1)

    def job(n: int):
        if n % 2:
            return lambda: ride_create(
                customer=as_customer,
                driver=factories.driver(),
                start="A",
                destination="B",
                pickup_at=pickup,
            )
        return lambda: ride_create(
            customer=factories.customer(),
            driver=as_driver,
            start="A",
            destination="B",
            pickup_at=pickup,
        )

    results = run_together([job(n) for n in range(PARALLEL)])

    assert outcomes(results) == {"Ride": len(pool), "PoolExhausted": PARALLEL - len(pool)}
    rides = [r for r in results if isinstance(r, Ride)]
    assert len({r.proxy_id for r in rides}) == len(pool)


def test_parallel_stops_record_one_opt_out_and_confirm_once():
    ride = factories.ride(proxy=factories.proxy_number(number="+12065550100"))
    customer, driver = ride.customer.phone, ride.driver.phone

    def stop(index: int):
        event = InboundSms(
            provider="console",
            sender=customer,
            recipient="+12065550100",
            text="STOP" if index % 2 else "stop.",
            vendor_id=f"stop-{index}",
        )
        return lambda: inbound_sms_receive(inbound=event).message.outcome

    results = run_together([stop(i) for i in range(PARALLEL)])

    assert sorted(results) == ["opted_out"] + ["opted_out_again"] * (PARALLEL - 1)
    assert OptOut.objects.filter(phone=customer).count() == 1
    assert [sent["to"] for sent in console.outbox] == [customer]
    assert not Message.objects.filter(direction=Direction.OUTBOUND, recipient=driver).exists()


def _parallel_texts(sender: str, body: str, *, to: str, n: int) -> list[object]:
    def one(index: int):
        event = InboundSms(
            provider="console", sender=sender, recipient=to, text=body, vendor_id=f"p-{index}"
        )
        return lambda: inbound_sms_receive(inbound=event).message.outcome

    return run_together([one(i) for i in range(n)])


def test_parallel_texts_from_a_stranger_get_one_unknown_sender_reply():
    factories.ride(proxy=factories.proxy_number(number="+12065550100"))
    stranger = "+14155550999"

    results = _parallel_texts(stranger, "hello?", to="+12065550100", n=20)

    # Those that read the log before the reply was written are refused under the lock.
    assert set(results) <= {"unknown_sender", "reply_not_repeated"}, results
    replies = Message.objects.filter(direction=Direction.OUTBOUND, recipient=stranger)
    assert replies.count() == 1
    assert [sent["to"] for sent in console.outbox] == [stranger]


def test_parallel_helps_from_a_stranger_get_the_replies_per_sender_and_no_more():
    factories.ride(proxy=factories.proxy_number(number="+12065550100"))
    stranger = "+14155550999"

    results = _parallel_texts(stranger, "HELP", to="+12065550100", n=20)

    assert Counter(results) == {"help": 5, "reply_limited_per_sender": 15}
    assert [sent["to"] for sent in console.outbox] == [stranger] * 5
