"""Bird (the Bird platform API, `bk_…` keys): SMS through the `messagebird-sdk` package's
`bird` client, inbound SMS from signed events; no masked voice.

- Sending: `client.sms.send(to=, from_=, text=, category=)`, POST /v1/sms/messages; a
  write takes an `Idempotency-Key` header, which carries our message id, so a resend of
  the same message is recognised by Bird (SDK `resources/sms.py`, `_base_client.py`).
- Inbound: every event the webhook subscription names is POSTed to one URL as
  `{"type", "timestamp", "data"}`; `sms.received` carries `data.sms_id`, `from`, `to`,
  `text` (SDK `_generated.py`, EventSMSReceived). The delivery events (`sms.sent`,
  `sms.delivered`, `sms.undelivered`, `sms.failed`, `sms.rejected`, `sms.expired`) carry
  `data.sms_id`, the send's `metadata` (our message id) and on a failure `data.error`
  (`code`, `description`). Other types are acknowledged and logged.
- Signatures: Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`,
  HMAC-SHA256 with the endpoint's `whsec_…` secret; more than 5 minutes off is refused):
  https://www.standardwebhooks.com/ . Bird retries a delivery with the same
  `webhook-id` and body, so a repeated id is the same `sms_id` again: a redelivery,
  acknowledged and not processed again (a one-time id would refuse Bird's own retries).
- Voice: a Bird number routes inbound calls to `reject`, a SIP `trunk`, a fixed `forward`
  (to a verified caller ID) or a saved `sequence`; none of them asks a URL per call whom
  to connect (SDK `_generated.py`, VoiceCallRoute), so Bird numbers are SMS-only here.
"""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any

import httpx
import requests
from django.http import Http404, HttpRequest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ..exceptions import MalformedWebhook, PermanentSendError, WebhookValidationError
from ..phone import edge_number, mask
from ..types import DeliveryReceipt, InboundSms, SentSms
from .base import BaseProvider, Capabilities
from .http import (
    TRANSIENT_STATUS,
    raise_for_response,
    receipt_time,
    text_field,
    transport_error,
    vendor_session,
)

# The SDK's generated models warn, at import, of one field that shadows a pydantic name;
# it says nothing about this service and would be printed by every process.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message='Field name "schema"', category=UserWarning)
    from bird import Bird
    from bird._exceptions import APIStatusError, BirdError

logger = logging.getLogger(__name__)

SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
SMS_RECEIVED = "sms.received"
# Delivery events in our words (SDK `_generated.py`, the SMS lifecycle event types).
RECEIPT_EVENTS = {
    "sms.accepted": "sent",
    "sms.sent": "sent",
    "sms.delivered": "delivered",
    "sms.undelivered": "undelivered",
    "sms.expired": "undelivered",
    "sms.failed": "failed",
    "sms.rejected": "failed",
}
# Bird blocks a sender-recipient pair once the recipient texted STOP (docs.bird.com,
# SMS opt-in and opt-out compliance). A send to them is still answered with a message,
# `rejected` with `last_error.code` "recipient_opted_out" (SDK `_generated.py`:
# SMSMessage.last_error, SMSErrorCode: "the recipient is on a suppression list"), or
# accepted and then rejected in an `sms.rejected` event, which is not read yet. An
# error answer naming the code counts the same.
OPTED_OUT_CODE = "recipient_opted_out"
# A message Bird answers with in one of these states will not be sent.
REFUSED_STATUSES = frozenset({"rejected", "failed", "canceled", "expired"})
# Headers `requests` has already acted on: the body it hands over is decoded.
_CONSUMED_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class RequestsTransport(httpx.BaseTransport):
    """httpx's transport contract on our vendor session (`requests`).

    The Bird SDK speaks httpx; under it this transport sends through the same session
    as every other backend (one proxy and CA bundle handling, and `responses` intercepts
    it in tests). 429 and 5xx become TransientSendError here with their Retry-After;
    network failures too. Other answers go back to the SDK, which raises APIStatusError.
    """

    def __init__(self) -> None:
        self.session: requests.Session | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        if self.session is None:
            raise RuntimeError("the transport's session is set when the client is made")
        try:
            response = self.session.request(
                request.method,
                str(request.url),
                headers=dict(request.headers),
                data=request.read(),
                timeout=(timeout.get("connect"), timeout.get("read")),
                allow_redirects=False,
            )
        except requests.RequestException as err:
            raise transport_error(err, vendor="Bird") from err
        if response.status_code in TRANSIENT_STATUS or response.status_code >= 500:
            raise_for_response(response, vendor="Bird")
        headers = [
            (name, value)
            for name, value in response.headers.items()
            if name.lower() not in _CONSUMED_HEADERS
        ]
        return httpx.Response(response.status_code, headers=headers, content=response.content)


