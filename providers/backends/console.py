"""Console provider: prints and stores, for development, the simulator and tests.

Inbound traffic arrives through the phone simulator, the `simulate_sms` /
`simulate_call` commands, or the local-only webhooks under /webhooks/console/, which
take JSON `{"from", "to", "text"}` (SMS) or query `?from=&to=` (calls).
"""

from __future__ import annotations

import logging
import sys
import threading
import uuid

from django.http import HttpRequest, HttpResponse, JsonResponse

from ..exceptions import MalformedWebhook, WebhookValidationError
from ..phone import edge_number, mask
from ..types import CallAction, InboundCall, InboundSms, SentSms
from .base import BaseProvider, Capabilities
from .http import json_object

logger = logging.getLogger(__name__)

# Like django.core.mail's locmem outbox: what was sent in this process, newest last.
outbox: list[dict[str, str]] = []
_outbox_lock = threading.Lock()


class ConsoleProvider(BaseProvider):
    """`echo`: print each SMS with its text on stdout, as Django's console email backend
    does (development), instead of the log line, which keeps numbers masked and the
    text out."""

    name = "console"
    capabilities = Capabilities(inbound_voice=True)

    def __init__(self, *, alias: str, echo: bool = False, **options: object) -> None:
        super().__init__(alias=alias, **options)
        self.echo = echo

    def send_sms(self, *, sender: str, recipient: str, body: str, reference: str = "") -> SentSms:
        vendor_id = f"console-{uuid.uuid4().hex}"
        with _outbox_lock:
            outbox.append({"id": vendor_id, "from": sender, "to": recipient, "body": body})
            del outbox[:-1000]
        if self.echo:
            # The one line a delivery prints in development; the log line would repeat it.
            print(f"SMS from {sender} to {mask(recipient)}: {body}", file=sys.stdout, flush=True)
        else:
            logger.info("console SMS %s from %s to %s", vendor_id, mask(sender), mask(recipient))
        logger.debug("console SMS %s body: %s", vendor_id, body)
        return SentSms(vendor_id=vendor_id)

    @staticmethod
    def _require_local(request: HttpRequest) -> None:
        if request.META.get("REMOTE_ADDR") not in {"127.0.0.1", "::1"}:
            raise WebhookValidationError("the console webhooks answer local requests only")

    def parse_sms_webhook(self, request: HttpRequest, *, token: str | None = None) -> InboundSms:
        self._require_local(request)
        data = json_object(request.body or b"{}")
        text = data.get("text", "")
        if not isinstance(text, str):
            raise MalformedWebhook("text must be a string")
        return inbound_sms(
            sender=data.get("from"),
            recipient=data.get("to"),
            text=text,
            vendor_id=str(data.get("id") or ""),
            provider=self.alias,
        )

    def parse_call_webhook(self, request: HttpRequest) -> InboundCall:
        self._require_local(request)
        return inbound_call(
            caller=request.GET.get("from"), recipient=request.GET.get("to"), provider=self.alias
        )

    def render_call(self, action: CallAction) -> HttpResponse:
        return JsonResponse(
            {"action": str(action.kind), "destination": action.destination, "text": action.text}
        )


def inbound_sms(
    *, sender: object, recipient: object, text: str, vendor_id: str = "", provider: str = "console"
) -> InboundSms:
    """An inbound SMS as the console provider sees it (simulator, commands)."""
    return InboundSms(
        provider=provider,
        sender=edge_number(sender, "from"),
        recipient=edge_number(recipient, "to"),
        text=text,
        vendor_id=vendor_id or f"console-in-{uuid.uuid4().hex}",
        raw={"from": sender, "to": recipient, "text": text},
    )


def inbound_call(*, caller: object, recipient: object, provider: str = "console") -> InboundCall:
    return InboundCall(
        provider=provider,
        caller=edge_number(caller, "from"),
        recipient=edge_number(recipient, "to"),
        vendor_id=f"console-call-{uuid.uuid4().hex}",
        raw={"from": caller, "to": recipient},
    )
