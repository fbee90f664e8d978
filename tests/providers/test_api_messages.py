"""The message log through the API: read-only, filtered, paginated, masked by permission."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from providers.inbound import receipt_receive
from providers.models import Direction, Kind, Message, Status
from providers.phone import ERASED
from providers.types import DeliveryReceipt
from tests import factories

pytestmark = pytest.mark.django_db

ALICE, BOB = "+14155550123", "+16505550199"
POOL, OTHER_POOL = "+12065440100", "+12065440177"
NOW = timezone.now()


@pytest.fixture
def log():
    """A relayed text (in and out) on a ride, a failed text, a stranger's on another number."""
    pool = factories.proxy_number(number=POOL)
    other = factories.proxy_number(number=OTHER_POOL)

    def add(proxy, direction, *, minutes_ago, **fields):
        inbound = direction == Direction.INBOUND
        return Message.objects.create(
            direction=direction,
            provider="console",
            proxy=proxy,
            sender=fields.pop("sender", proxy.number),
            recipient=fields.pop("recipient", proxy.number),
            status=fields.pop("status", Status.RECEIVED if inbound else Status.SENT),
            created_at=NOW - timedelta(minutes=minutes_ago),
            **fields,
        )

    return {
        "in": add(pool, Direction.INBOUND, minutes_ago=30, sender=ALICE, body="At the gate",
                  session="ride:7", vendor_id="mb-in-1"),
        "out": add(pool, Direction.OUTBOUND, minutes_ago=29, recipient=BOB, body="At the gate",
                   session="ride:7", attempts=1),
        "failed": add(pool, Direction.OUTBOUND, minutes_ago=20, recipient=BOB, body="Hello",
                      session="ride:7", status=Status.FAILED, attempts=3,
                      last_error=f"vendor refused: HTTP 400: {BOB} unreachable"),
        "stranger": add(other, Direction.INBOUND, minutes_ago=5, sender=ALICE, body="hi",
                        outcome="unknown_sender"),
    }  # fmt: skip


def client_with(*permissions: str, username: str = "ops") -> APIClient:
    client = APIClient()
    client.force_authenticate(factories.staff_with(*permissions, username=username))
    return client


def listed(client: APIClient, **query) -> list[dict]:
    response = client.get("/api/messages/", query)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_the_log_lists_newest_first_with_peoples_numbers_masked_and_texts_hidden(log):
    rows = listed(client_with("providers.view_message"))
    assert [r["id"] for r in rows] == [log[k].pk for k in ("stranger", "failed", "out", "in")]
    inbound = rows[-1]
    assert inbound == inbound | {
        "session": "ride:7",
        "direction": "in",
        "kind": Kind.SMS,
        "provider": "console",
        "proxy_number": POOL,
        "vendor_id": "mb-in-1",
        "sender": "+14*******23",
        "recipient": POOL,
        "body": "(text hidden)",
        "status": "received",
        "error": None,
        "attempts": 0,
        "sent_at": None,
        "erased_at": None,
    }
    assert {"created_at", "updated_at", "outcome"} <= set(inbound)
    assert (rows[-2]["sender"], rows[-2]["recipient"]) == (POOL, "+16*******99")


def test_staff_allowed_full_numbers_see_numbers_texts_and_errors_in_full(log):
    client = client_with("providers.view_message", "providers.view_full_numbers")
    rows = {r["id"]: r for r in listed(client)}
    assert (rows[log["in"].pk]["sender"], rows[log["in"].pk]["body"]) == (ALICE, "At the gate")
    assert rows[log["failed"].pk]["error"] == {
        "code": None,
        "description": f"vendor refused: HTTP 400: {BOB} unreachable",
    }


def test_an_error_shown_masked_carries_no_number(log):
    row = client_with("providers.view_message").get(f"/api/messages/{log['failed'].pk}/").json()
    assert row["error"] == {
        "code": None,
        "description": "vendor refused: HTTP 400: +16*******99 unreachable",
    }
    assert row["status"] == "failed" and row["attempts"] == 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"session": "ride:7"}, ["failed", "out", "in"]),
        ({"proxy_number": OTHER_POOL}, ["stranger"]),
        ({"direction": "in"}, ["stranger", "in"]),
        ({"status": "failed"}, ["failed"]),
        ({"since": (NOW - timedelta(minutes=25)).isoformat()}, ["stranger", "failed"]),
        ({"session": "ride:7", "direction": "out", "status": "sent"}, ["out"]),
        ({"session": "ride:8"}, []),
    ],
)
def test_the_log_filters(log, query, expected):
    rows = listed(client_with("providers.view_message"), **query)
    assert [r["id"] for r in rows] == [log[k].pk for k in expected]


