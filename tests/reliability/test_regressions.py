"""Regressions found by the reliability suite, one test per fix."""

from __future__ import annotations

import pytest

from providers.models import Message, SeenSignature
from tests.signing import messagebird_signature

pytestmark = pytest.mark.django_db

SMS = "/webhooks/messagebird/sms/"


def _signed_post(client, body: bytes, content_type: str, *, jti: str | None = None):
    signature = messagebird_signature(url=f"http://testserver{SMS}", body=body, jti=jti)
    return client.generic(
        "POST",
        SMS,
        body,
        content_type=content_type,
        headers={"MessageBird-Signature-JWT": signature},
    )


def test_a_refused_webhook_does_not_use_up_its_signature(client, pairs, mb_proxy):
    response = _signed_post(client, b"payload=hi", "application/x-www-form-urlencoded", jti="j1")
    assert response.status_code == 400
    assert not SeenSignature.objects.exists()
    assert not Message.objects.exists()


def test_multipart_without_boundary_is_a_bad_request_that_writes_nothing(client, pairs, mb_proxy):
    response = _signed_post(client, b"--x\r\n", "multipart/form-data")
    assert response.status_code == 400
    assert b"not a valid form" in response.content
    assert not SeenSignature.objects.exists()
