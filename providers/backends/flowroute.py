"""Flowroute: SMS over API v2.1 with `requests`; inbound SMS callbacks; no voice control.

- Sending: POST {api_url}/messages, HTTP Basic (access key, secret key), a JSON:API
  body, numbers as 11 digits without `+`:
  https://developer.flowroute.com/api/messages/v2.1/send-an-sms/
- Inbound: the number's SMS callback URL receives either the flat v2 body
  `{"to", "from", "body", "id"}` or the v2.1 JSON:API body
  `{"data": {"id", "type": "message", "attributes": {"to", "from", "body", ...}}}`:
  https://developer.flowroute.com/api/messages/v2.1/receive-an-inbound-message/
- Delivery receipts: a send with `dlr_callback` is reported by POSTs of JSON:API
  `delivery_receipt` bodies, usually two: `level` 1 (to the carrier), then 2 (after):
  https://developer.flowroute.com/api/messages/v2.1/receive-a-dlr/
- Flowroute does not sign callbacks; the URL carries a secret token instead, compared in
  constant time. Its numbers have no call-control webhook: voice stays with the carrier.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from typing import Any

import requests
from django.http import HttpRequest

from ..exceptions import MalformedWebhook, PermanentSendError, WebhookValidationError
from ..phone import digits_only, edge_number, mask
from ..types import DeliveryReceipt, InboundSms, SentSms
from .base import BaseProvider, Capabilities, receipt_url
from .http import (
    json_object,
    raise_for_response,
    receipt_time,
    text_field,
    transport_error,
    vendor_session,
)

logger = logging.getLogger(__name__)

JSONAPI = "application/vnd.api+json"
_NANP = re.compile(r"\+1\d{10}")
# A send to a person who texted STOP to the number is answered 400 "with error code
# 1110 (Message accepted by the SMSC but the phone rejected the message)" until they
# text UNSTOP (support.flowroute.com, "How to stop unwanted messages on your Flowroute
# number"). Where in the JSON:API error the code stands is not documented: its `code`,
# or its words.
OPTED_OUT_CODE = "1110"
# Receipt statuses (`smsc submit`, `message buffered`, `delivered`, ...) holding one of
# these words report a failure; `delivered` at level 1 only reached the carrier.
FAILURE_WORDS = ("undeliver", "fail", "reject", "expire", "delete")
_OPTED_OUT_WORD = re.compile(rf"\b{OPTED_OUT_CODE}\b")


class FlowrouteProvider(BaseProvider):
    name = "flowroute"
    # North American numbers only; no call control, and no client reference on sends
    # (https://developer.flowroute.com/api/messages/v2.1/send-an-sms/).
    capabilities = Capabilities(number_prefixes=("+1",))
    receipt_webhook_methods = ("POST",)

    def __init__(
        self,
        *,
        alias: str,
        access_key: str,
        secret_key: str,
        webhook_token: str = "",
        api_url: str = "https://api.flowroute.com/v2.1",
        timeout: float = 10.0,
        public_url: str = "",
    ) -> None:
        super().__init__(alias=alias)
        self.auth = (access_key, secret_key)
        self.webhook_token = webhook_token
        self.public_url = public_url if webhook_token else ""
        self.capabilities = Capabilities(
            number_prefixes=("+1",), delivery_receipts=bool(self.public_url)
        )
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.session = vendor_session(self.api_url)

    def send_sms(self, *, sender: str, recipient: str, body: str, reference: str = "") -> SentSms:
        for number in (sender, recipient):
            # The API takes 11-digit North American numbers only (see the module doc).
            if not _NANP.fullmatch(number):
                raise PermanentSendError(f"Flowroute cannot send to or from {mask(number)}")
        attributes = {"to": digits_only(recipient), "from": digits_only(sender), "body": body}
        callback = receipt_url(
            self.public_url, alias=self.alias, token=self.webhook_token, reference=reference
        )
        if callback:
            attributes["dlr_callback"] = callback
        payload = {"data": {"type": "message", "attributes": attributes}}
        try:
            response = self.session.post(
                f"{self.api_url}/messages",
                auth=self.auth,
                data=json.dumps(payload),
                headers={"Content-Type": JSONAPI, "Accept": JSONAPI},
                timeout=self.timeout,
            )
        except requests.RequestException as err:
            raise transport_error(err, vendor="Flowroute") from err
        if response.status_code == 400 and _opted_out(response):
            raise PermanentSendError(
                "Flowroute refused the message: recipient opted out",
                detail=response.text[:300],
                opted_out=True,
            )
        raise_for_response(response, vendor="Flowroute")
        try:
            vendor_id = str(response.json()["data"]["id"])
        except (ValueError, KeyError, TypeError) as err:
            raise PermanentSendError("Flowroute answered without a message id") from err
        logger.info("Flowroute SMS %s to %s accepted", vendor_id, mask(recipient))
        return SentSms(vendor_id=vendor_id, raw=response.json())

    def verify(self, token: str | None) -> None:
        if not self.webhook_token:
            raise WebhookValidationError("Flowroute webhook token is not configured")
        if not token or not hmac.compare_digest(token.encode(), self.webhook_token.encode()):
            raise WebhookValidationError("wrong webhook token")

    def parse_sms_webhook(self, request: HttpRequest, *, token: str | None = None) -> InboundSms:
        self.verify(token)
        data = json_object(request.body)
        fields, vendor_id = _message_fields(data)
        text = fields.get("body")
        if not isinstance(text, str):
            raise MalformedWebhook("body is missing" if text is None else "body must be a string")
        return InboundSms(
            provider=self.alias,
            sender=edge_number(fields.get("from"), "from"),
            recipient=edge_number(fields.get("to"), "to"),
            text=text,
            vendor_id=vendor_id,
            raw=data,
        )

    def parse_receipt_webhook(
        self, request: HttpRequest, *, token: str | None = None
    ) -> DeliveryReceipt:
        self.verify(token)
        data = json_object(request.body)
        envelope = data.get("data")
        if not isinstance(envelope, dict) or envelope.get("type") != "delivery_receipt":
            raise MalformedWebhook("data must be a delivery_receipt object")
        attributes = envelope.get("attributes")
        if not isinstance(attributes, dict):
            raise MalformedWebhook("data.attributes must be an object")
        status = text_field(attributes, "status", required=True)
        level = attributes.get("level")
        if level not in (1, 2, "1", "2"):
            raise MalformedWebhook("data.attributes.level must be 1 or 2")
        words = status.lower()
        if any(word in words for word in FAILURE_WORDS):
            ours = "undelivered"
        elif words == "delivered" and int(level) == 2:
            ours = "delivered"
        else:
            ours = "sent"
        return DeliveryReceipt(
            provider=self.alias,
            status=ours,
            vendor_status=f"{status} (level {level})",
            vendor_id=text_field(envelope, "id", required=True)[:128],
            reference=request.GET.get("ref", ""),
            error_code=text_field(attributes, "status_code"),
            error_description=text_field(attributes, "status_code_description"),
            at=receipt_time(attributes.get("timestamp"), "data.attributes.timestamp"),
            raw=data,
        )

    def check(self) -> list[str]:
        if not self.webhook_token:
            return ["FLOWROUTE_WEBHOOK_TOKEN is not set: every Flowroute callback is refused."]
        return []


def _message_fields(data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The message attributes and id of a v2.1 JSON:API or flat v2 callback body."""
    if "data" in data:
        envelope = data["data"]
        if not isinstance(envelope, dict):
            raise MalformedWebhook("data must be an object")
        attributes = envelope.get("attributes")
        if not isinstance(attributes, dict):
            raise MalformedWebhook("data.attributes must be an object")
        vendor_id = envelope.get("id", "")
        fields = attributes
    else:
        fields = data
        vendor_id = data.get("id", "")
    if not isinstance(vendor_id, str | int) or isinstance(vendor_id, bool):
        raise MalformedWebhook("id must be a string")
    return fields, str(vendor_id)[:128]


def _opted_out(response: requests.Response) -> bool:
    """Whether a refusal's JSON:API error list names the opted-out code."""
    try:
        errors = response.json().get("errors") or []
        return any(
            str(error.get("code", "")) == OPTED_OUT_CODE
            or _OPTED_OUT_WORD.search(f"{error.get('title', '')} {error.get('detail', '')}")
            for error in errors
        )
    except (ValueError, AttributeError):
        return False
