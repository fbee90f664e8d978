"""Bird: what the SMS API receives, how its answers are read, and its signed events."""

from __future__ import annotations

import json
import logging
import time

import pytest
import requests
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from providers.exceptions import PermanentSendError, TransientSendError
from providers.models import Direction, Message
from providers.registry import get_provider
from tests import factories
from tests.factories import proxy_number
from tests.providers.vendors import (
    BIRD_MESSAGES_URL,
    bird_accepts,
    fixture_bytes,
    fixture_json,
    set_provider_options,
)
from tests.signing import bird_headers

EVENTS = "/webhooks/bird/"
RECEIVED = fixture_bytes("bird/sms_received.json")


def send(**kwargs):
    return get_provider("bird").send_sms(
        sender="+14155550100", recipient="+14155550123", body="Your driver is here ✓", **kwargs
    )


def post(client, body: bytes = RECEIVED, **signing):
    meta = bird_headers(body=body, **signing)
    return client.generic("POST", EVENTS, body, content_type="application/json", **meta)


@pytest.fixture
def bird_proxy(db):
    """The Bird number the recorded Bird events were sent to."""
    return proxy_number(number="+14155550100", provider="bird", voice=False)


# --- sending -----------------------------------------------------------------------------


def test_bird_receives_the_key_the_category_and_our_message_id_as_idempotency_key(
    mocked_responses,
):
    bird_accepts(mocked_responses)

    sent = send(reference="42")

    [call] = mocked_responses.calls
    assert call.request.url == BIRD_MESSAGES_URL
    assert call.request.headers["Authorization"] == "Bearer bk_us1_test-bird-api-key"
    assert call.request.headers["Idempotency-Key"] == "42"
    assert json.loads(call.request.body) == {
        "to": "+14155550123",
        "from": "+14155550100",
        "text": "Your driver is here ✓",
        "category": "transactional",
        # Echoed on every event of the message: its receipts name it.
        "metadata": {"reference": "42"},
    }
    assert sent.vendor_id == "sms_01krdgeqcxet5s7t44vh8rt9mh"


def test_without_an_api_url_the_region_of_the_key_is_called(mocked_responses, settings):
    set_provider_options(settings, "bird", api_url="", api_key="bk_eu1_another-key")
    region = "https://eu1.platform.bird.com/v1/sms/messages"
    mocked_responses.post(region, json=fixture_json("bird/sms_sent.json"), status=202)

    assert send().vendor_id.startswith("sms_")
    assert mocked_responses.calls[0].request.url == region


def test_the_category_comes_from_settings(mocked_responses, settings):
    set_provider_options(settings, "bird", sms_category="service")
    bird_accepts(mocked_responses)

    send()

    assert json.loads(mocked_responses.calls[0].request.body)["category"] == "service"


def test_a_refusal_is_permanent_with_bird_s_code_and_tried_once(mocked_responses):
    mocked_responses.post(
        BIRD_MESSAGES_URL, json=fixture_json("bird/sms_send_error.json"), status=422
    )

    with pytest.raises(PermanentSendError, match="HTTP 422 SMSUnsupportedFeature"):
        send()

    assert len(mocked_responses.calls) == 1


def test_429_is_transient_honours_retry_after_and_is_not_retried_by_the_sdk(mocked_responses):
    mocked_responses.post(
        BIRD_MESSAGES_URL,
        json={"error": {"type": "rate_limit_error", "message": "slow down"}},
        status=429,
        headers={"Retry-After": "12"},
    )

    with pytest.raises(TransientSendError) as err:
        send()

    assert err.value.retry_after == 12.0
    assert len(mocked_responses.calls) == 1  # the delivery worker retries, with backoff


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_transient(mocked_responses, status):
    mocked_responses.post(BIRD_MESSAGES_URL, body="upstream trouble", status=status)

    with pytest.raises(TransientSendError, match=f"HTTP {status}"):
        send()


def test_a_connection_failure_is_transient(mocked_responses):
    mocked_responses.post(BIRD_MESSAGES_URL, body=requests.ConnectionError("refused"))

    with pytest.raises(TransientSendError, match="unreachable"):
        send()


