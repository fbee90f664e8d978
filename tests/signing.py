"""Signing helpers: requests as the vendors would sign them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping

import jwt

MESSAGEBIRD_SIGNING_KEY = "test-messagebird-signing-key-of-32-bytes"
FLOWROUTE_WEBHOOK_TOKEN = "test-flowroute-webhook-token"
TWILIO_AUTH_TOKEN = "test-twilio-auth-token"
BIRD_WEBHOOK_SECRET = "whsec_dGVzdC1iaXJkLXdlYmhvb2stc2VjcmV0LTMyYnl0ZXM="


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


def twilio_signature(
    *, url: str, params: Mapping[str, str] | None = None, token: str = TWILIO_AUTH_TOKEN
) -> str:
    """X-Twilio-Signature: the full URL, then each POST parameter sorted by name as name
    and value, HMAC-SHA1 with the Auth Token, base64
    (twilio.com/docs/usage/webhooks/webhooks-security)."""
    signed = url + "".join(name + params[name] for name in sorted(params or {}))
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_headers(
    *, url: str, params: Mapping[str, str] | None = None, token: str = TWILIO_AUTH_TOKEN
) -> dict[str, str]:
    """Test-client META carrying a Twilio signature for this URL and form."""
    return {"HTTP_X_TWILIO_SIGNATURE": twilio_signature(url=url, params=params, token=token)}


def bird_headers(
    *,
    body: bytes,
    webhook_id: str | None = None,
    sent_at: float | None = None,
    secret: str = BIRD_WEBHOOK_SECRET,
) -> dict[str, str]:
    """Test-client META as Bird signs a webhook (Standard Webhooks): HMAC-SHA256 with the
    base64 secret after `whsec_`, over `id.timestamp.body`, sent as `v1,<base64>`."""
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    timestamp = str(int(sent_at if sent_at is not None else time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "HTTP_WEBHOOK_ID": webhook_id,
        "HTTP_WEBHOOK_TIMESTAMP": timestamp,
        "HTTP_WEBHOOK_SIGNATURE": f"v1,{signature}",
    }
