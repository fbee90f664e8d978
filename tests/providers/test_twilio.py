"""Twilio: what the Messages API receives, how its answers are read, and its webhooks."""

from __future__ import annotations

import base64
import logging
from urllib.parse import parse_qs, parse_qsl
from xml.etree import ElementTree

import pytest
import requests

from providers.exceptions import PermanentSendError, TransientSendError
from providers.models import Direction, Kind, Message, Status
from providers.registry import get_provider
from tests.factories import proxy_number
from tests.providers.routers import PARTNER, SAY_TEXT
from tests.providers.vendors import (
    TWILIO_ACCOUNT_SID,
    TWILIO_MESSAGES_URL,
    fixture_bytes,
    fixture_json,
    set_provider_options,
    twilio_accepts,
)
from tests.signing import twilio_headers

SMS_PATH = "/webhooks/twilio/sms/"
VOICE_PATH = "/webhooks/twilio/voice/"
SMS_BODY = fixture_bytes("twilio/sms_inbound.txt")
VOICE_BODY = fixture_bytes("twilio/voice_inbound.txt")
FORM = "application/x-www-form-urlencoded"


def send(**kwargs):
    return get_provider("twilio").send_sms(
        sender="+14155550100", recipient="+14155550123", body="Your driver is here ✓", **kwargs
    )


def post(client, path: str, body: bytes, *, url: str | None = None, **headers):
    signed = twilio_headers(
        url=url or f"http://testserver{path}", params=dict(parse_qsl(body.decode()))
    )
    return client.generic("POST", path, body, content_type=FORM, **{**signed, **headers})


def twiml(response) -> ElementTree.Element:
    assert response["Content-Type"].startswith("text/xml")
    return ElementTree.fromstring(response.content)  # noqa: S314 - our own answer


@pytest.fixture
def tw_proxy(db):
    """The Twilio number the recorded Twilio payloads were sent to."""
    return proxy_number(number="+14155550100", provider="twilio")


# --- sending -----------------------------------------------------------------------------


def test_twilio_receives_basic_auth_and_the_form_of_the_messages_resource(mocked_responses):
    twilio_accepts(mocked_responses)

    sent = send()

    [call] = mocked_responses.calls
    assert call.request.url == TWILIO_MESSAGES_URL
    expected = base64.b64encode(f"{TWILIO_ACCOUNT_SID}:test-twilio-auth-token".encode()).decode()
    assert call.request.headers["Authorization"] == f"Basic {expected}"
    assert parse_qs(call.request.body) == {
        "To": ["+14155550123"],
        "From": ["+14155550100"],
        "Body": ["Your driver is here ✓"],
    }
    assert call.request.req_kwargs["timeout"] == 10.0
    assert sent.vendor_id == "SMaa2a2b2c2d2e2f2a3b3c3d3e3f3a4b4c"


def test_the_api_url_comes_from_settings(mocked_responses, settings):
    set_provider_options(settings, "twilio", api_url="http://127.0.0.1:9999/", timeout=2.5)
    local = f"http://127.0.0.1:9999/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json"
    mocked_responses.post(local, json=fixture_json("twilio/sms_sent.json"), status=201)

    assert send().vendor_id.startswith("SM")
    assert mocked_responses.calls[0].request.req_kwargs["timeout"] == 2.5


@pytest.mark.parametrize(
    ("fixture", "code", "meaning"),
    [
        ("twilio/sms_send_error_21610.json", 21610, "recipient opted out"),
        ("twilio/sms_send_error_21211.json", 21211, "invalid recipient number"),
    ],
)
def test_a_documented_refusal_is_permanent_with_its_code_in_our_words(
    mocked_responses, fixture, code, meaning
):
    mocked_responses.post(TWILIO_MESSAGES_URL, json=fixture_json(fixture), status=400)

    with pytest.raises(PermanentSendError) as err:
        send()

    assert f"error {code}" in err.value.summary
    assert meaning in err.value.summary
    assert "+1415555" not in err.value.summary  # Twilio's own words stay in `detail`


def test_an_undocumented_4xx_is_permanent_with_its_code(mocked_responses):
    mocked_responses.post(
        TWILIO_MESSAGES_URL, json={"code": 21999, "message": "new", "status": 400}, status=400
    )

    with pytest.raises(PermanentSendError, match="error 21999"):
        send()


def test_429_is_transient_and_honours_retry_after(mocked_responses):
    mocked_responses.post(
        TWILIO_MESSAGES_URL,
        json=fixture_json("twilio/sms_send_error_429.json"),
        status=429,
        headers={"Retry-After": "7"},
    )

    with pytest.raises(TransientSendError) as err:
        send()

    assert err.value.retry_after == 7.0


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_transient(mocked_responses, status):
    mocked_responses.post(TWILIO_MESSAGES_URL, body="upstream trouble", status=status)

    with pytest.raises(TransientSendError, match=f"HTTP {status}"):
        send()


