"""The provider interface: one vendor behind one class (see django.core.mail.backends)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from ..types import CallAction, DeliveryReceipt, InboundCall, InboundSms, SentSms


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do here (README, "What each vendor supports").

    `inbound_voice`: inbound calls answered with a masked transfer. `delivery_receipts`:
    the vendor reports each text's delivery and the backend reads it (a backend whose
    vendor is told the URL on each send has none without MASKED_NUMBERS_PUBLIC_URL).
    `send_reference`: a send carries our own message id (an idempotency key or client
    reference), so a resend can be recognised.
    `number_prefixes`: the E.164 numbers the vendor can serve, by prefix.
    """

    sms: bool = True
    inbound_sms: bool = True
    inbound_voice: bool = False
    delivery_receipts: bool = False
    send_reference: bool = False
    number_prefixes: tuple[str, ...] = ("+",)


class BaseProvider:
    """One SMS/voice vendor.

    Subclasses implement send_sms(), and the webhook methods for the traffic the vendor
    can send us: parse_sms_webhook() for inbound SMS, parse_call_webhook() and
    render_call() for inbound calls, parse_receipt_webhook() for delivery receipts. A
    parse method verifies the request first (raising WebhookValidationError), then
    reads it (raising MalformedWebhook). A request with a one-time id (a signature's
    jti) gives it as the event's `nonce`: the telephony layer writes it with the event
    and refuses a request that repeats it.
    Credentials arrive as keyword options from settings, never read from settings here.
    """

    name: ClassVar[str]
    # Per instance where it depends on the options (receipts need a public URL).
    capabilities: Capabilities = Capabilities()
    # The methods the vendor calls the voice webhook with.
    call_webhook_methods: ClassVar[tuple[str, ...]] = ("GET",)
    # The methods the vendor calls /webhooks/<alias>/receipts/ with; none: no such URL.
    receipt_webhook_methods: ClassVar[tuple[str, ...]] = ()
    # Whether the vendor posts all its events to one URL (/webhooks/<alias>/), read by
    # parse_event_webhook(), instead of one URL per kind of traffic.
    receives_events: ClassVar[bool] = False

    def __init__(self, *, alias: str, **options: object) -> None:
        self.alias = alias
        if options:
            raise TypeError(f"{type(self).__qualname__} got unknown options: {sorted(options)}")

    @property
    def supports_sms(self) -> bool:
        return self.capabilities.sms

    @property
    def supports_inbound_sms(self) -> bool:
        return self.capabilities.inbound_sms

    @property
    def supports_inbound_voice(self) -> bool:
        return self.capabilities.inbound_voice

    def serves_number(self, e164: str) -> bool:
        return e164.startswith(self.capabilities.number_prefixes)

    def number_problems(self, *, number: str, sms: bool, voice: bool) -> dict[str, str]:
        """Why this backend cannot serve a pool number (E.164) used as asked, by field;
        empty if it can."""
        problems = {}
        if not self.serves_number(number):
            problems["number"] = f"{self.alias} cannot serve {number} (numbers it serves: " + (
                ", ".join(f"{prefix}…" for prefix in self.capabilities.number_prefixes) + ")."
            )
        if voice and not self.capabilities.inbound_voice:
            problems["voice"] = f"{self.alias} numbers cannot take calls here."
        if sms and not (self.capabilities.sms and self.capabilities.inbound_sms):
            problems["sms"] = f"{self.alias} numbers cannot take SMS here."
        return problems

    def send_sms(self, *, sender: str, recipient: str, body: str, reference: str = "") -> SentSms:
        """Send one SMS; raise TransientSendError or PermanentSendError on failure.

        `reference` is our own id of the message: a backend whose vendor takes an
        idempotency key or a client reference sends it (`send_reference`)."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement send_sms()")

    def parse_sms_webhook(self, request: HttpRequest, *, token: str | None = None) -> InboundSms:
        raise NotImplementedError(f"{type(self).__qualname__} must implement parse_sms_webhook()")

    def parse_call_webhook(self, request: HttpRequest) -> InboundCall:
        raise NotImplementedError(f"{type(self).__qualname__} must implement parse_call_webhook()")

    def render_call(self, action: CallAction) -> HttpResponse:
        raise NotImplementedError(f"{type(self).__qualname__} must implement render_call()")

    def answer_call(self, action: CallAction, *, call: InboundCall) -> HttpResponse:
        """The answer to the vendor's call webhook. Most call flows need the action only
        (render_call); a vendor whose answer names the pool number (Twilio's callerId)
        overrides this instead."""
        return self.render_call(action)

    def parse_receipt_webhook(
        self, request: HttpRequest, *, token: str | None = None
    ) -> DeliveryReceipt:
        """Verify and read one delivery receipt (`receipt_webhook_methods`)."""
        raise NotImplementedError(
            f"{type(self).__qualname__} must implement parse_receipt_webhook()"
        )

    def parse_event_webhook(self, request: HttpRequest) -> InboundSms | DeliveryReceipt | None:
        """Verify and read one event of a vendor that posts every event to one URL
        (`receives_events`): an inbound SMS, a delivery receipt, or None for an event
        that is acknowledged and logged but not handled here."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement parse_event_webhook()")

    def sms_webhook_ack(self) -> HttpResponse:
        """What the vendor expects back once an inbound SMS is accepted."""
        return HttpResponse("OK", content_type="text/plain")

    def check(self) -> list[str]:
        """Configuration problems for the system check framework (DEBUG off)."""
        return []


def receipt_url(public_url: str, *, alias: str, token: str = "", reference: str = "") -> str:
    """The public URL of a backend's receipts webhook, our message id in its query (the
    vendor calls it as given); empty without a public URL, so nothing is asked."""
    if not public_url:
        return ""
    kwargs = {"alias": alias, "token": token} if token else {"alias": alias}
    path = reverse("receipt-webhook-token" if token else "receipt-webhook", kwargs=kwargs)
    query = f"?ref={reference}" if reference else ""
    return f"{public_url.rstrip('/')}{path}{query}"
