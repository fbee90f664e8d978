"""Retention on rides numbers: what is erased once a ride ended more than the retention
period ago, and what stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from providers.consent import is_opted_out, opt_out_record
from providers.models import Direction, Message, OptOut, Status
from providers.outbox import message_resend
from providers.phone import ERASED
from providers.retention import retention_sweep
from rides.models import Customer, Driver, Ride, RideStatus
from tests import factories

pytestmark = pytest.mark.django_db

NOW = timezone.now()
CUSTOMER, DRIVER = "+14155550123", "+16505550199"
MINUTE = timedelta(minutes=1)
PERIOD = timedelta(days=30)


def ended_ride(*, ago: timedelta, customer=None, driver=None, proxy=None) -> Ride:
    """A ride whose masking ended `ago` before NOW, with a relayed text each way."""
    ride = factories.ride(
        customer=customer or factories.customer(),
        driver=driver or factories.driver(),
        proxy=proxy or factories.proxy_number(),
        pickup_at=NOW - ago - timedelta(days=1),
    )
    Ride.objects.filter(pk=ride.pk).update(
        status=RideStatus.EXPIRED, masking_ends_at=NOW - ago, ended_at=NOW - ago
    )
    ride.refresh_from_db()
    at = NOW - ago - timedelta(hours=2)
    log(ride, Direction.INBOUND, sender=ride.customer.phone, body="I am at the gate", at=at)
    log(ride, Direction.OUTBOUND, recipient=ride.driver.phone, body="I am at the gate", at=at)
    return ride


def log(ride: Ride | None, direction: str, *, at, proxy=None, **fields) -> Message:
    proxy = proxy or ride.proxy
    inbound = direction == Direction.INBOUND
    return Message.objects.create(
        direction=direction,
        provider=proxy.provider,
        proxy=proxy,
        sender=fields.pop("sender", proxy.number),
        recipient=fields.pop("recipient", proxy.number),
        status=fields.pop("status", Status.RECEIVED if inbound else Status.SENT),
        session=ride.session if ride else "",
        outcome=fields.pop("outcome", "relayed" if inbound else ""),
        created_at=at,
        **fields,
    )


KEPT = (
    "direction", "kind", "provider", "vendor_id", "proxy_id", "status", "outcome", "session",
    "attempts", "created_at", "updated_at", "sent_at",
)  # fmt: skip


def kept_fields(message: Message) -> tuple:
    return tuple(getattr(message, name) for name in KEPT)


def messages(ride: Ride) -> list[Message]:
    return list(Message.objects.filter(session=ride.session).order_by("id"))


def test_a_ride_that_ended_a_minute_inside_the_period_keeps_everything():
    ride = ended_ride(ago=PERIOD - MINUTE)
    before = [(m.sender, m.recipient, m.body) for m in messages(ride)]
    retention_sweep(now=NOW)
    assert [(m.sender, m.recipient, m.body) for m in messages(ride)] == before
    assert all(m.erased_at is None for m in messages(ride))
    ride.refresh_from_db()
    assert (ride.start, ride.destination, ride.erased_at) == ("Central Station", "Airport", None)
    assert Customer.objects.get(pk=ride.customer_id).phone.startswith("+1")


def test_a_ride_that_ended_a_minute_past_the_period_loses_texts_numbers_and_names():
    proxy = factories.proxy_number(number="+12065550100")
    customer = factories.customer(name="Alice", phone=CUSTOMER)
    driver = factories.driver(name="Bob", phone=DRIVER)
    ride = ended_ride(ago=PERIOD + MINUTE, customer=customer, driver=driver, proxy=proxy)
    kept = [kept_fields(m) for m in messages(ride)]

    counts = retention_sweep(now=NOW)

    inbound, outbound = messages(ride)
    # The person's side is erased; the pool number is not personal and stays.
    assert (inbound.sender, inbound.recipient, inbound.body) == (ERASED, proxy.number, "")
    assert (outbound.sender, outbound.recipient, outbound.body) == (proxy.number, ERASED, "")
    assert inbound.erased_at == outbound.erased_at == NOW
    assert [kept_fields(m) for m in messages(ride)] == kept
    ride.refresh_from_db()
    assert (ride.start, ride.destination, ride.status) == (ERASED, ERASED, RideStatus.EXPIRED)
    assert ride.masking_ends_at == NOW - PERIOD - MINUTE
    customer.refresh_from_db()
    driver.refresh_from_db()
    assert (customer.name, customer.phone) == (ERASED, f"(erased {customer.pk})")
    assert (driver.name, driver.phone) == (ERASED, f"(erased {driver.pk})")
    assert counts == {
        "messages": 0,
        "events": 0,
        "ride messages": 2,
        "rides": 1,
        "customers": 1,
        "drivers": 1,
        "customers deleted": 0,
        "drivers deleted": 0,
        "conversation messages": 0,
        "conversations": 0,
        "participants": 0,
        "failed joins": 0,
    }


def test_a_person_with_a_ride_inside_the_period_keeps_their_number_and_name():
    customer = factories.customer(name="Alice", phone=CUSTOMER)
    old = ended_ride(ago=PERIOD + timedelta(days=3), customer=customer)
    factories.ride(customer=customer, proxy=factories.proxy_number())  # booked now
    retention_sweep(now=NOW)
    customer.refresh_from_db()
    assert (customer.name, customer.phone) == ("Alice", CUSTOMER)
    # The old ride's own data goes all the same.
    old.refresh_from_db()
    assert old.start == ERASED
    assert Driver.objects.get(pk=old.driver_id).name == ERASED
    assert {m.body for m in messages(old)} == {""}


def test_people_no_ride_refers_to_are_deleted_once_added_before_the_period():
    stale = factories.customer()
    Customer.objects.filter(pk=stale.pk).update(created_at=NOW - PERIOD - MINUTE)
    fresh = factories.driver()
    Driver.objects.filter(pk=fresh.pk).update(created_at=NOW - PERIOD + MINUTE)
    counts = retention_sweep(now=NOW)
    assert not Customer.objects.filter(pk=stale.pk).exists()
    assert Driver.objects.filter(pk=fresh.pk).exists()
    assert (counts["customers deleted"], counts["drivers deleted"]) == (1, 0)


def test_an_erased_person_who_books_again_is_a_new_customer():
    customer = factories.customer(name="Alice", phone=CUSTOMER)
    ended_ride(ago=PERIOD + MINUTE, customer=customer)
    retention_sweep(now=NOW)
    ride = factories.ride(customer=factories.customer(name="Alice", phone=CUSTOMER))
    assert ride.customer_id != customer.pk
    assert Customer.objects.filter(phone=CUSTOMER).count() == 1


def test_opt_outs_are_kept_so_that_consent_holds():
    ride = ended_ride(ago=PERIOD + MINUTE, customer=factories.customer(phone=CUSTOMER))
    opt_out_record(proxy=ride.proxy, phone=CUSTOMER, keyword="STOP")
    OptOut.objects.update(opted_out_at=NOW - PERIOD - timedelta(days=5))
    retention_sweep(now=NOW)
    assert is_opted_out(proxy=ride.proxy, phone=CUSTOMER)


def test_texts_to_strangers_are_erased_at_their_own_time():
    proxy = factories.proxy_number()
    old = log(
        None, Direction.INBOUND, proxy=proxy, sender=CUSTOMER, body="hi", at=NOW - PERIOD - MINUTE
    )
    new = log(
        None, Direction.INBOUND, proxy=proxy, sender=CUSTOMER, body="hi", at=NOW - PERIOD + MINUTE
    )
    reply = log(
        None, Direction.OUTBOUND, proxy=proxy, recipient=CUSTOMER, body="Sorry", at=old.created_at
    )
    retention_sweep(now=NOW)
    for message in (old, new, reply):
        message.refresh_from_db()
    assert (old.sender, old.body) == (ERASED, "")
    assert (reply.recipient, reply.body) == (ERASED, "")
    assert (new.sender, new.body) == (CUSTOMER, "hi")


def test_a_text_still_to_be_sent_is_not_erased_until_it_is_done():
    ride = ended_ride(ago=PERIOD + MINUTE)
    queued = log(
        ride,
        Direction.OUTBOUND,
        recipient=DRIVER,
        body="later",
        status=Status.QUEUED,
        at=NOW - PERIOD * 2,
    )
    retention_sweep(now=NOW)
    queued.refresh_from_db()
    assert (queued.recipient, queued.body, queued.erased_at) == (DRIVER, "later", None)


def test_an_erased_failed_text_cannot_be_re_sent_and_its_error_loses_numbers():
    ride = ended_ride(ago=PERIOD + MINUTE)
    failed = log(
        ride,
        Direction.OUTBOUND,
        recipient=DRIVER,
        body="hello",
        status=Status.FAILED,
        last_error=f"vendor refused: HTTP 400: {DRIVER} is not reachable",
        at=NOW - PERIOD - timedelta(hours=3),
    )
    retention_sweep(now=NOW)
    failed.refresh_from_db()
    assert failed.last_error == "vendor refused: HTTP 400: +16*******99 is not reachable"
    assert message_resend(message=failed) is False
    assert Message.objects.get(pk=failed.pk).status == Status.FAILED


def test_a_backlog_bigger_than_a_batch_is_erased_over_several_runs():
    rides = [ended_ride(ago=PERIOD + timedelta(days=n)) for n in range(1, 6)]  # 10 messages
    runs = [retention_sweep(now=NOW, batch=4) for _ in range(4)]
    assert [run["ride messages"] for run in runs] == [4, 4, 2, 0]
    # A ride's own data goes once none of its messages is left.
    assert [run["rides"] for run in runs] == [2, 2, 1, 0]
    assert not Message.objects.filter(erased_at=None).exists()
    assert all(ride.start == ERASED for ride in Ride.objects.filter(pk__in=[r.pk for r in rides]))


def test_an_erased_ride_still_shows_its_history_in_the_admin(admin_client):
    ride = ended_ride(ago=PERIOD + MINUTE, customer=factories.customer(phone=CUSTOMER))
    retention_sweep(now=NOW)
    page = admin_client.get(f"/admin/rides/ride/{ride.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert ERASED in text and CUSTOMER not in text and "I am at the gate" not in text
    listed = admin_client.get("/admin/providers/message/", {"session": ride.session})
    assert listed.status_code == 200 and listed.content.decode().count(ERASED) >= 2