class BirdProvider(BaseProvider):
    name = "bird"
    # Receipts arrive as events of the webhook subscription; no masked voice (see above).
    capabilities = Capabilities(send_reference=True, delivery_receipts=True)
    receives_events = True

    def __init__(
        self,
        *,
        alias: str,
        api_key: str,
        webhook_secret: str = "",
        api_url: str = "",
        sms_category: str = "transactional",
        timeout: float = 10.0,
    ) -> None:
        super().__init__(alias=alias)
        self.webhook_secret = webhook_secret
        self.sms_category = sms_category
        transport = RequestsTransport()
        self.client = Bird(
            api_key=api_key,
            base_url=api_url or None,
            timeout=timeout,
            # Retries are the delivery worker's (with backoff, across processes).
            max_retries=0,
            # No caller detection on every request: the SDK's telemetry headers only.
            default_headers={"Bird-Enrichment": "0"},
            http_client=httpx.Client(transport=transport),
        )
        transport.session = vendor_session(str(self.client.base_url))

    # --- sending -------------------------------------------------------------------
    def send_sms(self, *, sender: str, recipient: str, body: str, reference: str = "") -> SentSms:
        options: Any = {"idempotency_key": reference} if reference else None
        # Bird echoes the metadata on each event of the message: receipts name our id.
        metadata = {"reference": reference} if reference else None
        try:
            message = self.client.sms.send(
                to=recipient,
                from_=sender,
                text=body,
                category=self.sms_category,
                metadata=metadata,
                options=options,
            )
        except APIStatusError as err:
            raise PermanentSendError(
                f"Bird refused the message: HTTP {err.status_code} {err.code or err.type}",
                detail=err.message[:300],
                opted_out=err.code == OPTED_OUT_CODE,
            ) from err
        except (BirdError, ValueError) as err:
            # An answer the SDK could not read as a message.
            raise PermanentSendError(f"Bird answered unreadably: {type(err).__name__}") from err
        status = _plain(message.status)
        if status in REFUSED_STATUSES:
            error = message.last_error
            code = _plain(error.code) if error else ""
            raise PermanentSendError(
                f"Bird refused the message: {status} {code}".rstrip(),
                detail=error.description[:300] if error else "",
                opted_out=code == OPTED_OUT_CODE,
            )
        logger.info("Bird SMS %s to %s accepted", message.id, mask(recipient))
        return SentSms(vendor_id=str(message.id))

    # --- inbound -----------------------------------------------------------------------
    def verify(self, request: HttpRequest) -> str:
        """Check the Standard Webhooks signature; returns the webhook-id."""
        if not self.webhook_secret:
            raise WebhookValidationError("Bird webhook secret is not configured")
        headers = {name: request.headers.get(name, "") for name in SIGNATURE_HEADERS}
        try:
            Webhook(self.webhook_secret).verify(request.body, headers, json_parse=False)
        except WebhookVerificationError as err:
            raise WebhookValidationError(f"invalid signature: {err}") from err
        except (ValueError, UnicodeDecodeError) as err:
            # A signature header that is not `v1,<base64>`, or a body that is not UTF-8.
            raise WebhookValidationError("invalid signature: malformed") from err
        return headers["webhook-id"]

    def parse_event_webhook(self, request: HttpRequest) -> InboundSms | DeliveryReceipt | None:
        webhook_id = self.verify(request)
        event = _json_object(request.body)
        event_type = event.get("type")
        if not isinstance(event_type, str) or not event_type:
            raise MalformedWebhook("type is missing")
        if event_type in RECEIPT_EVENTS:
            return self._receipt(event, event_type)
        if event_type != SMS_RECEIVED:
            logger.info(
                "Bird event %s (%s) acknowledged, not handled", event_type[:60], webhook_id[:60]
            )
            return None
        data = event.get("data")
        if not isinstance(data, dict):
            raise MalformedWebhook("data must be an object")
        sms_id, text = data.get("sms_id"), data.get("text", "")
        if not isinstance(sms_id, str) or not sms_id:
            raise MalformedWebhook("data.sms_id is missing")
        if not isinstance(text, str):
            raise MalformedWebhook("data.text must be a string")
        return InboundSms(
            provider=self.alias,
            sender=edge_number(data.get("from"), "data.from"),
            recipient=edge_number(data.get("to"), "data.to"),
            text=text,
            vendor_id=sms_id[:128],
            raw=event,
        )

    def _receipt(self, event: dict[str, Any], event_type: str) -> DeliveryReceipt:
        data = event.get("data")
        if not isinstance(data, dict):
            raise MalformedWebhook("data must be an object")
        metadata, error = data.get("metadata") or {}, data.get("error") or {}
        if not isinstance(metadata, dict):
            raise MalformedWebhook("data.metadata must be an object")
        if not isinstance(error, dict):
            raise MalformedWebhook("data.error must be an object")
        return DeliveryReceipt(
            provider=self.alias,
            status=RECEIPT_EVENTS[event_type],
            vendor_status=event_type,
            vendor_id=text_field(data, "sms_id", required=True)[:128],
            reference=text_field(metadata, "reference"),
            error_code=text_field(error, "code"),
            error_description=text_field(error, "description"),
            at=receipt_time(event.get("timestamp"), "timestamp"),
            raw=event,
        )

    def parse_sms_webhook(self, request: HttpRequest, *, token: str | None = None) -> InboundSms:
        raise Http404("Bird posts every event to /webhooks/bird/")

    def check(self) -> list[str]:
        if not self.webhook_secret:
            return ["BIRD_WEBHOOK_SECRET is not set: every Bird webhook is refused."]
        try:
            Webhook(self.webhook_secret)
        except Exception:  # noqa: BLE001 - reported, not raised
            return ["BIRD_WEBHOOK_SECRET is not a webhook signing secret (whsec_<base64>)."]
        return []


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise MalformedWebhook("body is not valid JSON") from err
    if not isinstance(data, dict):
        raise MalformedWebhook("body must be a JSON object")
    return data


def _plain(value: Any) -> str:
    """An SDK enum member, or the plain string of a value the SDK does not know yet."""
    return str(getattr(value, "value", value))
