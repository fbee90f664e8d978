"""Twilio: SMS through the `twilio` SDK's Messages resource, inbound SMS and calls by TwiML.

- Sending: POST /2010-04-01/Accounts/{sid}/Messages.json, form `To`, `From`, `Body`:
  https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
  The resource takes no idempotency key or client reference (`I-Twilio-Idempotency-Token`
  is a header Twilio puts on its webhooks), so a resend cannot be recognised there.
- Inbound SMS: a form POST with `MessageSid`, `From`, `To`, `Body`, answered with TwiML;
  an empty `<Response/>` sends no reply (replies go through the outbox):
  https://www.twilio.com/docs/messaging/guides/webhook-request
- Inbound calls: a form POST with `CallSid`, `From`, `To`, answered with TwiML `<Dial>`
  showing the pool number as caller ID, or `<Say>` then `<Hangup/>`:
  https://www.twilio.com/docs/voice/twiml/dial#callerid
- Delivery: a send with `StatusCallback` is reported by form POSTs to that URL with
  `MessageSid`, `MessageStatus` and, on a failure, `ErrorCode`, signed as below:
  https://www.twilio.com/docs/messaging/guides/track-outbound-message-status
- Signatures: `X-Twilio-Signature`, HMAC-SHA1 with the Auth Token over the URL and the
  sorted POST parameters, checked by the SDK's RequestValidator. It has no timestamp and
  no one-time id: a redelivered `MessageSid` / `CallSid` is the duplicate that is dropped.
  https://www.twilio.com/docs/usage/webhooks/webhooks-security
"""

from __future__ import annotations

import logging
import re
from typing import Any

