"""Property-based fuzzing of the staff API's query parameters, paths and bodies, as a
superuser: every answer is a success or a 4xx with a reason, never a 5xx (the test
client raises on one)."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests import factories

from .test_webhook_fuzz import METACHARACTERS, json_values, odd_numbers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("count_answers")]

FUZZ = settings(
    max_examples=int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

LISTS = ["/api/numbers/", "/api/rides/", "/api/conversations/"]
DETAILS = ["/api/numbers/{}/", "/api/rides/{}/", "/api/conversations/{}/", "/api/rides/{}/close/"]
PARAMETERS = ["limit", "offset", "service", "provider", "status", "state", "number"]

odd_values = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["", "0", "1000", "1001", "9223372036854775807", "9223372036854775808"]),
    st.sampled_from(["rides", "conversations", "console", "open", "active", "+14155550100"]),
    st.sampled_from(METACHARACTERS),
    odd_numbers.map(str),
    st.text(max_size=60),
)
queries = st.dictionaries(
    st.sampled_from(PARAMETERS) | st.text(max_size=10), odd_values, max_size=4
)
ids = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["1", "0", "%00", "1%00", "9223372036854775808", "..", "%2e%2e", "1.5"]),
    st.text(alphabet="0123456789abc-_.%", min_size=1, max_size=30),
)


@pytest.fixture
def api(admin_user) -> APIClient:
    factories.proxy_number(number="+12065440160")
    factories.ride()
    factories.conversation()
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@FUZZ
@given(path=st.sampled_from(LISTS), query=queries)
@example(path="/api/numbers/", query={"provider": "\x00"})
@example(path="/api/rides/", query={"limit": "100000000000000000000"})
@example(path="/api/conversations/", query={"offset": "9223372036854775808"})
def test_list_query_parameters_never_fail(api, path, query):
    response = api.get(path, query)
    # 404: DRF's ?format= for a format it does not render.
    assert response.status_code in {200, 400, 404}, response.content


@FUZZ
@given(template=st.sampled_from(DETAILS), ident=ids)
@example(template="/api/rides/{}/", ident="9223372036854775808")
def test_detail_paths_never_fail(api, template, ident):
    path = template.format(ident)
    response = api.post(path) if path.endswith("/close/") else api.get(path)
    assert response.status_code in {200, 404}, response.content


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@st.composite
def bodies(draw) -> tuple[str, bytes]:
    """(content type, body): near-valid bookings and numbers with odd fields, any JSON,
    raw bytes, deep nesting."""
    kind = draw(st.sampled_from(["ride", "number", "json", "raw", "deep"]))
    if kind == "ride":
        party = st.fixed_dictionaries({"name": st.text(max_size=20), "phone": odd_numbers})
        fields = {
            "customer": draw(party | json_values),
            "driver": draw(party | json_values),
            "start": draw(st.text(max_size=30) | json_values),
            "destination": draw(st.sampled_from(METACHARACTERS) | json_values),
            "pickup_at": draw(
                st.sampled_from(["2030-01-01T10:00:00Z", "9999-12-31T23:59:59", "0000"])
                | st.text(max_size=30)
            ),
        }
        return "application/json", json.dumps(fields).encode()
    if kind == "number":
        fields = {
            "number": draw(odd_numbers | json_values),
            "provider": draw(st.sampled_from(["console", "messagebird", "flowroute"]) | odd_values),
            "service": draw(st.sampled_from(["rides", "conversations"]) | odd_values),
            "sms": draw(json_values),
            "voice": draw(json_values),
        }
        return "application/json", json.dumps(fields).encode()
    if kind == "json":
        return "application/json", json.dumps(draw(json_values)).encode()
    if kind == "deep":
        return "application/json", _deep(draw(st.sampled_from([1000, 100_000])))
    content_type = draw(
        st.sampled_from(
            ["application/json", "application/x-www-form-urlencoded", "multipart/form-data", ""]
        )
    )
    return content_type, draw(st.binary(max_size=300))


@FUZZ
@given(path=st.sampled_from(["/api/rides/", "/api/numbers/"]), body=bodies())
@example(path="/api/rides/", body=("application/json", _deep(100_000)))
def test_bodies_never_fail(api, path, body):
    content_type, raw = body
    response = api.generic("POST", path, raw, content_type=content_type)
    assert response.status_code in {201, 400, 409, 415}, response.content
