"""The provider interface: one vendor behind one class (see django.core.mail.backends)."""

from __future__ import annotations

from typing import ClassVar

from django.http import HttpRequest, HttpResponse

from ..types import CallAction, InboundCall, InboundSms, SentSms


class BaseProvider:
    """One SMS/voice vendor.

    Subclasses implement send_sms(), and the webhook methods for the traffic the vendor
    can send us: parse_sms_webhook() for inbound SMS, parse_call_webhook() and
    render_call() for inbound calls. A parse method verifies the request first
    (raising WebhookValidationError), then reads it (raising MalformedWebhook). A
    request with a one-time id (a signature's jti) gives it as the event's `nonce`:
    the telephony layer writes it with the event and refuses a request that repeats it.
    Credentials arrive as keyword options from settings, never read from settings here.
    """

    name: ClassVar[str]
    supports_sms: ClassVar[bool] = True
    supports_inbound_sms: ClassVar[bool] = True
    supports_inbound_voice: ClassVar[bool] = False

    def __init__(self, *, alias: str, **options: object) -> None:
        self.alias = alias
        if options:
            raise TypeError(f"{type(self).__qualname__} got unknown options: {sorted(options)}")

    def send_sms(self, *, sender: str, recipient: str, body: str) -> SentSms:
        """Send one SMS; raise TransientSendError or PermanentSendError on failure."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement send_sms()")

    def parse_sms_webhook(self, request: HttpRequest, *, token: str | None = None) -> InboundSms:
        raise NotImplementedError(f"{type(self).__qualname__} must implement parse_sms_webhook()")

    def parse_call_webhook(self, request: HttpRequest) -> InboundCall:
        raise NotImplementedError(f"{type(self).__qualname__} must implement parse_call_webhook()")

    def render_call(self, action: CallAction) -> HttpResponse:
        raise NotImplementedError(f"{type(self).__qualname__} must implement render_call()")

    def sms_webhook_ack(self) -> HttpResponse:
        """What the vendor expects back once an inbound SMS is accepted."""
        return HttpResponse("OK", content_type="text/plain")

    def check(self) -> list[str]:
        """Configuration problems for the system check framework (DEBUG off)."""
        return []