import requests
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from ..exceptions import MalformedWebhook, PermanentSendError, WebhookValidationError
from ..phone import edge_number, mask
from ..types import CallAction, CallActionKind, DeliveryReceipt, InboundCall, InboundSms, SentSms
from .base import BaseProvider, Capabilities, receipt_url
from .http import TRANSIENT_STATUS, raise_for_response, transport_error, vendor_session

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.twilio.com"
SIGNATURE_HEADER = "HTTP_X_TWILIO_SIGNATURE"
TWIML = "text/xml; charset=utf-8"
# What XML 1.0 cannot carry even escaped (https://www.w3.org/TR/xml/#charsets): TwiML
# holding one would not parse at Twilio, and the call would fail.
_NOT_IN_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Refusals worth naming in the log (https://www.twilio.com/docs/api/errors); any other
# 4xx is permanent too, logged with its code.
ERROR_CODES = {
    21211: "invalid recipient number",
    21408: "no permission to send to this region",
    21606: "the pool number cannot send SMS",
    21608: "trial account: recipient not verified",
    21610: "recipient opted out (STOP)",
    21612: "recipient cannot be reached from this number",
    21614: "recipient is not a mobile number",
}

# The recipient texted STOP to the sending number; Twilio refuses until they text START.
OPTED_OUT_CODE = 21610

# Status callback words in ours (twilio.com/docs/messaging/api/message-resource#message-
# status-values); any other word (queued, sending, sent, ...) means Twilio has it: sent.
CALLBACK_STATUSES = {
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
# Delivery failures worth naming (https://www.twilio.com/docs/api/errors); the callback
# carries the code only.
DELIVERY_ERRORS = {
    "30003": "unreachable destination handset",
    "30004": "message blocked",
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    "30007": "filtered by the carrier",
    "30008": "unknown error",
    **{str(code): meaning for code, meaning in ERROR_CODES.items()},
}


class TwilioTransport(HttpClient):
    """The SDK's HttpClient contract on our vendor session, with a base URL from settings.

    The SDK builds every URL on api.twilio.com; a configured base URL (a local stand-in
    in tests and benchmarks) replaces it. 429 and 5xx become TransientSendError here,
    where the Retry-After header is still at hand; other answers go back to the SDK,
    which raises TwilioRestException with Twilio's error code.
    """

    def __init__(self, api_url: str, *, timeout: float) -> None:
        super().__init__(logger, False, timeout)
        self.api_url = api_url.rstrip("/")
        self.session = vendor_session(self.api_url)

    def request(
        self,
        method: str,
        url: str,
        params: Any = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if url.startswith(DEFAULT_API_URL):
            url = self.api_url + url[len(DEFAULT_API_URL) :]
        try:
            response = self.session.request(
                method.upper(),
                url,
                params=params,
                data=data,
                headers=headers,
                auth=auth,
                timeout=timeout or self.timeout,
                allow_redirects=allow_redirects,
            )
        except requests.RequestException as err:
            raise transport_error(err, vendor="Twilio") from err
        if response.status_code in TRANSIENT_STATUS or response.status_code >= 500:
            raise_for_response(response, vendor="Twilio")
        return Response(response.status_code, response.text, response.headers)


class TwilioProvider(BaseProvider):
    name = "twilio"
    # Messages takes no client reference; our id rides in the status callback's URL.
    capabilities = Capabilities(inbound_voice=True)
    call_webhook_methods = ("POST",)
    receipt_webhook_methods = ("POST",)

    def __init__(
        self,
        *,
        alias: str,
        account_sid: str,
        auth_token: str,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 10.0,
        public_url: str = "",
    ) -> None:
        super().__init__(alias=alias)
        self.auth_token = auth_token
        self.public_url = public_url
        self.capabilities = Capabilities(inbound_voice=True, delivery_receipts=bool(public_url))
        self.client = Client(
            account_sid,
            auth_token,
            account_sid=account_sid,
            http_client=TwilioTransport(api_url, timeout=timeout),
        )

    # --- sending -------------------------------------------------------------------
    def send_sms(self, *, sender: str, recipient: str, body: str, reference: str = "") -> SentSms:
        callback = receipt_url(self.public_url, alias=self.alias, reference=reference)
        options: dict[str, Any] = {"status_callback": callback} if callback else {}
        try:
            message = self.client.messages.create(to=recipient, from_=sender, body=body, **options)
        except (TwilioRestException, TwilioServiceException) as err:
            raise _refusal(err) from err
        if not message.sid:
            raise PermanentSendError("Twilio answered without a message sid")
        logger.info("Twilio SMS %s to %s accepted", message.sid, mask(recipient))
        return SentSms(vendor_id=message.sid)

    # --- verification ---------------------------------------------------------------
    def _signed_url(self, request: HttpRequest) -> str:
        # Behind a proxy Django sees another URL than the one Twilio signed.
        if self.public_url:
            return self.public_url.rstrip("/") + request.get_full_path()
        return request.build_absolute_uri()

    def verify(self, request: HttpRequest) -> dict[str, Any]:
        """Check the signature; returns the request's fields (form POST or query)."""
        if not self.auth_token:
            raise WebhookValidationError("Twilio auth token is not configured")
        signature = request.META.get(SIGNATURE_HEADER, "")
        if not signature:
            raise WebhookValidationError("missing X-Twilio-Signature header")
        try:
            fields = request.POST if request.method == "POST" else {}
            valid = RequestValidator(self.auth_token).validate(
                self._signed_url(request), fields, signature
            )
        except (ValueError, UnicodeDecodeError, MultiPartParserError) as err:
            raise MalformedWebhook("body is not a valid form") from err
        if not valid:
            raise WebhookValidationError("invalid X-Twilio-Signature")
        posted = request.POST.dict() if request.method == "POST" else {}
        return {**request.GET.dict(), **posted}

    # --- inbound SMS ------------------------------------------------------------------
    def parse_sms_webhook(self, request: HttpRequest, *, token: str | None = None) -> InboundSms:
        data = self.verify(request)
        text = data.get("Body")
        if text is None:
            raise MalformedWebhook("Body is missing")
        return InboundSms(
            provider=self.alias,
            sender=edge_number(data.get("From"), "From"),
            recipient=edge_number(data.get("To"), "To"),
            text=text,
            vendor_id=_sid(data, "MessageSid"),
            raw=data,
        )

    def sms_webhook_ack(self) -> HttpResponse:
        return HttpResponse(str(MessagingResponse()), content_type=TWIML)

    # --- inbound calls ----------------------------------------------------------------
    def parse_call_webhook(self, request: HttpRequest) -> InboundCall:
        data = self.verify(request)
        return InboundCall(
            provider=self.alias,
            caller=edge_number(data.get("From"), "From"),
            recipient=edge_number(data.get("To"), "To"),
            vendor_id=_sid(data, "CallSid"),
            raw=data,
        )

    def answer_call(self, action: CallAction, *, call: InboundCall) -> HttpResponse:
        # The pool number the caller dialled is the caller ID the other party sees.
        return HttpResponse(twiml(action, caller_id=call.recipient), content_type=TWIML)

    # --- status callbacks ---------------------------------------------------------------
    def parse_receipt_webhook(
        self, request: HttpRequest, *, token: str | None = None
    ) -> DeliveryReceipt:
        data = self.verify(request)
        status = data.get("MessageStatus") or data.get("SmsStatus")
        if not status:
            raise MalformedWebhook("MessageStatus is missing")
        code = data.get("ErrorCode", "")
        if code in ("0", "None"):
            code = ""
        return DeliveryReceipt(
            provider=self.alias,
            status=CALLBACK_STATUSES.get(status, "sent"),
            vendor_status=status,
            vendor_id=_sid(data, "MessageSid"),
            reference=data.get("ref", ""),
            error_code=code,
            error_description=data.get("ErrorMessage") or DELIVERY_ERRORS.get(code, ""),
            raw=data,
        )

    def check(self) -> list[str]:
        if not self.public_url:
            return [
                "MASKED_NUMBERS_PUBLIC_URL is not set: Twilio signs the public URL it calls, "
                "so no Twilio webhook can be verified."
            ]
        return []


def twiml(action: CallAction, *, caller_id: str) -> str:
    """TwiML for one action: a masked transfer, or a message and a hang-up."""
    response = VoiceResponse()
    if action.kind == CallActionKind.TRANSFER:
        dial = response.dial(caller_id=caller_id)
        dial.number(action.destination)
    else:
        response.say(_NOT_IN_XML.sub("", action.text), language=action.language)
        response.hangup()
    return str(response)


def _sid(data: dict[str, Any], field: str) -> str:
    sid = data.get(field)
    if not sid:
        raise MalformedWebhook(f"{field} is missing")
    return str(sid)[:128]


def _refusal(err: TwilioRestException | TwilioServiceException) -> PermanentSendError:
    """A 4xx refusal, its Twilio error code in our words (the log's) and theirs (detail)."""
    code = err.code
    meaning = ERROR_CODES.get(code, "refused") if isinstance(code, int) else "refused"
    detail = getattr(err, "msg", "") or getattr(err, "detail", "") or ""
    return PermanentSendError(
        f"Twilio refused the message: error {code} ({meaning})",
        detail=str(detail)[:300],
        opted_out=code == OPTED_OUT_CODE,
    )
