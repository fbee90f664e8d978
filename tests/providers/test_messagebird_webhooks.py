from __future__ import annotations

import hashlib
import json
import time
import uuid
import xml.etree.ElementTree as ET

import jwt
import pytest

from providers.models import Direction, Kind, Message, Status
from tests.factories import proxy_number
from tests.providers.routers import PARTNER, SAY_TEXT
from tests.providers.vendors import fixture_bytes, set_provider_options
from tests.signing import MESSAGEBIRD_SIGNING_KEY, messagebird_headers

pytestmark = pytest.mark.django_db

SMS_PATH = "/webhooks/messagebird/sms/"
VOICE_PATH = "/webhooks/messagebird/voice/"
FORM = "application/x-www-form-urlencoded"
FORM_BODY = fixture_bytes("messagebird/sms_inbound_form.txt")
JSON_BODY = fixture_bytes("messagebird/sms_inbound.json")
VOICE_QUERY = fixture_bytes("messagebird/voice_inbound_query.txt").decode()


def post_sms(client, body: bytes = FORM_BODY, *, content_type: str = FORM, path=SMS_PATH, **sign):
    headers = messagebird_headers(url=f"http://testserver{path}", body=body, **sign)
    return client.generic("POST", path, body, content_type=content_type, **headers)


def get_voice(client, query: str = VOICE_QUERY, *, path=VOICE_PATH, **sign):
    url = f"{path}?{query}"
    return client.get(url, **messagebird_headers(url=f"http://testserver{url}", **sign))


def call_flow(response) -> ET.Element:
    return ET.fromstring(response.content)  # noqa: S314 - our own answer, not untrusted input


def inbound_sms() -> list[Message]:
    return list(Message.objects.filter(direction=Direction.INBOUND, kind=Kind.SMS))


def outbound_sms() -> list[Message]:
    return list(Message.objects.filter(direction=Direction.OUTBOUND))


# --- inbound SMS ----------------------------------------------------------------------


def test_recorded_form_sms_is_logged_in_e164_and_the_reply_is_queued(client, mb_proxy):
    response = post_sms(client)

    assert response.status_code == 200
    [inbound] = inbound_sms()
    assert (inbound.sender, inbound.recipient) == ("+14155550199", "+14155550100")
    assert inbound.body == "Running 5 min late, sorry & thanks!"
    assert inbound.vendor_id == "e8077d803532c0b5937c639b60216938"
    assert (inbound.proxy, inbound.status, inbound.outcome) == (mb_proxy, Status.RECEIVED, "echoed")
    [reply] = outbound_sms()
    assert (reply.sender, reply.recipient, reply.status) == (
        "+14155550100",
        "+14155550199",
        Status.QUEUED,
    )
    assert reply.in_reply_to == inbound
    assert reply.session == inbound.session == f"echo:{mb_proxy.pk}"


def test_recorded_json_sms_with_body_field_is_accepted(client, mb_proxy):
    response = post_sms(client, JSON_BODY, content_type="application/json")

    assert response.status_code == 200
    [inbound] = inbound_sms()
    assert inbound.body == "Is the blue car yours?"
    assert inbound.sender == "+14155550199"
    assert inbound.vendor_id == "a3b5e4c29dd24e5c8f3a6b1c27d04f91"


def test_json_sms_with_payload_field_and_charset_is_accepted(client, mb_proxy):
    body = json.dumps(
        {"originator": "14155550199", "recipient": "14155550100", "payload": "hi", "id": "x1"}
    ).encode()
    response = post_sms(client, body, content_type="application/json; charset=utf-8")

    assert response.status_code == 200
    assert [m.body for m in inbound_sms()] == ["hi"]


def test_tutorial_sms_path_is_an_alias_of_the_messagebird_webhook(client, mb_proxy):
    response = post_sms(client, path="/webhook")

    assert response.status_code == 200
    assert len(inbound_sms()) == 1


