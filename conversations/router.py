"""Routes traffic on conversations numbers to the conversations services."""

from __future__ import annotations

from datetime import datetime

from providers.consent import opt_in_record
from providers.models import ProxyNumber
from providers.routing import BaseRouter
from providers.types import CallDecision, SmsDecision

from . import clock
from .parser import Join, Start, parse
from .retention import conversations_personal_data_erase
from .selectors import conversation_open_counts
from .services import conversation_call_route, conversation_opt_out, conversation_sms_receive


class ConversationsRouter(BaseRouter):
    def route_sms(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        if isinstance(parse(text), Join):
            # A JOIN asks to talk: a person who had opted out of the number is back in.
            opt_in_record(proxy=proxy, phone=sender)
        return conversation_sms_receive(proxy=proxy, sender=sender, text=text)

    def route_opt_out(self, *, proxy: ProxyNumber, sender: str) -> SmsDecision:
        return conversation_opt_out(proxy=proxy, sender=sender)

    def route_opt_in(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        # START opts in and starts a code, as it always did; other opt-in words only opt in.
        if isinstance(parse(text), Start):
            return conversation_sms_receive(proxy=proxy, sender=sender, text=text)
        return SmsDecision()

    def route_call(self, *, proxy: ProxyNumber, caller: str) -> CallDecision:
        return conversation_call_route(proxy=proxy, caller=caller)

    def open_sessions(self, *, proxy_ids: list[int]) -> dict[int, int]:
        return conversation_open_counts(proxy_ids=proxy_ids, now=clock.now())

    def personal_data_erase(self, *, before: datetime, now: datetime, batch: int) -> dict[str, int]:
        return conversations_personal_data_erase(before=before, now=now, batch=batch)
