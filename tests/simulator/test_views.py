from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from providers.backends import console
from providers.models import Direction, Kind, Message, Service, Status
from tests.factories import proxy_number

from .routers import ALICE, BOB, NOT_IN_SESSION

pytestmark = pytest.mark.django_db

STRANGER = "+14155550199"


def post_json(client, url, payload, **extra):
    return client.post(url, data=json.dumps(payload), content_type="application/json", **extra)


def threads(client, *phones):
    response = post_json(client, "/simulator/api/messages/", {"phones": list(phones)})
    assert response.status_code == 200, response.content
    return response.json()["threads"]


@pytest.fixture
def send(admin_client, django_capture_on_commit_callbacks):
    """POST as staff, then run what waits for the commit (delivery), as a request would."""

    def post(url, payload):
        with django_capture_on_commit_callbacks(execute=True):
            return post_json(admin_client, url, payload)

    return post


# --- access ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitor_is_sent_to_the_admin_login(client, method):
    response = getattr(client, method)("/simulator/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/simulator/")


def test_non_staff_user_is_sent_to_the_admin_login(client, django_user_model):
    user = django_user_model.objects.create_user("rider", password="rider-password-123")
    client.force_login(user)
    response = client.get("/simulator/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_simulator_is_not_found_without_the_console_provider(admin_client, settings):
    settings.MASKED_NUMBERS_PROVIDERS = {
        alias: config
        for alias, config in settings.MASKED_NUMBERS_PROVIDERS.items()
        if alias != "console"
    }
    assert admin_client.get("/simulator/").status_code == 404
    response = post_json(admin_client, "/simulator/api/messages/", {"phones": [ALICE]})
    assert response.status_code == 404
    assert "console provider" in response.json()["error"]


def test_api_refuses_non_staff_with_a_json_reason(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("rider", password="x-123-456-789"))
    response = post_json(client, "/simulator/api/messages/", {"phones": [ALICE]})
    assert response.status_code == 403
    assert response.json() == {"error": "staff login required"}
    response = post_json(client, "/simulator/api/sms/", {"from": ALICE, "to": "+1", "text": "x"})
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_api_posts_need_the_csrf_token(admin_user, rides_number):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = post_json(
        client, "/simulator/api/sms/", {"from": ALICE, "to": rides_number.number, "text": "hi"}
    )
    assert response.status_code == 403
    assert not Message.objects.exists()


# --- the page ----------------------------------------------------------------------------


def test_page_shows_demo_phones_side_by_side_and_the_console_numbers(
    admin_client, people, rides_number
):
    proxy_number(number="+14155550199", provider="messagebird")
    response = admin_client.get("/simulator/")
    assert response.status_code == 200
    html = response.content.decode()
    shown = [phone.number for phone in response.context["shown"]]
    assert len(shown) == 4
    assert {phone.role for phone in response.context["shown"]} == {
        "customer",
        "driver",
        "anonymous",
    }
    assert html.count('class="sim-phone"') == 4
    assert f'<option value="{rides_number.number}"' in html
    # A real vendor's number is never offered: a reply would go out through its API.
    assert "+14155550199" not in html
    assert "simulator/simulator.js" in html
    # Nothing is loaded from another host (no CDN): every script and stylesheet is ours.
    # (Not a plain "cdn" substring check: the random CSRF token may contain one.)
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)


def test_staff_can_show_a_typed_number(admin_client, rides_number):
    response = admin_client.post("/simulator/", {"show": [ALICE], "add": "(415) 555-0188"})
    assert response.status_code == 302
    # Kept in the session, so the numbers never appear in a URL (and access logs).
    assert response["Location"] == "/simulator/"
    response = admin_client.get("/simulator/")
    assert [phone.number for phone in response.context["shown"]] == [ALICE, "+14155550188"]
    assert "%2B1415" not in response.content.decode()


def test_a_malformed_typed_number_is_refused_with_the_reason(admin_client):
    response = admin_client.post("/simulator/", {"show": [ALICE], "add": "not a number"})
    assert response.status_code == 400
    assert "Not a phone number" in response.content.decode()


# --- texting -----------------------------------------------------------------------------


def test_a_text_reaches_the_other_phone_from_the_pool_number(admin_client, send, rides_number):
    response = send(
        "/simulator/api/sms/",
        {"from": ALICE, "to": rides_number.number, "text": "I am at the north gate"},
    )
    assert response.status_code == 201
    assert response.json()["outcome"] == "relayed"
    assert response.json()["queued"] == 1
    inbound = Message.objects.get(direction=Direction.INBOUND)
    assert (inbound.provider, inbound.sender, inbound.proxy) == ("console", ALICE, rides_number)
    # Delivered by the console provider, from the pool number.
    assert console.outbox == [
        {
            "id": console.outbox[0]["id"],
            "from": rides_number.number,
            "to": BOB,
            "body": "I am at the north gate",
        }
    ]


def test_threads_show_each_phone_its_side_with_the_pool_number_as_correspondent(
    admin_client, send, rides_number
):
    send("/simulator/api/sms/", {"from": ALICE, "to": rides_number.number, "text": "hi"})
    send("/simulator/api/sms/", {"from": BOB, "to": rides_number.number, "text": "yo"})
    both = threads(admin_client, ALICE, BOB)
    alice = [(e["mine"], e["with"], e["body"], e["status"]) for e in both[ALICE]]
    assert alice == [
        (True, rides_number.number, "hi", Status.RECEIVED),
        (False, rides_number.number, "yo", Status.SENT),
    ]
    bob = [(e["mine"], e["with"], e["body"]) for e in both[BOB]]
    assert bob == [(False, rides_number.number, "hi"), (True, rides_number.number, "yo")]
    # The mask holds: neither thread carries the other party's own number.
    assert BOB not in json.dumps(both[ALICE])
    assert ALICE not in json.dumps(both[BOB])


