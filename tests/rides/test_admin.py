from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from providers.models import Direction, Message, Status
from rides.models import Ride, RideStatus
from tests import factories

from .conftest import MESSAGEBIRD_MESSAGES

pytestmark = pytest.mark.django_db

ADD = "/admin/rides/ride/add/"
CHANGELIST = "/admin/rides/ride/"


def add_form(customer, driver, **overrides) -> dict:
    pickup = timezone.localtime(timezone.now() + timedelta(hours=2))
    data = {
        "customer": customer.pk,
        "driver": driver.pk,
        "start": "Central Station",
        "destination": "Airport",
        "pickup_at_0": pickup.strftime("%Y-%m-%d"),
        "pickup_at_1": pickup.strftime("%H:%M:%S"),
    }
    data.update(overrides)
    return data


def test_staff_create_a_ride_and_both_parties_are_texted(admin_client):
    proxy = factories.proxy_number()
    alice, bob = factories.customer(name="Alice"), factories.driver(name="Bob")

    response = admin_client.post(ADD, add_form(alice, bob), follow=True)

    assert response.status_code == 200
    ride = Ride.objects.get()
    assert (ride.proxy, ride.status) == (proxy, RideStatus.OPEN)
    assert f"Ride {ride.pk} is on {proxy.number}" in response.content.decode()
    texts = Message.objects.filter(session=ride.session, direction=Direction.OUTBOUND)
    assert sorted(texts.values_list("recipient", flat=True)) == sorted([alice.phone, bob.phone])
    assert {t.sender for t in texts} == {proxy.number}


def test_exhausted_pool_shows_the_cause_and_what_to_do_and_creates_nothing(admin_client):
    factories.proxy_number()
    alice = factories.customer(name="Alice")
    factories.ride(customer=alice)

    response = admin_client.post(ADD, add_form(alice, factories.driver(name="Dan")))

    assert response.status_code == 200
    page = response.content.decode()
    assert "errornote" in page
    assert "in use by an open ride of Alice or Dan" in page
    assert "Add numbers to the pool" in page
    assert Ride.objects.count() == 1
    assert Message.objects.count() == 0


def test_empty_pool_says_there_is_no_rides_number(admin_client):
    response = admin_client.post(ADD, add_form(factories.customer(), factories.driver()))
    assert "no active rides number" in response.content.decode()
    assert not Ride.objects.exists()


def test_past_pickup_time_is_a_form_error(admin_client):
    factories.proxy_number()
    past = timezone.localtime(timezone.now() - timedelta(days=3))
    form = add_form(factories.customer(), factories.driver(), pickup_at_0=past.strftime("%Y-%m-%d"))
    response = admin_client.post(ADD, form)
    assert "masking window is over" in response.content.decode()
    assert not Ride.objects.exists()


def test_ride_page_shows_its_messages_and_calls(admin_client, django_capture_on_commit_callbacks):
    import json

    ride = factories.ride(proxy=factories.proxy_number(number="+12065550100"))
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/webhooks/console/sms/",
            data=json.dumps({"from": ride.customer.phone, "to": "+12065550100", "text": "Hi Bob"}),
            content_type="application/json",
        )
    admin_client.get("/webhooks/console/voice/", {"from": ride.driver.phone, "to": "+12065550100"})

    page = admin_client.get(f"/admin/rides/ride/{ride.pk}/change/").content.decode()

    assert 'class="ride-log"' in page
    assert page.count("Hi Bob") == 2
    assert "Call" in page and "Transferred" in page
    assert f"customer ({ride.customer})" in page


def test_end_masking_action_closes_open_rides(admin_client):
    ride = factories.ride(proxy=factories.proxy_number())
    response = admin_client.post(
        CHANGELIST,
        {"action": "end_masking", "_selected_action": [ride.pk], "post": "yes"},
        follow=True,
    )
    assert "Masking ended for 1 ride(s)." in response.content.decode()
    ride.refresh_from_db()
    assert ride.status == RideStatus.CLOSED