def test_a_timeout_is_transient(mocked_responses):
    mocked_responses.post(TWILIO_MESSAGES_URL, body=requests.ReadTimeout("slow"))

    with pytest.raises(TransientSendError, match="unreachable"):
        send()


def test_a_refusal_is_logged_with_its_code_and_without_the_number(
    mocked_responses, caplog, django_capture_on_commit_callbacks, tw_proxy
):
    from providers.outbox import message_queue

    mocked_responses.post(
        TWILIO_MESSAGES_URL, json=fixture_json("twilio/sms_send_error_21610.json"), status=400
    )

    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        message = message_queue(proxy=tw_proxy, recipient="+14155550123", body="hello")

    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert "21610" in message.last_error
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert "error 21610 (recipient opted out (STOP))" in logged
    assert "+14155550123" not in logged


# --- inbound SMS ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_recorded_inbound_sms_is_logged_and_answered_with_empty_twiml(client, tw_proxy):
    response = post(client, SMS_PATH, SMS_BODY)

    assert response.status_code == 200
    assert list(twiml(response)) == []
    assert twiml(response).tag == "Response"
    [message] = Message.objects.filter(direction=Direction.INBOUND)
    assert (message.sender, message.recipient) == ("+14155550123", "+14155550100")
    assert message.body == "Running 5 min late, sorry & thanks!"
    assert message.vendor_id == "SM1f0e8ae6ade43cb3c0ce4525424e404f"
    [reply] = Message.objects.filter(direction=Direction.OUTBOUND)
    assert (reply.provider, reply.sender, reply.recipient) == (
        "twilio",
        "+14155550100",
        "+14155550123",
    )


@pytest.mark.django_db
def test_a_signature_over_a_changed_body_is_refused(client, tw_proxy):
    signed = twilio_headers(
        url=f"http://testserver{SMS_PATH}", params=dict(parse_qsl(SMS_BODY.decode()))
    )
    tampered = SMS_BODY.replace(b"Running", b"Walking")

    response = client.generic("POST", SMS_PATH, tampered, content_type=FORM, **signed)

    assert response.status_code == 403
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_request_without_a_signature_is_refused(client, tw_proxy):
    response = client.generic("POST", SMS_PATH, SMS_BODY, content_type=FORM)

    assert response.status_code == 403
    assert b"X-Twilio-Signature" in response.content


@pytest.mark.django_db
def test_the_signature_is_checked_against_the_public_url_behind_a_proxy(client, tw_proxy, settings):
    public = "https://sms.example.com"
    set_provider_options(settings, "twilio", public_url=public)

    behind = post(client, SMS_PATH, SMS_BODY, url=f"{public}{SMS_PATH}")
    as_django_sees_it = post(client, SMS_PATH, SMS_BODY.replace(b"SM1f", b"SM2f"))

    assert behind.status_code == 200
    assert as_django_sees_it.status_code == 403


# --- inbound calls -------------------------------------------------------------------------


@pytest.mark.django_db
def test_recorded_call_is_dialled_through_with_the_pool_number_as_caller_id(client, tw_proxy):
    response = post(client, VOICE_PATH, VOICE_BODY)

    assert response.status_code == 200
    dial = twiml(response).find("Dial")
    assert dial.get("callerId") == "+14155550100"
    assert dial.find("Number").text == PARTNER
    assert "+14155550123" not in response.content.decode()  # the caller's own number
    [call] = Message.objects.filter(kind=Kind.CALL)
    assert (call.status, call.vendor_id) == (
        Status.TRANSFERRED,
        "CA5f5b2a1e1c6a0e8e3b2f0a7d4c3b2a1f",
    )


@pytest.mark.django_db
def test_a_refused_call_hears_the_message_then_is_hung_up(client, tw_proxy):
    body = VOICE_BODY.replace(b"From=%2B14155550123", b"From=%2B" + PARTNER[1:].encode())

    response = post(client, VOICE_PATH, body)

    assert response.status_code == 200
    assert [child.tag for child in twiml(response)] == ["Say", "Hangup"]
    assert twiml(response).find("Say").text == SAY_TEXT


@pytest.mark.django_db
def test_a_redelivered_call_sid_is_logged_once(client, tw_proxy):
    assert post(client, VOICE_PATH, VOICE_BODY).status_code == 200
    assert post(client, VOICE_PATH, VOICE_BODY).status_code == 200

    assert Message.objects.filter(kind=Kind.CALL).count() == 1


@pytest.mark.django_db
def test_the_voice_webhook_takes_post_only(client, tw_proxy):
    assert client.get(VOICE_PATH).status_code == 405


@pytest.mark.django_db
def test_a_forged_call_is_refused_and_not_logged(client, tw_proxy):
    forged = twilio_headers(
        url=f"http://testserver{VOICE_PATH}",
        params=dict(parse_qsl(VOICE_BODY.decode())),
        token="not-the-auth-token",
    )

    response = client.generic("POST", VOICE_PATH, VOICE_BODY, content_type=FORM, **forged)

    assert response.status_code == 403
    assert not Message.objects.exists()
