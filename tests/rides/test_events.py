"""Events the rides service tells the platform: relays, calls, ended rides, a full pool."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from providers.inbound import inbound_call_receive, inbound_sms_receive
from providers.models import Event, Message
from providers.types import InboundCall, InboundSms
from rides.models import RideStatus
from rides.services import ride_close, rides_expire
from tests import factories
from tests.events import emitted, received
from tests.texting import text

from .test_admin import ADD, add_form
from .test_api import api, payload  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

CUSTOMER = "+14155550123"
DRIVER = "+16505550199"


def a_ride(**kwargs):
    proxy = factories.proxy_number(number="+12065550100")
    return factories.ride(
        customer=factories.customer(name="Alice", phone=CUSTOMER),
        driver=factories.driver(name="Bob", phone=DRIVER),
        proxy=proxy,
        **kwargs,
    )


def test_a_relayed_text_is_told_once_even_when_the_vendor_sends_it_twice(
    events_on, django_capture_on_commit_callbacks
):
    ride = a_ride()
    inbound = InboundSms(
        provider="console", sender=CUSTOMER, recipient="+12065550100", text="at the gate",
        vendor_id="in-1",
    )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        first = inbound_sms_receive(inbound=inbound).message
        inbound_sms_receive(inbound=inbound)

    relay = Message.objects.get(in_reply_to=first)
    [payload] = emitted()
    assert payload["type"] == "message.relayed"
    assert payload["data"] == {
        "session": ride.session,
        "message_id": relay.pk,
        "proxy_number": "+12065550100",
        "direction": "out",
        "kind": "sms",
        "status": "queued",
        "provider": "console",
        "from": "+12065550100",
        "to": "+16*******99",
        "in_reply_to": first.pk,
    }
    assert [got["payload"]["id"] for got in received(events_on)] == [payload["id"]]


def test_a_stranger_s_reply_is_not_a_relay(events_on):
    a_ride()

    text("+13125550142", "who is this", to="+12065550100")

    assert emitted() == []


def test_a_call_put_through_to_the_other_party_is_told(events_on):
    ride = a_ride()
    call = InboundCall(provider="console", caller=DRIVER, recipient="+12065550100", vendor_id="c")

    inbound_call_receive(inbound=call)

    [payload] = emitted("call.transferred")
    assert payload["data"]["session"] == ride.session
    assert (payload["data"]["from"], payload["data"]["transferred_to"]) == (
        "+16*******99",
        "+14*******23",
    )


def test_closing_a_ride_is_told_once(events_on):
    ride = a_ride()

    assert ride_close(ride=ride)
    assert not ride_close(ride=ride)

    [payload] = emitted()
    assert payload["type"] == "ride.ended"
    assert payload["data"] | {"ended_at": None} == {
        "session": ride.session,
        "ride_id": ride.pk,
        "proxy_number": "+12065550100",
        "reason": "closed",
        "ended_at": None,
        "customer": "+14*******23",
        "driver": "+16*******99",
    }


def test_a_ride_past_its_window_is_told_once_as_expired(events_on):
    ride = a_ride(pickup_at=timezone.now() - timedelta(hours=1))
    after = ride.masking_ends_at + timedelta(minutes=1)

    assert rides_expire(now=after) == 1
    assert rides_expire(now=after) == 0
    assert not ride_close(ride=ride)

    ride.refresh_from_db()
    assert ride.status == RideStatus.EXPIRED
    [payload] = emitted()
    assert (payload["type"], payload["data"]["reason"]) == ("ride.ended", "expired")


def test_a_ride_the_api_cannot_book_for_want_of_a_number_is_told(events_on, api):  # noqa: F811
    factories.proxy_number()
    assert api.post("/api/rides/", payload(), format="json").status_code == 201
    other_driver = {"name": "Carol", "phone": "+16505550111"}

    assert api.post("/api/rides/", payload(driver=other_driver), format="json").status_code == 409

    [event] = emitted("pool.exhausted")
    assert event["data"] == {
        "service": "rides",
        "reason": "in_use",
        "customer": "+14*******23",
        "driver": "+16*******11",
    }


def test_a_ride_staff_cannot_book_for_want_of_a_number_is_told(events_on, admin_client):
    response = admin_client.post(ADD, add_form(factories.customer(), factories.driver()))

    assert "no active rides number" in response.content.decode()
    [event] = emitted("pool.exhausted")
    assert event["data"]["reason"] == "no_numbers"


def test_without_an_events_url_rides_tell_nothing(settings, api):  # noqa: F811
    settings.MASKED_NUMBERS_EVENTS_URL = ""
    ride = a_ride()
    text(CUSTOMER, "at the gate", to="+12065550100")
    inbound_call_receive(
        inbound=InboundCall(provider="console", caller=DRIVER, recipient="+12065550100")
    )
    ride_close(ride=ride)
    rides_expire(now=timezone.now() + timedelta(days=30))
    api.post("/api/rides/", payload(), format="json")  # no free number: 409

    assert Event.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite runs one writer at a time"
)
def test_rides_ended_by_sweeps_and_staff_at_the_same_moment_are_told_once_each(settings, events_on):
    from .test_concurrency import PARALLEL, run_together

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    proxy = factories.proxy_number()
    past = timezone.now() - timedelta(days=2)
    rides = [factories.ride(proxy=proxy, pickup_at=past) for _ in range(5)]
    rides += [factories.ride(proxy=proxy) for _ in range(5)]

    run_together(
        [rides_expire] * (PARALLEL // 2)
        + [lambda: [ride_close(ride=ride) for ride in rides]] * (PARALLEL // 2)
    )

    told = Counter(payload["data"]["ride_id"] for payload in emitted("ride.ended"))
    assert told == Counter({ride.pk: 1 for ride in rides})