def test_a_stranger_gets_the_service_reply_in_their_own_thread(admin_client, send, rides_number):
    send(
        "/simulator/api/sms/",
        {"from": STRANGER, "to": rides_number.number, "text": "hello?"},
    )
    stranger = threads(admin_client, STRANGER)[STRANGER]
    assert [e["body"] for e in stranger] == ["hello?", NOT_IN_SESSION]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"from": "12", "to": "+14155550100", "text": "x"}, "from: "),
        ({"to": "+14155550100", "text": "x"}, "from: "),
        ({"from": ALICE, "to": "+14155550177", "text": "x"}, "not an active number of the pool"),
        ({"from": ALICE, "to": ["+14155550100"], "text": "x"}, "to: "),
        ({"from": ALICE, "to": "+14155550100", "text": "  "}, "type a message"),
        ({"from": ALICE, "to": "+14155550100", "text": 42}, "type a message"),
        ({"from": ALICE, "to": "+14155550100", "text": "x" * 1601}, "longer than"),
        ({"from": "+14155550100", "to": "+14155550100", "text": "x"}, "cannot text itself"),
    ],
    ids=[
        "short-sender",
        "no-sender",
        "not-in-pool",
        "to-is-a-list",
        "blank",
        "not-text",
        "too-long",
        "pool-to-itself",
    ],
)
def test_bad_sms_input_is_a_400_with_the_reason(send, rides_number, payload, reason):
    response = send("/simulator/api/sms/", payload)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b"\xff\xfe"], ids=["broken", "list", "bytes"]
)
def test_a_body_that_is_not_a_json_object_is_a_400(admin_client, body):
    response = admin_client.post("/simulator/api/sms/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


def test_an_oversized_body_is_a_400_not_a_crash(admin_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = post_json(
        admin_client,
        "/simulator/api/sms/",
        {"from": ALICE, "to": "+14155550100", "text": "x" * 2000},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "the body is too big"}


def test_numbers_of_a_real_vendor_are_refused_so_nothing_reaches_its_api(
    admin_client, send, mocked_responses
):
    vendor_number = proxy_number(number="+14155550177", provider="messagebird")
    response = send("/simulator/api/sms/", {"from": ALICE, "to": vendor_number.number, "text": "x"})
    assert response.status_code == 400
    assert "only uses console numbers" in response.json()["error"]
    assert not Message.objects.exists()
    assert len(mocked_responses.calls) == 0


def test_sending_needs_a_post(admin_client):
    assert admin_client.get("/simulator/api/sms/").status_code == 405


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"phones": []},
        {"phones": ALICE},
        {"phones": ["garbage"]},
        {"phones": [None]},
        {"phones": [f"+1415555{n:04d}" for n in range(13)]},
    ],
    ids=["none", "empty", "not-a-list", "malformed", "null", "too-many"],
)
def test_bad_thread_queries_are_a_400_with_the_reason(admin_client, payload):
    response = post_json(admin_client, "/simulator/api/messages/", payload)
    assert response.status_code == 400
    assert response.json()["error"].startswith("phones: ")


def test_threads_are_never_cached_and_need_a_post(admin_client):
    response = post_json(admin_client, "/simulator/api/messages/", {"phones": [ALICE]})
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert admin_client.get("/simulator/api/messages/").status_code == 405


# --- calls -------------------------------------------------------------------------------


def test_a_call_is_transferred_with_the_pool_number_as_caller_id(
    admin_client, send, people, rides_number
):
    response = send("/simulator/api/call/", {"from": ALICE, "to": rides_number.number})
    assert response.status_code == 200
    assert response.json() == {
        "action": "transfer",
        "proxy": rides_number.number,
        "text": "",
        "destination": BOB,
        "destination_name": "Dana Driver (driver)",
    }
    call = Message.objects.get(kind=Kind.CALL)
    assert (call.sender, call.status) == (ALICE, Status.TRANSFERRED)
    thread = threads(admin_client, ALICE)[ALICE]
    assert [(e["kind"], e["with"]) for e in thread] == [("call", rides_number.number)]
    assert BOB not in json.dumps(thread)


def test_a_call_the_service_answers_says_what_the_caller_hears(admin_client, send, rides_number):
    response = send("/simulator/api/call/", {"from": STRANGER, "to": rides_number.number})
    assert response.json()["action"] == "say"
    assert response.json()["text"] == NOT_IN_SESSION
    thread = threads(admin_client, STRANGER)[STRANGER]
    assert [e["body"] for e in thread] == [NOT_IN_SESSION]


def test_an_sms_only_number_cannot_be_called(admin_client, send, sms_only_number):
    response = send("/simulator/api/call/", {"from": ALICE, "to": sms_only_number.number})
    assert response.status_code == 400
    assert "takes no calls" in response.json()["error"]
    assert not Message.objects.exists()
    assert sms_only_number.service == Service.CONVERSATIONS


def test_every_admin_page_links_the_simulator_when_it_is_offered(admin_client, settings):
    assert 'href="/simulator/">Phone simulator</a>' in admin_client.get("/admin/").content.decode()
    settings.MASKED_NUMBERS_PROVIDERS = {}
    html = admin_client.get("/admin/providers/message/").content.decode()
    assert "Phone simulator" not in html
