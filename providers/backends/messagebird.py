"""MessageBird: SMS through the `messagebird` SDK, inbound SMS and calls from Flow Builder.

- Sending: https://developers.messagebird.com/api/sms-messages/#send-outbound-sms
- Inbound SMS: a Flow Builder "Call HTTP endpoint with SMS" step POSTs form or JSON
  fields `originator`, `payload` (or `body`), `recipient`, `id`.
- Inbound calls: a Flow Builder "Fetch call flow from URL" step GETs the URL with
  `source` and `destination`, and runs the call-flow XML we answer:
  https://developers.messagebird.com/api/voice-calling/#call-flows
- Status reports: a send with `reference` and `reportUrl` is reported by a GET to that
  URL with `id`, `reference`, `recipient`, `status`, `statusDatetime`, and where known
  `statusReason` and `statusErrorCode`:
  https://developers.messagebird.com/api/sms-messages/#handle-a-status-report
- Signatures: `MessageBird-Signature-JWT`, an HS256 JWT over the URL and body hashes,
  on every webhook, status reports included (docs.bird.com, receiving delivery reports):
  https://developers.messagebird.com/docs/verify-http-requests
- Numbers come and go without the leading `+`.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import urljoin
from xml.sax.saxutils import escape, quoteattr

import messagebird
import requests
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from messagebird.client import USER_AGENT, ErrorException
from messagebird.error import ValidationError as SignatureError
from messagebird.http_client import ResponseFormat
from messagebird.request_validator import RequestValidator
from messagebird.serde import json_serialize

from ..exceptions import MalformedWebhook, PermanentSendError, WebhookValidationError
from ..phone import digits_only, edge_number, mask
from ..types import CallAction, CallActionKind, DeliveryReceipt, InboundCall, InboundSms, SentSms
from .base import BaseProvider, Capabilities, receipt_url
from .http import (
    TRANSIENT_STATUS,
    json_object,
    raise_for_response,
    receipt_time,
    text_field,
    transport_error,
    vendor_session,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "HTTP_MESSAGEBIRD_SIGNATURE_JWT"

# Characters XML 1.0 does not allow even escaped (https://www.w3.org/TR/xml/#charsets):
# a call flow carrying one would not parse at MessageBird.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Status report words in ours (developers.messagebird.com/api/sms-messages/#sms-statuses);
# any other word means MessageBird still has the message: sent.
REPORT_STATUSES = {
    "delivered": "delivered",
    "expired": "undelivered",
    "delivery_failed": "undelivered",
}


class TimeoutHttpClient:
    """The SDK's HttpClient contract, with a base URL from settings and a timeout.

    The SDK's own client has neither (it would hang on a stalled vendor), so the SDK's
    Client is handed this one; everything above the transport is the SDK's.
    """

    def __init__(self, endpoint: str, access_key: str, *, timeout: float) -> None:
        self.endpoint = endpoint.rstrip("/") + "/"
        self.access_key = access_key
        self.timeout = timeout
        # One session per client: the connection to the vendor (TLS in production) stays
        # open from one text to the next instead of being set up for each.
        self.session = vendor_session(self.endpoint)

    def request(
        self,
        path: str,
        method: str = "GET",
        params: dict | None = None,
        format: ResponseFormat = ResponseFormat.text,  # noqa: A002 - the SDK's name
    ) -> str | bytes:
        headers = {
            "Accept": "application/json",
            "Authorization": f"AccessKey {self.access_key}",
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json; charset=UTF-8",
        }
        url = urljoin(self.endpoint, path)
        try:
            if method == "GET":
                response = self.session.get(
                    url, headers=headers, params=params or {}, timeout=self.timeout
                )
            else:
                response = self.session.request(
                    method,
                    url,
                    headers=headers,
                    data=json_serialize(params or {}),
                    timeout=self.timeout,
                )
        except requests.RequestException as err:
            raise transport_error(err, vendor="MessageBird") from err
        status = response.status_code
        if (
            status in TRANSIENT_STATUS
            or status >= 500
            or (status >= 400 and not _has_error_list(response))
        ):
            raise_for_response(response, vendor="MessageBird")
        # A refusal with {"errors": [...]} goes back to the SDK, which raises ErrorException
        # with the vendor's codes: https://developers.messagebird.com/api/#api-errors
        return response.content if format == ResponseFormat.binary else response.text


def _has_error_list(response: requests.Response) -> bool:
    try:
        data = response.json()
    except ValueError:
        return False
    return isinstance(data, dict) and isinstance(data.get("errors"), list)


class MessageBirdProvider(BaseProvider):
    name = "messagebird"
    capabilities = Capabilities(inbound_voice=True, send_reference=True)
    receipt_webhook_methods = ("GET",)

    def __init__(
        self,
        *,
        alias: str,
        access_key: str,
        signing_key: str = "",
        api_url: str = "https://rest.messagebird.com",
        timeout: float = 10.0,
        public_url: str = "",
        replay_window_seconds: float = 24 * 3600,
    ) -> None:
        super().__init__(alias=alias)
        self.signing_key = signing_key
        self.replay_window_seconds = replay_window_seconds
        self.public_url = public_url
        self.capabilities = Capabilities(
            inbound_voice=True, send_reference=True, delivery_receipts=bool(public_url)
        )
        self.client = messagebird.Client(
            access_key, http_client=TimeoutHttpClient(api_url, access_key, timeout=timeout)
        )

    # --- sending -------------------------------------------------------------------
    def send_sms(self, *, sender: str, recipient: str, body: str, reference: str = "") -> SentSms:
        # `reference` is the client reference of the send, shown with the message in
        # MessageBird's log and its status reports: a text sent twice can be recognised.
        # Reports are asked for only with a reference (and a public URL to send them to).
        params = {"reference": reference} if reference else None
        report_url = receipt_url(self.public_url, alias=self.alias)
        if params and report_url:
            params["reportUrl"] = report_url
        try:
            message = self.client.message_create(
                digits_only(sender), [digits_only(recipient)], body, params
            )
        except ErrorException as err:
            # MessageBird blocks a pair after a STOP (docs.bird.com, SMS opt-in and opt-out
            # compliance), but no error code of the legacy API says so
            # (https://developers.messagebird.com/api/#api-errors): none is read as one.
            details = "; ".join(f"{e.code}: {e.description}" for e in err.errors)
            raise PermanentSendError("MessageBird refused the message", detail=details) from err
        if not message.id:
            raise PermanentSendError("MessageBird answered without a message id")
        logger.info("MessageBird SMS %s to %s accepted", message.id, mask(recipient))
        return SentSms(vendor_id=str(message.id))

    # --- verification ---------------------------------------------------------------
    def _signed_url(self, request: HttpRequest) -> str:
        # Behind a proxy Django sees another URL than the one MessageBird signed.
        if self.public_url:
            return self.public_url.rstrip("/") + request.get_full_path()
        return request.build_absolute_uri()

    def verify(self, request: HttpRequest) -> str:
        """Check the signature; returns its `jti`, which the event's log row records
        (a request that repeats it is refused there). No key configured: refuse all."""
        if not self.signing_key:
            raise WebhookValidationError("MessageBird signing key is not configured")
        signature = request.META.get(SIGNATURE_HEADER, "")
        if not signature:
            raise WebhookValidationError("missing MessageBird-Signature-JWT header")
        try:
            claims = RequestValidator(self.signing_key).validate_signature(
                signature, self._signed_url(request), request.body
            )
        except SignatureError as err:
            raise WebhookValidationError(f"invalid signature: {err}") from err
        except (KeyError, TypeError) as err:
            # The SDK compares url_hash and payload_hash as it finds them: a claim that is
            # missing or not an ASCII string raises instead of failing the check.
            raise WebhookValidationError(
                "invalid signature: url_hash or payload_hash is missing or not a string"
            ) from err
        jti = claims.get("jti")
        if not jti or not isinstance(jti, str):
            raise WebhookValidationError("signature has no jti claim")
        # A seen jti is remembered for the replay window only: a token that would still
        # be valid after it is forgotten could be replayed then. (The SDK checked that
        # exp is an integer.)
        if int(claims["exp"]) > time.time() + self.replay_window_seconds:
            raise WebhookValidationError(
                "signature expires later than the replay window "
                f"({self.replay_window_seconds:g} s from now)"
            )
        return jti

    # --- inbound SMS ------------------------------------------------------------------
    def parse_sms_webhook(self, request: HttpRequest, *, token: str | None = None) -> InboundSms:
        nonce = self.verify(request)
        data = _request_fields(request)
        text = data.get("payload", data.get("body"))
        if text is None:
            raise MalformedWebhook("payload is missing")
        if not isinstance(text, str):
            raise MalformedWebhook("payload must be a string")
        vendor_id = data.get("id", "")
        if not isinstance(vendor_id, str | int) or isinstance(vendor_id, bool):
            raise MalformedWebhook("id must be a string")
        return InboundSms(
            provider=self.alias,
            sender=edge_number(data.get("originator"), "originator"),
            recipient=edge_number(data.get("recipient"), "recipient"),
            text=text,
            vendor_id=str(vendor_id)[:128],
            raw=data,
            nonce=nonce,
        )

    # --- inbound calls ----------------------------------------------------------------
    def parse_call_webhook(self, request: HttpRequest) -> InboundCall:
        nonce = self.verify(request)
        call_id = request.GET.get("callID", "") or request.GET.get("callId", "")
        return InboundCall(
            provider=self.alias,
            caller=edge_number(request.GET.get("source"), "source"),
            recipient=edge_number(request.GET.get("destination"), "destination"),
            vendor_id=call_id[:128],
            raw=dict(request.GET.items()),
            nonce=nonce,
        )

    def render_call(self, action: CallAction) -> HttpResponse:
        return HttpResponse(call_flow_xml(action), content_type="application/xml; charset=utf-8")

    # --- status reports -----------------------------------------------------------------
    def parse_receipt_webhook(
        self, request: HttpRequest, *, token: str | None = None
    ) -> DeliveryReceipt:
        # Its jti is not kept: a replayed report can only say again what was said.
        self.verify(request)
        data = request.GET.dict()
        status = text_field(data, "status", required=True)
        return DeliveryReceipt(
            provider=self.alias,
            status=REPORT_STATUSES.get(status, "sent"),
            vendor_status=status,
            vendor_id=text_field(data, "id", required=True)[:128],
            reference=text_field(data, "reference"),
            error_code=text_field(data, "statusErrorCode"),
            error_description=text_field(data, "statusReason"),
            at=receipt_time(data.get("statusDatetime"), "statusDatetime"),
            raw=data,
        )

    def check(self) -> list[str]:
        if not self.signing_key:
            return ["MESSAGEBIRD_SIGNING_KEY is not set: every MessageBird webhook is refused."]
        return []


def call_flow_xml(action: CallAction) -> str:
    """MessageBird call-flow XML for one action, attributes and text escaped."""
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    if action.kind == CallActionKind.TRANSFER:
        destination = quoteattr(_xml_chars(digits_only(action.destination)))
        return f'{head}<Transfer destination={destination} mask="true" />\n'
    language, voice = quoteattr(_xml_chars(action.language)), quoteattr(_xml_chars(action.voice))
    return f"{head}<Say language={language} voice={voice}>{escape(_xml_chars(action.text))}</Say>\n"


def _xml_chars(text: str) -> str:
    return _NOT_XML.sub("", text)


def _request_fields(request: HttpRequest) -> dict[str, Any]:
    """Flow Builder posts form fields by default, JSON when so configured."""
    content_type = request.content_type or ""
    if content_type == "application/json":
        return json_object(request.body)
    if content_type in {"application/x-www-form-urlencoded", "multipart/form-data", ""}:
        try:
            return request.POST.dict()
        except (ValueError, UnicodeDecodeError, MultiPartParserError) as err:
            raise MalformedWebhook("body is not a valid form") from err
    raise MalformedWebhook(f"unsupported content type {content_type[:60]!r}")