def test_repeated_vendor_message_id_is_acknowledged_and_not_relayed_again(client, mb_proxy):
    assert post_sms(client).status_code == 200
    assert post_sms(client).status_code == 200

    assert len(inbound_sms()) == 1
    assert len(outbound_sms()) == 1


def test_sms_to_a_number_not_in_the_pool_is_acknowledged_and_logged(client, db):
    response = post_sms(client)

    assert response.status_code == 200
    [inbound] = inbound_sms()
    assert (inbound.status, inbound.outcome, inbound.proxy) == (
        Status.UNROUTED,
        "not_in_pool",
        None,
    )
    assert outbound_sms() == []


def test_sms_to_a_pool_number_with_sms_off_is_logged_but_not_routed(client, mb_proxy):
    mb_proxy.sms = False
    mb_proxy.save()

    assert post_sms(client).status_code == 200
    assert [(m.status, m.outcome, m.proxy) for m in inbound_sms()] == [
        (Status.UNROUTED, "sms_off", mb_proxy)
    ]
    assert outbound_sms() == []


def test_sms_to_a_retired_number_is_not_routed(client, mb_proxy):
    mb_proxy.active = False
    mb_proxy.save()

    assert post_sms(client).status_code == 200
    assert [m.status for m in inbound_sms()] == [Status.UNROUTED]
    assert outbound_sms() == []


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"recipient=14155550100&payload=hi", FORM, "originator is missing"),
        (b"originator=hello&recipient=14155550100&payload=hi", FORM, "originator is not a phone"),
        (b"originator=14155550199&payload=hi", FORM, "recipient is missing"),
        (b"originator=14155550199&recipient=14155550100", FORM, "payload is missing"),
        (b"{not json", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "must be a JSON object"),
        (
            b'{"originator": "14155550199", "recipient": "14155550100", "payload": 5}',
            "application/json",
            "payload must be a string",
        ),
        (b"<sms/>", "text/xml", "unsupported content type"),
    ],
)
def test_malformed_sms_is_a_400_with_the_reason(client, mb_proxy, body, content_type, reason):
    response = post_sms(client, body, content_type=content_type)

    assert response.status_code == 400
    assert reason in response.content.decode()
    assert Message.objects.count() == 0


def test_json_nested_deeper_than_python_can_parse_is_a_400(client, mb_proxy):
    body = b"[" * 100_000 + b"]" * 100_000

    response = post_sms(client, body, content_type="application/json")

    assert response.status_code == 400
    assert "nested too deeply" in response.content.decode()
    assert Message.objects.count() == 0