def test_an_answer_that_is_not_a_message_is_permanent(mocked_responses):
    mocked_responses.post(BIRD_MESSAGES_URL, json={"unexpected": True}, status=202)

    with pytest.raises(PermanentSendError, match="unreadably"):
        send()


# --- inbound events ------------------------------------------------------------------------


@pytest.mark.django_db
def test_recorded_sms_received_event_is_logged_and_relayed(client, bird_proxy):
    response = post(client)

    assert response.status_code == 200
    [message] = Message.objects.filter(direction=Direction.INBOUND)
    assert (message.sender, message.recipient, message.provider) == (
        "+14155550123",
        "+14155550100",
        "bird",
    )
    assert message.body == "Running 5 min late, sorry & thanks!"
    assert message.vendor_id == "sms_01krdgeqcxet5s7t44vh8rt9mg"
    [reply] = Message.objects.filter(direction=Direction.OUTBOUND)
    assert (reply.provider, reply.recipient) == ("bird", "+14155550123")


@pytest.mark.django_db
def test_an_event_the_backend_does_not_handle_is_acknowledged_and_logged(
    client, bird_proxy, caplog
):
    body = json.dumps({"type": "contact.updated", "timestamp": "x", "data": {}}).encode()
    with caplog.at_level(logging.INFO, logger="providers.backends.bird"):
        response = post(client, body, webhook_id="msg_2")

    assert response.status_code == 200
    assert not Message.objects.exists()
    [record] = caplog.records
    assert "acknowledged, not handled" in record.getMessage()
    assert "msg_2" in record.getMessage()


@pytest.mark.django_db
def test_bird_s_retry_with_the_same_webhook_id_is_acknowledged_and_relayed_once(client, bird_proxy):
    sent_at = time.time()
    assert post(client, webhook_id="msg_1", sent_at=sent_at).status_code == 200
    assert post(client, webhook_id="msg_1", sent_at=sent_at + 30).status_code == 200

    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("age", [301, -301], ids=["too-old", "from-the-future"])
def test_a_timestamp_more_than_five_minutes_off_is_refused(client, bird_proxy, age):
    response = post(client, sent_at=time.time() - age)

    assert response.status_code == 403
    assert not Message.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "meta",
    [
        {},
        {"HTTP_WEBHOOK_SIGNATURE": "v1"},
        {"HTTP_WEBHOOK_SIGNATURE": "v1,not base64!"},
        {"HTTP_WEBHOOK_TIMESTAMP": "soon"},
    ],
    ids=["no-headers", "no-comma", "not-base64", "bad-timestamp"],
)
def test_malformed_signature_headers_are_a_403_not_a_500(client, bird_proxy, meta):
    headers = {**bird_headers(body=RECEIVED), **meta} if meta else {}

    response = client.generic("POST", EVENTS, RECEIVED, content_type="application/json", **headers)

    assert response.status_code == 403
    assert not Message.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", b"not valid JSON"),
        (b"[" * 100_000, b"not valid JSON"),
        (b'{"type": "sms.received", "data": []}', b"data must be an object"),
        (b'{"type": "sms.received", "data": {"from": "+14155550123"}}', b"sms_id"),
        (b'{"data": {}}', b"type is missing"),
    ],
    ids=["not-json", "deep", "data-list", "no-sms-id", "no-type"],
)
def test_a_signed_body_we_cannot_read_is_a_400_with_the_reason(client, bird_proxy, body, reason):
    response = post(client, body)

    assert response.status_code == 400
    assert reason in response.content
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_bird_has_one_event_url_and_no_voice_url(client, bird_proxy):
    assert client.post("/webhooks/bird/sms/", {}).status_code == 404
    assert client.post("/webhooks/bird/voice/", {}).status_code == 404
    assert client.post("/webhooks/messagebird/", {}).status_code == 404


@pytest.mark.django_db
def test_a_bird_number_for_calls_is_refused_when_it_is_added():
    staff = factories.staff_with("providers.add_proxynumber")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")

    response = api.post(
        "/api/numbers/",
        {"number": "+14155550100", "provider": "bird", "service": "rides", "voice": True},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"voice": ["bird numbers cannot take calls here."]}
