"""Opt-outs through the API: a read-only, masked list under the model permissions."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from providers.consent import is_opted_out, opt_in_record, opt_out_record
from providers.models import OptOut
from tests import factories

pytestmark = pytest.mark.django_db

ALICE, BOB = "+14155550123", "+14155550456"


@pytest.fixture
def opt_outs():
    first = factories.proxy_number(number="+12065550100")
    second = factories.proxy_number(number="+12065550177")
    opt_out_record(proxy=first, phone=ALICE, keyword="STOP")
    opt_out_record(proxy=second, phone=BOB, keyword="quit")
    opt_out_record(proxy=first, phone=BOB, keyword="STOP")
    opt_in_record(proxy=first, phone=BOB)
    return first, second


def client_with(*permissions: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(factories.staff_with(*permissions))
    return client


def listed(client: APIClient, **query) -> list[dict]:
    response = client.get("/api/opt-outs/", query)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_staff_see_opt_outs_with_peoples_numbers_masked(opt_outs):
    rows = listed(client_with("providers.view_optout"))
    assert [(r["proxy_number"], r["phone"], r["active"]) for r in rows] == [
        ("+12065550100", "+14*******56", False),
        ("+12065550177", "+14*******56", True),
        ("+12065550100", "+14*******23", True),
    ]
    assert rows[2]["keyword"] == "STOP"


def test_staff_allowed_full_numbers_see_them(opt_outs):
    client = client_with("providers.view_optout", "providers.view_full_numbers")
    assert {r["phone"] for r in listed(client)} == {ALICE, BOB}


def test_the_list_filters_by_pool_number_and_by_active(opt_outs):
    client = client_with("providers.view_optout")
    assert len(listed(client, proxy_number="+12065550100")) == 2
    assert [r["proxy_number"] for r in listed(client, active="true")] == [
        "+12065550177",
        "+12065550100",
    ]
    assert [r["active"] for r in listed(client, active="false")] == [False]


@pytest.mark.parametrize("query", [{"proxy_number": "2065550100"}, {"active": "maybe"}])
def test_a_bad_filter_is_a_400_with_the_reason(opt_outs, query):
    response = client_with("providers.view_optout").get("/api/opt-outs/", query)
    assert response.status_code == 400
    assert set(response.json()) == set(query)


def test_nobody_opts_a_person_back_in_through_the_api(opt_outs):
    first, _ = opt_outs
    client = client_with(
        *(f"providers.{verb}_optout" for verb in ("view", "add", "change", "delete"))
    )
    row = OptOut.objects.get(proxy=first, phone=ALICE)
    assert client.post("/api/opt-outs/", {"proxy_number": first.number}).status_code == 405
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(f"/api/opt-outs/{row.pk}/", {"active": False})
        assert response.status_code == 404
    assert is_opted_out(proxy=first, phone=ALICE)