def test_sms_body_larger_than_the_limit_is_refused_with_413(client, mb_proxy, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = FORM_BODY + b"&padding=" + b"x" * 2048

    response = post_sms(client, body)

    assert response.status_code == 413
    assert Message.objects.count() == 0


def test_sms_webhook_answers_only_post(client, mb_proxy):
    assert client.get(SMS_PATH).status_code == 405


# --- signatures --------------------------------------------------------------------------


def test_sms_without_signature_is_refused(client, mb_proxy):
    response = client.generic("POST", SMS_PATH, FORM_BODY, content_type=FORM)

    assert response.status_code == 403
    assert "missing MessageBird-Signature-JWT" in response.content.decode()
    assert Message.objects.count() == 0


def test_sms_with_a_tampered_body_is_refused(client, mb_proxy):
    headers = messagebird_headers(url=f"http://testserver{SMS_PATH}", body=FORM_BODY)
    tampered = FORM_BODY.replace(b"14155550199", b"14155550198")

    response = client.generic("POST", SMS_PATH, tampered, content_type=FORM, **headers)

    assert response.status_code == 403
    assert "payload_hash" in response.content.decode()


def test_sms_signed_for_another_url_is_refused(client, mb_proxy):
    headers = messagebird_headers(url="https://elsewhere.example/webhook", body=FORM_BODY)

    response = client.generic("POST", SMS_PATH, FORM_BODY, content_type=FORM, **headers)

    assert response.status_code == 403
    assert "url_hash" in response.content.decode()


def test_sms_with_an_expired_signature_is_refused(client, mb_proxy):
    response = post_sms(client, issued_at=time.time() - 3600, lifetime=60)

    assert response.status_code == 403
    assert "expired" in response.content.decode()


def test_sms_signed_with_another_key_is_refused(client, mb_proxy):
    response = post_sms(client, key="someone-elses-signing-key-0123456789")

    assert response.status_code == 403


def test_replayed_signature_is_refused(client, mb_proxy):
    assert post_sms(client, jti="jti-1").status_code == 200

    response = post_sms(client, jti="jti-1")

    assert response.status_code == 403
    assert "replay" in response.content.decode()
    assert Message.objects.filter(nonce="jti-1").count() == 1


def _signed_claims(**overrides) -> str:
    """A correctly signed token whose claims are the usual ones with `overrides`
    (a value of None drops that claim)."""
    now = int(time.time())
    claims = {
        "iss": "MessageBird",
        "nbf": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
        "url_hash": hashlib.sha256(f"http://testserver{SMS_PATH}".encode()).hexdigest(),
        "payload_hash": hashlib.sha256(FORM_BODY).hexdigest(),
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, MESSAGEBIRD_SIGNING_KEY, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        {"url_hash": None},
        {"url_hash": 5},
        {"url_hash": ["a"]},
        {"url_hash": "\u00e9" * 64},
        {"payload_hash": 5},
        {"payload_hash": {"a": 1}},
        {"payload_hash": "\u00e9" * 64},
    ],
    ids=[
        "url_hash-missing",
        "url_hash-int",
        "url_hash-list",
        "url_hash-non-ascii",
        "payload_hash-int",
        "payload_hash-object",
        "payload_hash-non-ascii",
    ],
)
def test_a_signed_token_with_a_missing_or_odd_hash_claim_is_a_403(client, mb_proxy, claims):
    signature = _signed_claims(**claims)

    response = client.generic(
        "POST", SMS_PATH, FORM_BODY, content_type=FORM, HTTP_MESSAGEBIRD_SIGNATURE_JWT=signature
    )

    assert response.status_code == 403
    assert "hash" in response.content.decode()
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    ("lifetime", "accepted"), [(-1, True), (0, True), (2, False), (10 * 365 * 86400, False)]
)
def test_a_token_expiring_after_the_replay_window_is_refused(
    client, mb_proxy, settings, lifetime, accepted
):
    # The jti is remembered for the window; a token valid longer could be replayed.
    window = 600
    set_provider_options(settings, "messagebird", replay_window_seconds=window)

    response = post_sms(client, lifetime=window + lifetime)

    assert response.status_code == (200 if accepted else 403)
    if not accepted:
        assert "replay window" in response.content.decode()
        assert Message.objects.count() == 0


def test_the_replay_window_setting_reaches_the_backend():
    from django.conf import settings

    options = settings.MASKED_NUMBERS_PROVIDERS["messagebird"]["OPTIONS"]
    assert options["replay_window_seconds"] == settings.MASKED_NUMBERS_REPLAY_WINDOW_SECONDS


def test_without_a_signing_key_every_webhook_is_refused(client, mb_proxy, settings):
    set_provider_options(settings, "messagebird", signing_key="")

    response = post_sms(client)

    assert response.status_code == 403
    assert "not configured" in response.content.decode()


def test_signature_is_checked_against_the_public_url_behind_a_proxy(client, mb_proxy, settings):
    public = "https://sms.example.com"
    set_provider_options(settings, "messagebird", public_url=public)
    signed_public = messagebird_headers(url=f"{public}{SMS_PATH}", body=FORM_BODY)
    signed_internal = messagebird_headers(url=f"http://testserver{SMS_PATH}", body=FORM_BODY)

    internal = client.generic("POST", SMS_PATH, FORM_BODY, content_type=FORM, **signed_internal)
    accepted = client.generic("POST", SMS_PATH, FORM_BODY, content_type=FORM, **signed_public)

    assert internal.status_code == 403
    assert accepted.status_code == 200


