"""The contract between the telephony layer and the services that own proxy numbers.

`providers` hands each inbound event on a proxy number to the router named for the
number's service in settings.MASKED_NUMBERS_ROUTERS. A router decides and returns what
should happen; it never talks to a vendor. It runs inside the event's transaction
(providers.inbound), so what it writes commits with the event's log row and the texts
it queues, or not at all.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from .models import ProxyNumber
from .types import CallDecision, OutboundSms, SmsDecision


class BaseRouter:
    """Decides what an inbound SMS or call on one of the service's numbers does."""

    def route_sms(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        raise NotImplementedError(f"{type(self).__qualname__} must implement route_sms()")

    def is_party(self, *, proxy: ProxyNumber, sender: str) -> bool:
        """Whether the sender is a party of an open session on this number."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement is_party()")

    def route_help(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        """The sender texted a HELP keyword. By default a party's is routed like any
        text (people write "help" to each other); anyone else gets the HELP reply, a
        system reply (bounded by providers.replies)."""
        if self.is_party(proxy=proxy, sender=sender):
            return self.route_sms(proxy=proxy, sender=sender, text=text)
        reply = OutboundSms(sender, settings.MASKED_NUMBERS_HELP_REPLY, system=True)
        return SmsDecision(messages=(reply,), outcome="help")

    def route_opt_out(self, *, proxy: ProxyNumber, sender: str) -> SmsDecision:
        """The sender texted an opt-out keyword (already recorded; it is not relayed).
        What else the service does: texts to the sender are merged into the one
        confirmation they get. By default nothing."""
        return SmsDecision()

    def route_opt_in(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        """A person who had opted out texted an opt-in keyword (already recorded; they
        get the opt-in confirmation, and the text is not relayed). By default nothing."""
        return SmsDecision()

    def route_call(self, *, proxy: ProxyNumber, caller: str) -> CallDecision:
        raise NotImplementedError(f"{type(self).__qualname__} must implement route_call()")

    def open_sessions(self, *, proxy_ids: list[int]) -> dict[int, int]:
        """How many open sessions each of these numbers serves now (for the admin)."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement open_sessions()")

    # --- retention (providers/retention.py) ---------------------------------------------

    def personal_data_erase(self, *, before: datetime, now: datetime, batch: int) -> dict[str, int]:
        """Erase the personal data of the service's sessions that ended before `before`
        (`now` is the sweep's time): its own, and their messages in the log through
        `providers.retention.session_messages_erase`. At most `batch` rows per table,
        each table in short transactions. Returns counts by what was erased, for the
        log. By default nothing is erased: a service with sessions must say when they
        ended."""
        return {}