def test_resend_action_queues_a_failed_notification_again(
    admin_client, mocked_responses, django_capture_on_commit_callbacks
):
    mocked_responses.add(
        responses.POST,
        MESSAGEBIRD_MESSAGES,
        json={"errors": [{"code": 21, "description": "Bad request"}]},
        status=422,
    )
    proxy = factories.proxy_number(provider="messagebird")
    with django_capture_on_commit_callbacks(execute=True):
        ride = factories.ride(notify=True)
    assert ride.proxy == proxy
    assert set(Message.objects.values_list("status", flat=True)) == {Status.FAILED}

    mocked_responses.replace(responses.POST, MESSAGEBIRD_MESSAGES, json={"id": "ok"}, status=201)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            CHANGELIST,
            {"action": "resend_notifications", "_selected_action": [ride.pk], "post": "yes"},
            follow=True,
        )

    assert "2 failed notification(s) queued again." in response.content.decode()
    assert set(Message.objects.values_list("status", flat=True)) == {Status.SENT}


def test_changelist_marks_rides_past_their_window_and_filters_by_status(admin_client):
    proxy = factories.proxy_number()
    current = factories.ride(proxy=proxy)
    past = factories.ride(proxy=proxy, pickup_at=timezone.now() - timedelta(hours=30))

    response = admin_client.get(CHANGELIST, {"status__exact": "expired"})

    assert response.status_code == 200
    past.refresh_from_db()
    assert past.status == RideStatus.EXPIRED
    shown = list(response.context["cl"].result_list)
    assert shown == [past]
    assert current not in shown


def test_changelist_filters_by_number_and_searches_names_and_phones(admin_client):
    first, second = factories.proxy_number(), factories.proxy_number()
    alice = factories.customer(name="Alice Liddell", phone="+14155550123")
    on_first = factories.ride(customer=alice, proxy=first)
    on_second = factories.ride(proxy=second)

    by_number = admin_client.get(CHANGELIST, {"proxy__id__exact": second.pk})
    assert list(by_number.context["cl"].result_list) == [on_second]
    by_name = admin_client.get(CHANGELIST, {"q": "Liddell"})
    assert list(by_name.context["cl"].result_list) == [on_first]
    by_phone = admin_client.get(CHANGELIST, {"q": "+14155550123"})
    assert list(by_phone.context["cl"].result_list) == [on_first]
    as_written = admin_client.get(CHANGELIST, {"q": "(415) 555-0123"})
    assert list(as_written.context["cl"].result_list) == [on_first]
    by_proxy = admin_client.get(CHANGELIST, {"q": second.number})
    assert list(by_proxy.context["cl"].result_list) == [on_second]


def test_customer_search_matches_a_phone_typed_as_written(admin_client):
    alice = factories.customer(name="Alice", phone="+14155550123")
    factories.customer(name="Zed")
    response = admin_client.get("/admin/rides/customer/", {"q": "(415) 555-0123"})
    assert list(response.context["cl"].result_list) == [alice]


def test_staff_add_a_driver_with_a_phone_in_any_format(admin_client):
    from rides.models import Driver

    admin_client.post("/admin/rides/driver/add/", {"name": "Bob", "phone": "(650) 555-0199"})
    assert Driver.objects.get().phone == "+16505550199"
    response = admin_client.post(
        "/admin/rides/driver/add/", {"name": "Bo", "phone": "+16505550199"}
    )
    assert "already exists" in response.content.decode()
    response = admin_client.post("/admin/rides/driver/add/", {"name": "X", "phone": "12"})
    assert "Not a valid phone number" in response.content.decode()


def test_ride_page_shows_a_ride_past_its_window_as_expired(admin_client):
    ride = factories.ride(
        proxy=factories.proxy_number(), pickup_at=timezone.now() - timedelta(hours=30)
    )
    page = admin_client.get(f"/admin/rides/ride/{ride.pk}/change/").content.decode()
    assert "Expired" in page
    assert 'name="_save"' not in page


def test_expire_command_marks_only_rides_past_their_window():
    from io import StringIO

    from django.core.management import call_command

    proxy = factories.proxy_number()
    current = factories.ride(proxy=proxy)
    past = factories.ride(proxy=proxy, pickup_at=timezone.now() - timedelta(hours=30))
    out = StringIO()
    call_command("rides_expire", stdout=out)
    assert out.getvalue().strip() == "1 ride(s) expired."
    current.refresh_from_db()
    past.refresh_from_db()
    assert (current.status, past.status) == (RideStatus.OPEN, RideStatus.EXPIRED)
