from __future__ import annotations

import io
from datetime import timedelta

import pytest
import yaml
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from providers.models import Message
from rides.models import Customer, Driver, Ride, RideStatus
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(admin_user) -> APIClient:
    out = io.StringIO()
    call_command("drf_create_token", admin_user.username, stdout=out)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().split()[2]}")
    return client


def payload(**overrides) -> dict:
    data = {
        "customer": {"name": "Alice", "phone": "(415) 555-0123"},
        "driver": {"name": "Bob", "phone": "+1 650 555 0199"},
        "start": "Central Station",
        "destination": "Airport",
        "pickup_at": (timezone.now() + timedelta(hours=1)).isoformat(),
    }
    data.update(overrides)
    return data


def test_booking_a_ride_allocates_a_number_and_texts_both_parties(api):
    factories.proxy_number(number="+12065550100")
    response = api.post("/api/rides/", payload(), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["proxy_number"] == "+12065550100"
    assert body["status"] == "open"
    assert body["customer"]["phone"] == "+14155550123"
    assert body["driver"]["phone"] == "+16505550199"
    texted = Message.objects.filter(session=f"ride:{body['id']}")
    assert sorted(texted.values_list("recipient", flat=True)) == ["+14155550123", "+16505550199"]


def test_people_are_matched_by_phone_and_their_names_updated(api):
    factories.proxy_number()
    factories.proxy_number()
    known = factories.customer(name="Alice Old", phone="+14155550123")
    response = api.post("/api/rides/", payload(), format="json")
    assert response.json()["customer"]["id"] == known.pk
    known.refresh_from_db()
    assert known.name == "Alice"
    api.post("/api/rides/", payload(), format="json")
    assert (Customer.objects.count(), Driver.objects.count()) == (1, 1)


def test_pool_exhausted_is_a_409_and_creates_nobody(api):
    factories.proxy_number()
    assert api.post("/api/rides/", payload(), format="json").status_code == 201
    other_driver = {"name": "Carol", "phone": "+16505550111"}
    response = api.post("/api/rides/", payload(driver=other_driver), format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "pool_exhausted"
    assert body["reason"] == "in_use"
    assert "Add numbers" in body["detail"]
    assert not Driver.objects.filter(phone="+16505550111").exists()
    assert Ride.objects.count() == 1


def test_empty_pool_is_a_409_saying_there_is_no_number(api):
    response = api.post("/api/rides/", payload(), format="json")
    assert response.status_code == 409
    assert response.json()["reason"] == "no_numbers"


@pytest.mark.parametrize(
    ("overrides", "field_path"),
    [
        ({"customer": {"name": "Alice", "phone": "not a phone"}}, ("customer", "phone")),
        ({"driver": {"name": "Bob", "phone": "123"}}, ("driver", "phone")),
        ({"pickup_at": "tomorrow-ish"}, ("pickup_at",)),
        ({"start": ""}, ("start",)),
        ({"driver": {"name": "Bob", "phone": "+14155550123"}}, ("driver", "phone")),
        ({"customer": {"phone": "+14155550123"}}, ("customer", "name")),
    ],
    ids=["bad-customer-phone", "bad-driver-phone", "bad-time", "no-start", "same-phone", "no-name"],
)
def test_invalid_input_is_a_400_with_field_errors(api, overrides, field_path):
    factories.proxy_number()
    response = api.post("/api/rides/", payload(**overrides), format="json")
    assert response.status_code == 400
    errors = response.json()
    for key in field_path:
        errors = errors[key]
    assert errors
    assert Ride.objects.count() == 0


def test_pickup_time_whose_window_is_over_is_a_400(api):
    factories.proxy_number()
    old = (timezone.now() - timedelta(days=3)).isoformat()
    response = api.post("/api/rides/", payload(pickup_at=old), format="json")
    assert response.status_code == 400
    assert "pickup_at" in response.json()


@pytest.mark.parametrize("when", ["9999-12-31T23:59:00Z", "2199-01-01T10:00:00Z"])
def test_pickup_time_years_ahead_is_a_400(api, when):
    factories.proxy_number()
    response = api.post("/api/rides/", payload(pickup_at=when), format="json")
    assert response.status_code == 400
    assert "year ahead" in response.json()["pickup_at"][0]


def test_unknown_status_filter_is_a_400(api):
    response = api.get("/api/rides/", {"status": "bogus"})
    assert response.status_code == 400
    assert "status" in response.json()


def test_body_that_is_not_json_is_a_4xx(api):
    response = api.post("/api/rides/", data="customer=x", content_type="text/plain")
    assert response.status_code == 415


def test_list_retrieve_and_filter_by_status(api):
    proxy = factories.proxy_number()
    current = factories.ride(proxy=proxy)
    past = factories.ride(proxy=proxy, pickup_at=timezone.now() - timedelta(hours=30))

    listed = api.get("/api/rides/").json()
    assert [r["id"] for r in listed["results"]] == [past.pk, current.pk]
    assert {r["id"]: r["status"] for r in listed["results"]} == {
        past.pk: "expired",
        current.pk: "open",
    }
    only_open = api.get("/api/rides/", {"status": "open"}).json()
    assert [r["id"] for r in only_open["results"]] == [current.pk]
    only_expired = api.get("/api/rides/", {"status": "expired"}).json()
    assert [r["id"] for r in only_expired["results"]] == [past.pk]

    one = api.get(f"/api/rides/{current.pk}/").json()
    assert one["proxy_number"] == proxy.number
    assert api.get("/api/rides/999999/").status_code == 404


def test_closing_a_ride_ends_its_masking(api):
    ride = factories.ride(proxy=factories.proxy_number())
    response = api.post(f"/api/rides/{ride.pk}/close/")
    assert response.status_code == 200
    assert response.json()["status"] == RideStatus.CLOSED
    ride.refresh_from_db()
    assert ride.status == RideStatus.CLOSED
    again = api.post(f"/api/rides/{ride.pk}/close/")
    assert again.status_code == 200
    assert again.json()["status"] == RideStatus.CLOSED


def test_the_api_needs_a_staff_token():
    anonymous = APIClient()
    assert anonymous.get("/api/rides/").status_code == 401
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert wrong.post("/api/rides/", payload(), format="json").status_code == 401


def test_schema_describes_the_rides_endpoints(admin_client):
    schema = yaml.safe_load(admin_client.get("/api/schema/").content)
    paths = schema["paths"]
    create = paths["/api/rides/"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/RideCreateRequest"
    )
    assert set(create["responses"]) >= {"201", "400", "409"}
    conflict = create["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    assert conflict.endswith("/PoolExhausted")
    assert "get" in paths["/api/rides/"]
    assert "get" in paths["/api/rides/{id}/"]
    assert "post" in paths["/api/rides/{id}/close/"]
    ride = schema["components"]["schemas"]["Ride"]["properties"]
    assert {"proxy_number", "status", "customer", "driver", "pickup_at"} <= set(ride)
    request = schema["components"]["schemas"]["RideCreateRequest"]
    assert set(request["required"]) == {"customer", "driver", "start", "destination", "pickup_at"}
