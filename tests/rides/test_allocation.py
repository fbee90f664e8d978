from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from providers.backends import console
from providers.models import Direction, Message, Service
from rides.models import Customer, Ride, RideStatus
from rides.selectors import proxies_busy_for
from rides.services import PoolExhausted, proxy_allocate, ride_close, ride_create
from tests import factories

pytestmark = pytest.mark.django_db

PICKUP = datetime(2026, 11, 24, 13, 30, tzinfo=UTC)
BEFORE_PICKUP = PICKUP - timedelta(hours=2)


def book(customer, driver, *, pickup_at=PICKUP, now=BEFORE_PICKUP, notify=False) -> Ride:
    return ride_create(
        customer=customer,
        driver=driver,
        start="Central Station",
        destination="Airport",
        pickup_at=pickup_at,
        now=now,
        notify=notify,
    )


@override_settings(TIME_ZONE="Europe/Amsterdam")
def test_both_parties_are_texted_from_the_ride_number_with_names_and_local_time(
    django_capture_on_commit_callbacks,
):
    factories.proxy_number(number="+12065550100")
    alice = factories.customer(name="Alice", phone="+14155550123")
    bob = factories.driver(name="Bob", phone="+16505550199")

    with django_capture_on_commit_callbacks(execute=True):
        ride = book(alice, bob, notify=True)

    assert ride.proxy.number == "+12065550100"
    sent = {sms["to"]: sms for sms in console.outbox}
    assert set(sent) == {"+14155550123", "+16505550199"}
    assert all(sms["from"] == "+12065550100" for sms in sent.values())
    assert sent["+14155550123"]["body"] == (
        "Bob will pick you up at 14:30 CET on Tue 24 Nov. "
        "Reply to this message to contact the driver."
    )
    assert sent["+16505550199"]["body"] == (
        "Alice will wait for you at 14:30 CET on Tue 24 Nov. "
        "Reply to this message to contact the customer."
    )
    logged = Message.objects.filter(session=f"ride:{ride.pk}", direction=Direction.OUTBOUND)
    assert sorted(logged.values_list("status", flat=True)) == ["sent", "sent"]


def test_notification_texts_carry_no_phone_number():
    factories.proxy_number()
    alice = factories.customer(name="Alice", phone="+14155550123")
    bob = factories.driver(name="Bob", phone="+16505550199")
    ride = book(alice, bob, notify=True)
    for body in Message.objects.filter(session=ride.session).values_list("body", flat=True):
        assert "4155550123" not in body and "6505550199" not in body


def test_one_number_serves_open_rides_of_different_people():
    only = factories.proxy_number()
    first = book(factories.customer(), factories.driver())
    second = book(factories.customer(), factories.driver())
    assert first.proxy == second.proxy == only


def test_second_open_ride_of_the_same_customer_gets_another_number():
    factories.proxy_number()
    factories.proxy_number()
    alice = factories.customer()
    first = book(alice, factories.driver())
    second = book(alice, factories.driver())
    assert first.proxy != second.proxy


def test_second_open_ride_of_the_same_driver_gets_another_number():
    factories.proxy_number()
    factories.proxy_number()
    bob = factories.driver()
    first = book(factories.customer(), bob)
    second = book(factories.customer(), bob)
    assert first.proxy != second.proxy


def test_a_person_who_rides_and_drives_is_never_twice_on_one_number():
    factories.proxy_number()
    factories.proxy_number()
    as_customer = factories.customer(phone="+14155550777")
    as_driver = factories.driver(phone="+14155550777")
    first = book(as_customer, factories.driver())
    second = book(factories.customer(), as_driver)
    assert first.proxy != second.proxy


