"""Routes traffic on rides numbers (placeholder until the rides service lands)."""

from __future__ import annotations

from providers.models import ProxyNumber
from providers.routing import BaseRouter
from providers.types import CallAction, CallDecision, SmsDecision


class RidesRouter(BaseRouter):
    def route_sms(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        return SmsDecision(outcome="not_implemented")

    def route_call(self, *, proxy: ProxyNumber, caller: str) -> CallDecision:
        return CallDecision(action=CallAction.say("Sorry, this number is not in service."))

    def open_sessions(self, *, proxy_ids: list[int]) -> dict[int, int]:
        return dict.fromkeys(proxy_ids, 0)
