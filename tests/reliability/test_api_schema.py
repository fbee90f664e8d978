"""Schemathesis against the OpenAPI schema of the REST API, in-process through WSGI.

Every operation of /api/schema/ is called with generated valid and invalid data as a
staff user: no 5xx, and every documented answer matches the schema (content type,
body). Error statuses (400, 404) are not documented by the schema, so status-code
conformance is not checked.
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)


def _load_schema() -> schemathesis.specs.openapi.schemas.OpenApiSchema:
    """The schema /api/schema/ serves (staff only, so generated here rather than
    fetched: no user exists when tests are collected), called through WSGI."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(generated)))
    loaded.app = get_wsgi_application()
    loaded.location = "/api/schema/"
    return loaded


schema = _load_schema()

# Per operation (twelve of them): `make reliability` sets RELIABILITY_FUZZ_EXAMPLES for
# every fuzzer, and this one, whose examples cost more, takes a third of it.
EXAMPLES = int(
    os.environ.get("RELIABILITY_API_EXAMPLES")
    or int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "90")) // 3
)


@pytest.fixture
def _test_connection_stays_open():
    """Like Django's test client: a request must not close the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def staff_token(db, django_user_model) -> str:
    user = django_user_model.objects.create_superuser("api-staff", "", "api-staff-password")
    return Token.objects.create(user=user).key


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_to_its_schema(case, staff_token, _test_connection_stays_open, count_answers):
    case.call_and_validate(
        headers={"Authorization": f"Token {staff_token}"},
        checks=[not_a_server_error, content_type_conformance, response_schema_conformance],
    )
