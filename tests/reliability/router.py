"""A small router for reliability runs: fixed pairs of people relay to each other.

The real services (rides, conversations) are tested on their own; this one keeps the
telephony layer's promises testable without them. `RELIABILITY_PAIRS` in settings maps
each person's number to their partner's (both directions).
"""

from __future__ import annotations

import hashlib

from django.conf import settings

from providers.models import ProxyNumber
from providers.routing import BaseRouter
from providers.types import CallAction, CallDecision, OutboundSms, SmsDecision

UNKNOWN_SENDER_REPLY = "Sorry, this number does not know you."


def partner_of(number: str) -> str | None:
    return settings.RELIABILITY_PAIRS.get(number)


def session_of(number: str, partner: str) -> str:
    # No number in the session name: it is shown in the admin next to masked numbers.
    digest = hashlib.sha256("|".join(sorted([number, partner])).encode()).hexdigest()
    return f"pair:{digest[:12]}"


class PairRouter(BaseRouter):
    def route_sms(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        partner = partner_of(sender)
        if partner is None:
            return SmsDecision(
                messages=(OutboundSms(recipient=sender, body=UNKNOWN_SENDER_REPLY),),
                outcome="unknown_sender",
            )
        return SmsDecision(
            messages=(OutboundSms(recipient=partner, body=text),),
            session=session_of(sender, partner),
            outcome="relayed",
        )

    def is_party(self, *, proxy: ProxyNumber, sender: str) -> bool:
        return partner_of(sender) is not None

    def route_call(self, *, proxy: ProxyNumber, caller: str) -> CallDecision:
        partner = partner_of(caller)
        if partner is None:
            return CallDecision(action=CallAction.say(UNKNOWN_SENDER_REPLY), outcome="unknown")
        return CallDecision(
            action=CallAction.transfer(partner),
            session=session_of(caller, partner),
            outcome="transferred",
        )

    def open_sessions(self, *, proxy_ids: list[int]) -> dict[int, int]:
        return dict.fromkeys(proxy_ids, len(settings.RELIABILITY_PAIRS) // 2)
