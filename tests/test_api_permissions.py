"""Every API endpoint asks what the admin asks: staff, and the model permission of the
operation. Anonymous callers get 401, staff without the permission 403."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from providers.models import Direction, Message, ProxyNumber, Status
from rides.models import Ride
from tests import factories

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    needs: tuple[str, ...]
    ok: int = 200
    body: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _booking() -> dict:
    return {
        "customer": {"name": "Alice", "phone": "+14155550123"},
        "driver": {"name": "Bob", "phone": "+16505550199"},
        "start": "Central Station",
        "destination": "Airport",
        "pickup_at": (timezone.now() + timedelta(hours=1)).isoformat(),
    }


BOOKING = ("rides.add_ride",) + tuple(
    f"rides.{verb}_{model}" for model in ("customer", "driver") for verb in ("add", "change")
)
ENDPOINTS = [
    Endpoint("GET", "/api/numbers/", ("providers.view_proxynumber",)),
    Endpoint("GET", "/api/numbers/{number}/", ("providers.view_proxynumber",)),
    Endpoint(
        "POST",
        "/api/numbers/",
        ("providers.add_proxynumber",),
        ok=201,
        body={"number": "+12065550199", "provider": "console", "service": "rides"},
    ),
    Endpoint("GET", "/api/rides/", ("rides.view_ride",)),
    Endpoint("GET", "/api/rides/{ride}/", ("rides.view_ride",)),
    Endpoint("POST", "/api/rides/", BOOKING, ok=201, body={"booking": True}),
    Endpoint("POST", "/api/rides/{ride}/close/", ("rides.change_ride",)),
    Endpoint("GET", "/api/conversations/", ("conversations.view_conversation",)),
    Endpoint("GET", "/api/conversations/{conversation}/", ("conversations.view_conversation",)),
    Endpoint("GET", "/api/opt-outs/", ("providers.view_optout",)),
    Endpoint("GET", "/api/messages/", ("providers.view_message",)),
    Endpoint("GET", "/api/messages/{message}/", ("providers.view_message",)),
]


@pytest.fixture
def data() -> dict[str, int]:
    factories.proxy_number(number="+12065440150")
    ride = factories.ride()
    item = factories.conversation(
        proxy=factories.conversations_number(), starter=factories.conversations_person()
    )
    message = Message.objects.create(
        direction=Direction.INBOUND,
        provider="console",
        proxy=ride.proxy,
        sender=ride.customer.phone,
        recipient=ride.proxy.number,
        status=Status.RECEIVED,
        session=ride.session,
    )
    return {
        "number": ride.proxy_id,
        "ride": ride.pk,
        "conversation": item.pk,
        "message": message.pk,
    }


def call(client: APIClient, endpoint: Endpoint, data: dict[str, int]):
    body = _booking() if endpoint.body.get("booking") else endpoint.body
    path = endpoint.path.format(**data)
    return client.generic(
        endpoint.method, path, json.dumps(body) if body else "", content_type="application/json"
    )


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _written() -> tuple[int, int, set[str]]:
    return (
        ProxyNumber.objects.count(),
        Ride.objects.count(),
        set(Ride.objects.values_list("status", flat=True)),
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_anonymous_callers_are_refused_with_401(client, data, endpoint):
    before = _written()
    assert call(APIClient(), endpoint, data).status_code == 401
    assert _written() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_staff_without_the_permission_are_refused_with_403_and_nothing_changes(data, endpoint):
    # Every other permission of the project, but not (all of) the ones needed.
    others = [
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type")
        if f"{p.content_type.app_label}.{p.codename}" not in endpoint.needs
    ]
    for missing in endpoint.needs:
        held = [*others, *(p for p in endpoint.needs if p != missing)]
        user = factories.staff_with(*held, username=f"lacks-{missing}")
        before = _written()
        response = call(token_client(user), endpoint, data)
        assert response.status_code == 403, (missing, response.content)
        assert _written() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_staff_with_the_permission_are_served(data, endpoint):
    user = factories.staff_with(*endpoint.needs)
    response = call(token_client(user), endpoint, data)
    assert response.status_code == endpoint.ok, response.content


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_a_user_with_the_permission_but_not_staff_is_refused(data, endpoint):
    user = factories.staff_with(*endpoint.needs)
    user.is_staff = False
    user.save()
    assert call(token_client(user), endpoint, data).status_code == 403


def test_the_api_root_needs_staff(data):
    assert APIClient().get("/api/").status_code == 401
    plain = factories.staff_with()
    plain.is_staff = False
    plain.save()
    assert token_client(plain).get("/api/").status_code == 403
    assert token_client(factories.staff_with(username="staff2")).get("/api/").status_code == 200


def test_the_platform_backend_command_makes_a_user_whose_token_books_and_closes_rides(data):
    out = io.StringIO()
    call_command("platform_backend", "dispatch", stdout=out)
    call_command("platform_backend", "dispatch", stdout=out)  # again: changes nothing
    token = io.StringIO()
    call_command("drf_create_token", "dispatch", stdout=token)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.getvalue().split()[2]}")

    booked = client.post("/api/rides/", _booking(), format="json")
    assert booked.status_code == 201, booked.content
    closed = client.post(f"/api/rides/{booked.json()['id']}/close/")
    assert closed.status_code == 200
    assert client.get("/api/rides/").status_code == 200
    # Nothing beyond rides: the pool and the conversations are not its business.
    assert client.get("/api/numbers/").status_code == 403
    assert (
        client.post(
            "/api/numbers/", {"number": "+12065550198", "provider": "console"}, format="json"
        ).status_code
        == 403
    )
    assert client.get("/api/conversations/").status_code == 403
    group = Group.objects.get(name="platform backend")
    assert group.user_set.get().username == "dispatch"
    user = group.user_set.get()
    assert user.is_staff and not user.has_usable_password() and not user.is_superuser
    assert not ProxyNumber.objects.filter(number="+12065550198").exists()
