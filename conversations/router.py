"""Routes traffic on conversations numbers to the conversations services."""

from __future__ import annotations

from providers.models import ProxyNumber
from providers.routing import BaseRouter
from providers.types import CallDecision, SmsDecision

from . import clock
from .selectors import conversation_open_counts
from .services import conversation_call_route, conversation_sms_receive


class ConversationsRouter(BaseRouter):
    def route_sms(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        return conversation_sms_receive(proxy=proxy, sender=sender, text=text)

    def route_call(self, *, proxy: ProxyNumber, caller: str) -> CallDecision:
        return conversation_call_route(proxy=proxy, caller=caller)

    def open_sessions(self, *, proxy_ids: list[int]) -> dict[int, int]:
        return conversation_open_counts(proxy_ids=proxy_ids, now=clock.now())
