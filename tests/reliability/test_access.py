"""Nobody gets in: staff for the admin, a token for the API, a signature for webhooks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import jwt
import pytest
from rest_framework.authtoken.models import Token

from providers.models import Message, ProxyNumber
from tests.signing import FLOWROUTE_WEBHOOK_TOKEN, MESSAGEBIRD_SIGNING_KEY, messagebird_signature

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SMS = "/webhooks/messagebird/sms/"
VOICE = "/webhooks/messagebird/voice/"
BODY = urlencode(
    {"originator": "12065552000", "recipient": "12065550100", "payload": "hi", "id": "a1"}
).encode()


@pytest.fixture
def plain_user(django_user_model):
    return django_user_model.objects.create_user("rider", password="rider-password-123")


@pytest.mark.parametrize("path", ["/admin/", "/admin/providers/message/", "/admin/auth/user/"])
def test_the_admin_needs_staff(client, plain_user, staff_user, path):
    assert client.get(path).status_code == 302
    client.force_login(plain_user)
    response = client.get(path)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(staff_user)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/api/numbers/", "/api/numbers/1/"])
def test_the_api_needs_a_staff_token(client, plain_user, staff_user, path):
    ProxyNumber.objects.create(pk=1, number="+12065550100", provider="console", service="rides")
    assert client.get(path).status_code in {401, 403}
    assert client.get(path, headers={"Authorization": "Token not-a-token"}).status_code == 401
    plain = Token.objects.create(user=plain_user)
    assert client.get(path, headers={"Authorization": f"Token {plain.key}"}).status_code == 403
    staff = Token.objects.create(user=staff_user)
    assert client.get(path, headers={"Authorization": f"Token {staff.key}"}).status_code == 200


def test_adding_a_number_without_a_token_adds_nothing(client):
    response = client.post(
        "/api/numbers/",
        {"number": "+12065550199", "provider": "console", "service": "rides"},
        content_type="application/json",
    )
    assert response.status_code in {401, 403}
    assert not ProxyNumber.objects.exists()


def _forged(kind: str) -> tuple[str, str]:
    """(path, signature header) for one way of getting the signature wrong."""
    url = f"http://testserver{SMS}"
    if kind == "wrong_key":
        # As long as a real key, so that only its being wrong is tested.
        key = "another-key-of-thirty-two-bytes!"
        return SMS, messagebird_signature(url=url, body=BODY, key=key)
    if kind == "expired":
        return SMS, messagebird_signature(url=url, body=BODY, issued_at=time.time() - 3600)
    if kind == "not_yet_valid":
        return SMS, messagebird_signature(url=url, body=BODY, issued_at=time.time() + 3600)
    if kind == "wrong_url":
        return SMS, messagebird_signature(url="http://testserver/webhook", body=BODY)
    if kind == "other_host":
        return SMS, messagebird_signature(url=f"http://evil.example{SMS}", body=BODY)
    if kind == "wrong_body":
        return SMS, messagebird_signature(url=url, body=BODY + b"&x=1")
    if kind == "no_body_hash":
        return SMS, messagebird_signature(url=url)
    if kind == "alg_none":
        claims = jwt.decode(
            messagebird_signature(url=url, body=BODY), options={"verify_signature": False}
        )
        return SMS, jwt.encode(claims, key=None, algorithm="none")
    if kind == "garbage":
        return SMS, "not.a.jwt"
    if kind == "missing":
        return SMS, ""
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "wrong_key",
        "expired",
        "not_yet_valid",
        "wrong_url",
        "other_host",
        "wrong_body",
        "no_body_hash",
        "alg_none",
        "garbage",
        "missing",
    ],
)
def test_a_forged_messagebird_signature_is_refused(client, pairs, mb_proxy, kind):
    path, signature = _forged(kind)
    headers = {"MessageBird-Signature-JWT": signature} if signature else {}
    response = client.generic(
        "POST", path, BODY, content_type="application/x-www-form-urlencoded", headers=headers
    )
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_a_replayed_messagebird_signature_is_refused(client, pairs, mb_proxy):
    signature = messagebird_signature(url=f"http://testserver{SMS}", body=BODY)
    headers = {"MessageBird-Signature-JWT": signature}
    first = client.generic("POST", SMS, BODY, "application/x-www-form-urlencoded", headers=headers)
    again = client.generic("POST", SMS, BODY, "application/x-www-form-urlencoded", headers=headers)
    assert (first.status_code, again.status_code) == (200, 403)
    assert Message.objects.filter(direction="in").count() == 1


def test_a_voice_signature_is_checked_against_its_query(client, pairs, mb_proxy):
    signed = VOICE + "?" + urlencode({"source": "12065552000", "destination": "12065550100"})
    tampered = VOICE + "?" + urlencode({"source": "12065552001", "destination": "12065550100"})
    signature = messagebird_signature(url=f"http://testserver{signed}")
    response = client.get(tampered, headers={"MessageBird-Signature-JWT": signature})
    assert response.status_code == 403
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "token",
    [
        "wrong-token",
        FLOWROUTE_WEBHOOK_TOKEN[:-1],
        FLOWROUTE_WEBHOOK_TOKEN + "x",
        FLOWROUTE_WEBHOOK_TOKEN.upper(),
        None,
    ],
)
def test_a_wrong_flowroute_token_is_refused(client, pairs, fr_proxy, token):
    path = "/webhooks/flowroute/sms/" + (f"{token}/" if token else "")
    body = b'{"from": "12065552000", "to": "12065550101", "body": "hi", "id": "f1"}'
    response = client.generic("POST", path, body, content_type="application/json")
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_the_console_webhooks_refuse_remote_callers(client, pairs, console_proxy):
    body = {"from": "+12065552000", "to": "+12065550102", "text": "hi"}
    remote = client.post(
        "/webhooks/console/sms/", body, content_type="application/json", REMOTE_ADDR="203.0.113.9"
    )
    assert remote.status_code == 403
    call = client.get(
        "/webhooks/console/voice/?from=%2B12065552000&to=%2B12065550102",
        REMOTE_ADDR="203.0.113.9",
    )
    assert call.status_code == 403
    assert not Message.objects.exists()


def test_signing_with_the_key_is_what_gets_in(client, pairs, mb_proxy):
    # The forged cases above differ from this one in one thing each.
    signature = messagebird_signature(
        url=f"http://testserver{SMS}", body=BODY, key=MESSAGEBIRD_SIGNING_KEY
    )
    response = client.generic(
        "POST",
        SMS,
        BODY,
        content_type="application/x-www-form-urlencoded",
        headers={"MessageBird-Signature-JWT": signature},
    )
    assert response.status_code == 200


# --- deploy check ---------------------------------------------------------------------------

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "maskednumbers.settings",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "k3#" + "x7Qp9" * 12,
    "DJANGO_ALLOWED_HOSTS": "numbers.example.org",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://numbers.example.org",
    "DATABASE_URL": "postgres://masked@db.example.org:5432/masked",
    "MESSAGEBIRD_ACCESS_KEY": "live_access_key_for_check",
    "MESSAGEBIRD_SIGNING_KEY": "signing-key-for-check",
    "FLOWROUTE_ACCESS_KEY": "fr-access",
    "FLOWROUTE_SECRET_KEY": "fr-secret",
    "FLOWROUTE_WEBHOOK_TOKEN": "fr-webhook-token-for-check",
    "TWILIO_ACCOUNT_SID": "AC-for-check",
    "TWILIO_AUTH_TOKEN": "twilio-token-for-check",
    "MASKED_NUMBERS_PUBLIC_URL": "https://numbers.example.org",
    "BIRD_API_KEY": "bk_us1_key-for-check",
    "BIRD_WEBHOOK_SECRET": "whsec_c2VjcmV0LWZvci1jaGVjaw==",
}


def _check_deploy(**overrides: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "MESSAGEBIRD_", "FLOWROUTE_", "TWILIO_", "BIRD_"))
    }
    env.update(PRODUCTION_ENV, **overrides)
    env = {k: v for k, v in env.items() if v}
    return subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_the_production_settings():
    result = _check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("unset", "error"),
    [
        ("MESSAGEBIRD_SIGNING_KEY", "providers.E002"),
        ("FLOWROUTE_WEBHOOK_TOKEN", "providers.E002"),
        ("BIRD_WEBHOOK_SECRET", "providers.E002"),
        ("MASKED_NUMBERS_PUBLIC_URL", "providers.E002"),  # Twilio's signatures name it
    ],
)
def test_check_deploy_fails_without_a_webhook_secret(unset, error):
    result = _check_deploy(**{unset: ""})
    assert result.returncode != 0
    assert error in result.stdout + result.stderr


# --- the phone simulator ---------------------------------------------------------------------

SIMULATOR_APIS = ["/simulator/api/messages/", "/simulator/api/sms/", "/simulator/api/call/"]


def test_the_simulator_page_needs_staff(client, plain_user, staff_user):
    assert "/admin/login/" in client.get("/simulator/")["Location"]
    client.force_login(plain_user)
    assert "/admin/login/" in client.get("/simulator/")["Location"]
    client.force_login(staff_user)
    assert client.get("/simulator/").status_code == 200


@pytest.mark.parametrize("path", SIMULATOR_APIS)
def test_the_simulator_api_needs_staff_and_writes_nothing_otherwise(
    client, plain_user, console_proxy, path
):
    body = {"from": "+12065552000", "to": console_proxy.number, "text": "hi", "phones": []}
    assert client.post(path, body, content_type="application/json").status_code == 403
    client.force_login(plain_user)
    assert client.post(path, body, content_type="application/json").status_code == 403
    assert not Message.objects.exists()


def test_the_simulator_api_needs_the_csrf_token(staff_user, console_proxy):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    body = {"from": "+12065552000", "to": console_proxy.number, "text": "hi"}
    response = client.post("/simulator/api/sms/", body, content_type="application/json")
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_the_simulator_is_gone_without_the_console_provider(client, settings, staff_user):
    settings.MASKED_NUMBERS_PROVIDERS = {
        k: v for k, v in settings.MASKED_NUMBERS_PROVIDERS.items() if k != "console"
    }
    client.force_login(staff_user)
    assert client.get("/simulator/").status_code == 404
    assert (
        client.post("/simulator/api/sms/", {}, content_type="application/json").status_code == 404
    )