def test_the_log_is_paginated_by_limit_and_offset(log):
    response = client_with("providers.view_message").get(
        "/api/messages/", {"limit": 2, "offset": 1}
    )
    page = response.json()
    assert page["count"] == 4
    assert [r["id"] for r in page["results"]] == [log["failed"].pk, log["out"].pk]
    assert "offset=3" in page["next"] and "offset" not in page["previous"].split("?")[1]


@pytest.mark.parametrize(
    "query",
    [
        {"proxy_number": "2065550100"},
        {"direction": "sideways"},
        {"status": "lost"},
        {"since": "yesterday"},
        {"since": "2026-13-01T00:00:00Z"},
        {"session": "x" * 65},
        {"limit": "0"},
    ],
)
def test_a_bad_filter_is_a_400_with_the_reason(log, query):
    response = client_with("providers.view_message").get("/api/messages/", query)
    assert response.status_code == 400
    assert set(response.json()) == set(query)
    assert all(response.json()[name] for name in query)


def test_staff_without_the_view_permission_are_refused(log):
    client = client_with("providers.view_full_numbers", "providers.view_proxynumber")
    assert client.get("/api/messages/").status_code == 403
    assert client.get(f"/api/messages/{log['in'].pk}/").status_code == 403


def test_the_log_is_read_only(log):
    client = client_with(
        *(f"providers.{verb}_message" for verb in ("view", "add", "change", "delete"))
    )
    assert client.post("/api/messages/", {"body": "x"}).status_code == 405
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(f"/api/messages/{log['in'].pk}/", {"body": "x"})
        assert response.status_code == 405
    assert Message.objects.get(pk=log["in"].pk).body == "At the gate"


def test_an_erased_message_shows_the_marker_to_everyone(log):
    Message.objects.filter(pk=log["in"].pk).update(sender=ERASED, body="", erased_at=NOW)
    for client in (
        client_with("providers.view_message"),
        client_with("providers.view_message", "providers.view_full_numbers", username="full"),
    ):
        row = client.get(f"/api/messages/{log['in'].pk}/").json()
        assert (row["sender"], row["recipient"], row["body"]) == (ERASED, POOL, "")
        assert row["erased_at"] is not None


def test_the_list_costs_the_same_queries_however_many_rows(log):
    client = client_with("providers.view_message")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/messages/", {"limit": 100}).status_code == 200
        return len(captured)

    queries()  # the user's permissions, read once and kept
    few = queries()
    proxy = factories.proxy_number()
    for n in range(20):
        Message.objects.create(direction=Direction.INBOUND, provider="console", proxy=proxy,
                               sender=ALICE, recipient=proxy.number, status=Status.RECEIVED,
                               session=f"ride:{n}")  # fmt: skip
    assert len(listed(client, limit=100)) == 24
    assert queries() == few


def test_receipts_show_in_the_api_delivered_and_failed_with_the_vendors_code(log):
    Message.objects.filter(pk=log["out"].pk).update(vendor_id="vnd-1")
    Message.objects.filter(pk=log["failed"].pk).update(status=Status.SENT, vendor_id="vnd-2")
    receipt_receive(
        receipt=DeliveryReceipt(
            provider="console",
            status=Status.DELIVERED,
            vendor_status="delivered",
            vendor_id="vnd-1",
            at=NOW,
        )
    )
    receipt_receive(
        receipt=DeliveryReceipt(
            provider="console", status=Status.UNDELIVERED, vendor_status="undeliverable",
            vendor_id="vnd-2", error_code="30", error_description="handset unreachable",
        )
    )  # fmt: skip
    client = client_with("providers.view_message")
    delivered = client.get(f"/api/messages/{log['out'].pk}/").json()
    assert (delivered["status"], delivered["vendor_status"], delivered["error"]) == (
        "delivered",
        "delivered",
        None,
    )
    assert delivered["delivered_at"] is not None
    undelivered = listed(client, status="undelivered")
    assert [row["id"] for row in undelivered] == [log["failed"].pk]
    assert undelivered[0]["error"] == {"code": "30", "description": "handset unreachable"}
