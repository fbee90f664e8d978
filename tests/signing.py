"""Signing helpers: requests as the vendors would sign them."""

from __future__ import annotations

import hashlib
import time
import uuid

import jwt

MESSAGEBIRD_SIGNING_KEY = "test-messagebird-signing-key-of-32-bytes"
FLOWROUTE_WEBHOOK_TOKEN = "test-flowroute-webhook-token"


def messagebird_signature(
    *,
    url: str,
    body: bytes = b"",
    key: str = MESSAGEBIRD_SIGNING_KEY,
    jti: str | None = None,
    issued_at: float | None = None,
    lifetime: int = 300,
) -> str:
    """A MessageBird-Signature-JWT for this URL and body (see their verify-http-requests doc)."""
    now = int(issued_at if issued_at is not None else time.time())
    claims = {
        "iss": "MessageBird",
        "nbf": now,
        "exp": now + lifetime,
        "jti": jti or str(uuid.uuid4()),
        "url_hash": hashlib.sha256(url.encode()).hexdigest(),
    }
    if body:
        claims["payload_hash"] = hashlib.sha256(body).hexdigest()
    return jwt.encode(claims, key, algorithm="HS256")


def messagebird_headers(*, url: str, body: bytes = b"", **claims) -> dict[str, str]:
    """Test-client META carrying a MessageBird signature for this URL and body."""
    return {"HTTP_MESSAGEBIRD_SIGNATURE_JWT": messagebird_signature(url=url, body=body, **claims)}


def flowroute_callback_path(
    *, token: str = FLOWROUTE_WEBHOOK_TOKEN, alias: str = "flowroute"
) -> str:
    """The SMS callback URL path given to Flowroute: it carries the secret token.

    Flowroute does not sign callbacks, so the token in the URL is the whole proof.
    """
    return f"/webhooks/{alias}/sms/{token}/"
