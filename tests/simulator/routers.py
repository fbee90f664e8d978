"""A tiny router for simulator tests: two fixed phones relayed to each other."""

from __future__ import annotations

from providers.models import ProxyNumber
from providers.routing import BaseRouter
from providers.types import CallAction, CallDecision, OutboundSms, SmsDecision

ALICE = "+14155550120"
BOB = "+14155550130"
PARTNER = {ALICE: BOB, BOB: ALICE}
NOT_IN_SESSION = "You are not in a session on this number."


class PairRouter(BaseRouter):
    def route_sms(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        partner = PARTNER.get(sender)
        if partner is None:
            return SmsDecision(
                messages=(OutboundSms(recipient=sender, body=NOT_IN_SESSION),),
                outcome="unknown_sender",
            )
        return SmsDecision(
            messages=(OutboundSms(recipient=partner, body=text),),
            session="pair:1",
            outcome="relayed",
        )

    def is_party(self, *, proxy: ProxyNumber, sender: str) -> bool:
        return sender in PARTNER

    def route_call(self, *, proxy: ProxyNumber, caller: str) -> CallDecision:
        partner = PARTNER.get(caller)
        if partner is None:
            return CallDecision(action=CallAction.say(NOT_IN_SESSION), outcome="unknown_sender")
        return CallDecision(
            action=CallAction.transfer(partner), session="pair:1", outcome="relayed"
        )

    def open_sessions(self, *, proxy_ids: list[int]) -> dict[int, int]:
        # One session on the lowest id, so the dashboard has a busiest number to show.
        counts = dict.fromkeys(proxy_ids, 0)
        if proxy_ids:
            counts[min(proxy_ids)] = 1
        return counts
