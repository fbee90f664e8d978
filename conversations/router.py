"""Routes traffic on conversations numbers to the conversations services."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.conf import settings

from providers.consent import opt_in_record
from providers.models import ProxyNumber
from providers.routing import BaseRouter
from providers.types import CallDecision, SmsDecision

from . import clock
from .parser import Join, Start, parse
from .retention import conversations_personal_data_erase
from .selectors import conversation_open_counts, conversation_open_for
from .services import conversation_call_route, conversation_opt_out, conversation_sms_receive


class ConversationsRouter(BaseRouter):
    def route_sms(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        if isinstance(parse(text), Join):
            # A JOIN asks to talk: a person who had opted out of the number is back in.
            opt_in_record(proxy=proxy, phone=sender)
        return _system_replies(conversation_sms_receive(proxy=proxy, sender=sender, text=text))

    def is_party(self, *, proxy: ProxyNumber, sender: str) -> bool:
        return conversation_open_for(proxy=proxy, phone=sender, now=clock.now()) is not None

    def route_help(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        # Every HELP keyword is the protocol's HELP, whoever sends it, with how to stop.
        decision = _system_replies(
            conversation_sms_receive(proxy=proxy, sender=sender, text="HELP")
        )
        stop = settings.MASKED_NUMBERS_HELP_STOP
        return replace(
            decision,
            messages=tuple(
                replace(m, body=f"{m.body} {stop}") if m.recipient == sender else m
                for m in decision.messages
            ),
        )

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


# A reply naming no conversation that still goes to a party: a JOIN that lost the race
# against the sender's own other JOIN or START here.
_TO_A_PARTY = {"join_busy"}


def _system_replies(decision: SmsDecision) -> SmsDecision:
    """A reply that belongs to no conversation (usage, HELP, JOIN errors, the JOIN limit
    reply) goes to someone who is no party: a system reply."""
    if decision.session or decision.outcome in _TO_A_PARTY:
        return decision
    return replace(decision, messages=tuple(replace(m, system=True) for m in decision.messages))