def test_pool_exhausted_names_the_people_and_creates_nothing():
    factories.proxy_number()
    alice = factories.customer(name="Alice")
    book(alice, factories.driver())
    with pytest.raises(PoolExhausted) as caught:
        book(alice, factories.driver(), notify=True)
    assert caught.value.reason == "in_use"
    assert "Alice" in str(caught.value) and "Add numbers" in str(caught.value)
    assert Ride.objects.count() == 1
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    "unusable",
    [
        {"active": False},
        {"service": Service.CONVERSATIONS},
        {"sms": False},
        {"provider": "not-configured"},
    ],
    ids=["retired", "conversations", "no-sms", "unknown-provider"],
)
def test_pool_without_a_usable_rides_number_says_so(unusable):
    factories.proxy_number(**unusable)
    with pytest.raises(PoolExhausted) as caught:
        proxy_allocate(customer=factories.customer(), driver=factories.driver())
    assert caught.value.reason == "no_numbers"
    assert "no active rides number" in str(caught.value)


def test_voice_numbers_are_preferred():
    factories.proxy_number(voice=False)
    voice = factories.proxy_number(voice=True)
    assert book(factories.customer(), factories.driver()).proxy == voice


def test_numbers_in_the_riders_country_are_preferred():
    factories.proxy_number(number="+442071838750", country="GB")
    local = factories.proxy_number(number="+12065550150", country="US")
    assert book(factories.customer(), factories.driver()).proxy == local


def test_first_free_number_in_a_stable_order_is_taken():
    low, high = factories.proxy_number(), factories.proxy_number()
    alice = factories.customer()
    first = book(alice, factories.driver())
    second = book(alice, factories.driver())
    assert (first.proxy, second.proxy) == (low, high)
    ride_close(ride=first, now=BEFORE_PICKUP)
    assert book(alice, factories.driver()).proxy == low


def test_masking_ends_a_configurable_window_after_pickup():
    factories.proxy_number()
    assert book(factories.customer(), factories.driver()).masking_ends_at == PICKUP + timedelta(
        hours=24
    )
    with override_settings(RIDES_MASKING_WINDOW_HOURS=2):
        ride = book(factories.customer(), factories.driver())
    assert ride.masking_ends_at == PICKUP + timedelta(hours=2)


def test_number_is_free_again_for_the_same_people_once_the_window_has_passed():
    factories.proxy_number()
    alice, bob = factories.customer(), factories.driver()
    first = book(alice, bob)
    later = PICKUP + timedelta(hours=25)
    second = book(alice, bob, pickup_at=later + timedelta(hours=1), now=later)
    assert second.proxy == first.proxy
    first.refresh_from_db()
    assert first.status == RideStatus.EXPIRED


def test_regular_customer_takes_many_rides_one_after_another_on_a_one_number_pool():
    only = factories.proxy_number()
    alice = factories.customer()
    for day in range(30):
        pickup = PICKUP + timedelta(days=2 * day)
        ride = book(alice, factories.driver(), pickup_at=pickup, now=pickup - timedelta(hours=1))
        assert ride.proxy == only
    assert Ride.objects.filter(customer=alice, status=RideStatus.OPEN).count() == 1


def test_ride_closed_early_frees_its_number_for_the_same_people():
    factories.proxy_number()
    alice, bob = factories.customer(), factories.driver()
    first = book(alice, bob)
    assert ride_close(ride=first, now=BEFORE_PICKUP) is True
    assert first.status == RideStatus.CLOSED
    assert ride_close(ride=first, now=BEFORE_PICKUP) is False
    assert book(alice, bob).proxy == first.proxy


def test_the_database_refuses_two_open_rides_of_one_person_on_one_number():
    from django.db import IntegrityError, transaction

    proxy = factories.proxy_number()
    alice = factories.customer()
    factories.ride(customer=alice, proxy=proxy)
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.ride(customer=alice, proxy=proxy)


def test_ride_with_the_same_phone_on_both_sides_is_refused():
    factories.proxy_number()
    with pytest.raises(ValidationError) as caught:
        book(factories.customer(phone="+14155550999"), factories.driver(phone="+14155550999"))
    assert "driver" in caught.value.message_dict


