from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from providers.models import ProxyNumber
from tests.factories import proxy_number, staff_with

pytestmark = pytest.mark.django_db

URL = "/api/numbers/"


@pytest.fixture
def api(django_user_model) -> APIClient:
    staff = staff_with("providers.view_proxynumber", "providers.add_proxynumber")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    return client


def create(api: APIClient, **fields):
    payload = {"number": "+12065550123", "provider": "messagebird", "service": "rides"}
    return api.post(URL, {**payload, **fields}, format="json")


def test_staff_add_a_number_and_it_is_stored_in_e164_with_its_country(api):
    response = create(api, number="(206) 555-0123", sms=True, voice=True)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("number", "provider", "service", "sms", "voice")} == {
        "number": "+12065550123",
        "provider": "messagebird",
        "service": "rides",
        "sms": True,
        "voice": True,
    }
    assert (body["country"], body["active"]) == ("US", True)
    assert ProxyNumber.objects.get(number="+12065550123").country == "US"


def test_list_shows_the_pool_and_filters_by_service(api):
    proxy_number(number="+12065550100", service="rides")
    proxy_number(number="+12065550101", service="conversations")

    everything = api.get(URL).json()
    conversations = api.get(URL, {"service": "conversations"}).json()

    assert [n["number"] for n in everything["results"]] == ["+12065550100", "+12065550101"]
    assert [n["number"] for n in conversations["results"]] == ["+12065550101"]


@pytest.mark.parametrize("number", ["not a number", "+1206", "12", ""])
def test_invalid_number_is_a_400_with_the_reason(api, number):
    response = create(api, number=number)

    assert response.status_code == 400
    assert "number" in response.json()
    assert not ProxyNumber.objects.exists()


def test_duplicate_number_is_a_400_even_when_written_differently(api):
    proxy_number(number="+12065550123")

    response = create(api, number="1 206 555 0123")

    assert response.status_code == 400
    assert response.json() == {"number": ["+12065550123 is already in the pool."]}


def test_unconfigured_provider_is_a_400_naming_the_configured_ones(api):
    response = create(api, provider="plivo")

    assert response.status_code == 400
    [reason] = response.json()["provider"]
    assert "'plivo' is not configured" in reason
    assert "messagebird" in reason


def test_voice_on_a_provider_without_inbound_calls_is_a_400(api):
    response = create(api, provider="flowroute", voice=True)

    assert response.status_code == 400
    assert "cannot take calls" in response.json()["voice"][0]


def test_a_number_outside_north_america_on_flowroute_is_a_400(api):
    response = create(api, number="+447700900001", provider="flowroute", voice=False)

    assert response.status_code == 400
    assert response.json() == {
        "number": ["flowroute cannot serve +447700900001 (numbers it serves: +1…)."]
    }
    assert not ProxyNumber.objects.exists()


def test_the_same_number_on_a_backend_that_serves_it_is_added(api):
    response = create(api, number="+447700900001", provider="messagebird")

    assert response.status_code == 201, response.json()
    assert response.json()["number"] == "+447700900001"


def test_every_reason_a_backend_cannot_serve_a_number_is_given(api):
    response = create(api, number="+447700900001", provider="flowroute", voice=True)

    assert response.status_code == 400
    assert set(response.json()) == {"number", "voice"}


def test_unknown_service_is_a_400(api):
    response = create(api, service="pizza")

    assert response.status_code == 400
    assert "service" in response.json()


def test_anonymous_requests_are_refused_with_401(client):
    assert client.get(URL).status_code == 401
    assert client.post(URL, {"number": "+12065550123"}).status_code == 401


def test_a_token_of_a_non_staff_user_is_refused_with_403(django_user_model):
    user = django_user_model.objects.create_user("rider", password="x")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    assert client.get(URL).status_code == 403


def test_staff_session_login_works_too(admin_client):
    assert admin_client.get(URL).status_code == 200


def test_numbers_are_described_in_the_openapi_schema(admin_client):
    schema = admin_client.get("/api/schema/", {"format": "json"}).json()

    assert {"get", "post"} <= set(schema["paths"]["/api/numbers/"])
    request = schema["components"]["schemas"]["ProxyNumberRequest"]
    assert {"number", "provider", "service", "sms", "voice"} <= set(request["properties"])
