"""The API can be found and used from what it shows: its root, its forms, its schema."""

from __future__ import annotations

import pytest
import yaml
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import factories

pytestmark = pytest.mark.django_db


def test_the_api_root_lists_every_endpoint(admin_client):
    response = admin_client.get("/api/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert set(response.json()) == {"numbers", "rides", "conversations", "opt-outs", "messages"}
    for url in response.json().values():
        assert admin_client.get(url, HTTP_ACCEPT="application/json").status_code == 200


def test_the_browsable_rides_form_shows_what_a_booking_takes(admin_client):
    page = admin_client.get("/api/rides/", HTTP_ACCEPT="text/html").content.decode()
    form = page.split('id="post-generic-content-form"')[1].split("</form>")[0]
    for field in ["customer", "driver", "start", "destination", "pickup_at", "phone"]:
        assert field in form
    for read_only in ["proxy_number", "masking_ends_at", "created_at", "ended_at"]:
        assert read_only not in form


def test_every_operation_has_a_summary(admin_client):
    schema = yaml.safe_load(admin_client.get("/api/schema/").content)
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if not operation.get("summary")
    ]
    assert missing == []


def test_the_number_filters_are_in_the_schema(admin_client):
    schema = yaml.safe_load(admin_client.get("/api/schema/").content)
    names = {p["name"] for p in schema["paths"]["/api/numbers/"]["get"]["parameters"]}
    assert {"service", "provider", "limit", "offset"} <= names


def test_the_message_log_filters_and_fields_are_in_the_schema(admin_client):
    schema = yaml.safe_load(admin_client.get("/api/schema/").content)
    names = {p["name"] for p in schema["paths"]["/api/messages/"]["get"]["parameters"]}
    assert {"session", "proxy_number", "direction", "status", "since", "limit", "offset"} <= names
    message = schema["components"]["schemas"]["Message"]["properties"]
    assert {"id", "session", "proxy_number", "vendor_id", "status", "error", "sent_at"} <= set(
        message
    )
    assert "/api/messages/{id}/" in schema["paths"]
    assert all(m == "get" for m in schema["paths"]["/api/messages/{id}/"] if m != "parameters")


@pytest.mark.parametrize("keyword", ["Token", "Bearer"])
def test_a_token_is_accepted_after_token_or_bearer(admin_user, keyword):
    factories.proxy_number()
    client = APIClient()
    key = Token.objects.create(user=admin_user).key
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")
    assert client.get("/api/numbers/").status_code == 200


def test_a_wrong_bearer_token_is_refused_clearly():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = client.get("/api/numbers/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


def test_the_schema_documents_the_bearer_scheme(admin_client):
    schema = yaml.safe_load(admin_client.get("/api/schema/").content)
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The API token.",
    }