def test_ride_whose_window_is_already_over_is_refused():
    factories.proxy_number()
    with pytest.raises(ValidationError) as caught:
        book(factories.customer(), factories.driver(), now=PICKUP + timedelta(hours=30))
    assert "pickup_at" in caught.value.message_dict
    assert not Customer.objects.filter(rides__isnull=False).exists()


def test_naive_pickup_time_is_refused():
    factories.proxy_number()
    with pytest.raises(ValidationError) as caught:
        book(factories.customer(), factories.driver(), pickup_at=datetime(2026, 11, 24, 13, 30))  # noqa: DTZ001
    assert "pickup_at" in caught.value.message_dict


def test_open_sessions_count_only_rides_still_open():
    from providers.selectors import proxy_open_sessions

    proxy = factories.proxy_number()
    factories.ride(proxy=proxy)
    factories.ride(proxy=proxy, pickup_at=timezone.now() - timedelta(hours=30))
    assert proxy_open_sessions(proxies=[proxy]) == {proxy.pk: 1}


@pytest.mark.parametrize("seed", range(3))
@override_settings(RIDES_MASKING_WINDOW_HOURS=3)
def test_first_fit_never_needs_more_numbers_than_twice_the_busiest_persons_open_rides(seed):
    """A new ride is blocked on a number only by its customer's or driver's other open
    rides, so with at most L open rides per person it lands within the first 2L - 1."""
    rng = random.Random(seed)
    pool = [factories.proxy_number() for _ in range(12)]
    position = {proxy.pk: index for index, proxy in enumerate(pool)}
    customers = [factories.customer() for _ in range(6)]
    drivers = [factories.driver() for _ in range(4)]
    now = BEFORE_PICKUP
    booked = 0
    for _ in range(100):
        now += timedelta(minutes=rng.randrange(0, 60))
        customer, driver = rng.choice(customers), rng.choice(drivers)
        open_rides = Ride.objects.filter(status=RideStatus.OPEN, masking_ends_at__gt=now)
        if rng.random() < 0.1 and open_rides.exists():
            ride_close(ride=rng.choice(list(open_rides)), now=now)
        pickup = now + timedelta(minutes=rng.randrange(0, 240))
        try:
            ride = book(customer, driver, pickup_at=pickup, now=now)
        except PoolExhausted:
            busy = proxies_busy_for(customer_ids=[customer.pk], driver_ids=[driver.pk], now=now)
            assert busy == set(position)
            continue
        booked += 1
        busiest = max(
            max(Counter(open_rides.values_list(role, flat=True)).values())
            for role in ("customer_id", "driver_id")
        )
        assert position[ride.proxy_id] <= 2 * busiest - 2
        for role in ("customer_id", "driver_id"):
            on_number = Counter(open_rides.values_list(role, "proxy_id"))
            assert max(on_number.values()) == 1
    assert booked > 80


@pytest.mark.parametrize("vendor", ["messagebird", "flowroute"])
def test_notifications_go_out_through_the_numbers_vendor_from_the_number(
    vendor, vendor_apis, django_capture_on_commit_callbacks
):
    factories.proxy_number(number="+12065550100", provider=vendor)
    alice = factories.customer(name="Alice", phone="+14155550123")
    bob = factories.driver(name="Bob", phone="+16505550199")

    with django_capture_on_commit_callbacks(execute=True):
        book(alice, bob, notify=True)

    sent = vendor_apis.sent(vendor)
    if vendor == "messagebird":
        pairs = {(s["originator"], s["recipients"], s["body"].split(" ")[0]) for s in sent}
    else:
        pairs = {
            (a["from"], a["to"], a["body"].split(" ")[0])
            for a in (s["data"]["attributes"] for s in sent)
        }
    assert pairs == {("12065550100", "14155550123", "Bob"), ("12065550100", "16505550199", "Alice")}