# --- inbound calls -------------------------------------------------------------------------


def test_recorded_call_is_transferred_with_the_caller_id_masked(client, mb_proxy):
    response = get_voice(client)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    transfer = call_flow(response)
    assert transfer.tag == "Transfer"
    assert transfer.attrib == {"destination": PARTNER.lstrip("+"), "mask": "true"}
    [call] = Message.objects.filter(kind=Kind.CALL)
    assert (call.sender, call.recipient, call.status) == (
        "+14155550199",
        "+14155550100",
        Status.TRANSFERRED,
    )
    assert call.vendor_id == "2a3e5f0c-7d1b-4c7e-9d52-4d2bd1f4b8a6"
    assert call.proxy == mb_proxy


def test_spoken_text_is_escaped_in_the_call_flow_xml(client, mb_proxy):
    query = f"source={PARTNER.lstrip('+')}&destination=14155550100"

    response = get_voice(client, query)

    assert response.status_code == 200
    assert b"&lt;Anne &amp;" in response.content
    say = call_flow(response)
    assert say.tag == "Say"
    assert say.text == SAY_TEXT
    assert say.attrib == {"language": "en-GB", "voice": "female"}
    [call] = Message.objects.filter(kind=Kind.CALL)
    assert call.status == Status.ANSWERED


def test_tutorial_voice_path_is_an_alias_of_the_messagebird_voice_webhook(client, mb_proxy):
    response = get_voice(client, path="/webhook-voice")

    assert response.status_code == 200
    assert call_flow(response).tag == "Transfer"


def test_call_to_a_number_not_in_the_pool_hears_it_is_not_in_service(client, db):
    response = get_voice(client)

    assert response.status_code == 200
    assert "not in service" in call_flow(response).text
    [call] = Message.objects.filter(kind=Kind.CALL)
    assert (call.status, call.outcome) == (Status.UNROUTED, "not_in_pool")


def test_call_to_a_pool_number_with_voice_off_is_not_put_through(client, mb_proxy):
    mb_proxy.voice = False
    mb_proxy.save()

    response = get_voice(client)

    assert call_flow(response).tag == "Say"
    [call] = Message.objects.filter(kind=Kind.CALL)
    assert (call.status, call.outcome, call.proxy) == (Status.UNROUTED, "voice_off", mb_proxy)


def test_repeated_call_fetch_gets_the_same_answer_and_is_logged_once(client, mb_proxy):
    first = get_voice(client)
    second = get_voice(client)

    assert first.content == second.content
    assert Message.objects.filter(kind=Kind.CALL).count() == 1


def test_unsigned_call_is_refused(client, mb_proxy):
    response = client.get(f"{VOICE_PATH}?{VOICE_QUERY}")

    assert response.status_code == 403
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("destination=14155550100", "source is missing"),
        ("source=14155550199", "destination is missing"),
        ("source=abc&destination=14155550100", "source is not a phone number"),
    ],
)
def test_malformed_call_is_a_400_with_the_reason(client, mb_proxy, query, reason):
    response = get_voice(client, query)

    assert response.status_code == 400
    assert reason in response.content.decode()


def test_voice_webhook_answers_only_get(client, mb_proxy):
    assert client.post(VOICE_PATH).status_code == 405


def test_webhook_of_an_unconfigured_provider_is_404(client, db):
    assert client.post("/webhooks/nexmo/sms/").status_code == 404


def test_multiple_proxy_numbers_route_independently(client, mb_proxy):
    other = proxy_number(number="+14155550101", provider="messagebird")
    body = FORM_BODY.replace(b"recipient=14155550100", b"recipient=14155550101")

    assert post_sms(client).status_code == 200
    assert post_sms(client, body.replace(b"e8077d", b"f9188e")).status_code == 200

    assert {m.proxy for m in outbound_sms()} == {mb_proxy, other}
