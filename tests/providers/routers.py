"""A router for the telephony tests, so they do not depend on the rides or conversations rules."""

from __future__ import annotations

from providers.models import Direction, Message, ProxyNumber
from providers.routing import BaseRouter
from providers.types import CallAction, CallDecision, OutboundSms, SmsDecision

# Calls are put through to this number; when it calls, it hears SAY_TEXT.
PARTNER = "+12065550999"
SAY_TEXT = 'Your driver <Anne & "Bo"> is on the way'


class EchoRouter(BaseRouter):
    """Texts every sender back what they wrote; puts callers through to PARTNER."""

    def route_sms(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        return SmsDecision(
            messages=(OutboundSms(recipient=sender, body=f"echo: {text}"),),
            session=f"echo:{proxy.pk}",
            outcome="echoed",
        )

    def route_call(self, *, proxy: ProxyNumber, caller: str) -> CallDecision:
        if caller == PARTNER:
            return CallDecision(action=CallAction.say(SAY_TEXT), outcome="said")
        return CallDecision(
            action=CallAction.transfer(PARTNER), session=f"echo:{proxy.pk}", outcome="transferred"
        )

    def open_sessions(self, *, proxy_ids: list[int]) -> dict[int, int]:
        # A session per person who ever texted the number: enough to tell rows apart.
        counts = dict.fromkeys(proxy_ids, 0)
        rows = (
            Message.objects.filter(proxy_id__in=proxy_ids, direction=Direction.INBOUND)
            .values_list("proxy_id", "sender")
            .distinct()
        )
        for proxy_id, _sender in rows:
            counts[proxy_id] += 1
        return counts
