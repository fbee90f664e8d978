"""Bad input to the API is a 400 with its reason, never a 500."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from rides.models import Ride
from tests import factories

pytestmark = pytest.mark.django_db

LISTS = ["/api/numbers/", "/api/rides/", "/api/conversations/"]


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=100000000000000000000", "limit"),
        ("limit=1001", "limit"),
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("offset=100000000000000000000", "offset"),
        ("offset=-1", "offset"),
        ("offset=%00", "offset"),
    ],
)
def test_an_out_of_range_page_is_a_400_naming_the_parameter(api, path, query, field):
    response = api.get(f"{path}?{query}")

    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.parametrize("path", LISTS)
def test_the_largest_page_is_served(api, path):
    factories.proxy_number()
    response = api.get(f"{path}?limit=1000&offset=9223372036854775807")
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("provider=%00", "provider"),
        ("provider=console%00", "provider"),
        ("service=%00", "service"),
        ("service=taxis", "service"),
        ("provider=" + "x" * 33, "provider"),
    ],
)
def test_a_bad_number_filter_is_a_400_naming_it(api, query, field):
    response = api.get(f"/api/numbers/?{query}")

    assert response.status_code == 400, response.content
    assert field in response.json()


def test_number_filters_still_filter(api):
    rides = factories.proxy_number(provider="console")
    factories.proxy_number(provider="messagebird", service="conversations")
    response = api.get("/api/numbers/?provider=console&service=rides")
    assert [item["id"] for item in response.json()["results"]] == [rides.pk]


@pytest.mark.parametrize("path", ["/api/rides/", "/api/numbers/"])
def test_json_nested_too_deeply_is_a_400(api, path):
    body = b"[" * 100_000 + b"]" * 100_000

    response = api.generic("POST", path, body, content_type="application/json")

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
    assert not Ride.objects.exists()


@pytest.mark.parametrize(
    "query",
    ["status=%00", "status=open%00"],
)
def test_a_nul_in_the_rides_filter_is_a_400(api, query):
    assert api.get(f"/api/rides/?{query}").status_code == 400


@pytest.mark.parametrize("query", ["state=%00", "number=%00", "number=%2B1415555%000123"])
def test_a_nul_in_a_conversations_filter_is_a_400(api, query):
    assert api.get(f"/api/conversations/?{query}").status_code == 400
