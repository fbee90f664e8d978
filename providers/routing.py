"""The contract between the telephony layer and the services that own proxy numbers.

`providers` hands each inbound event on a proxy number to the router named for the
number's service in settings.MASKED_NUMBERS_ROUTERS. A router decides and returns what
should happen; it never talks to a vendor. Its decision is carried out in the same
database transaction as whatever the router wrote, so a relay is queued if and only if
the state change that caused it is committed. A router whose routing only reads says
so (`call_routing_writes`, `sms_routing_writes`): its calls and texts are then logged,
with what they queue, in one statement, without a transaction.
"""

from __future__ import annotations

from typing import ClassVar

from .models import ProxyNumber
from .types import CallDecision, SmsDecision


class BaseRouter:
    """Decides what an inbound SMS or call on one of the service's numbers does."""

    # Whether route_call() writes. One that only reads is not wrapped in a transaction:
    # a call is then answered with one write, its log row (see inbound_call_receive).
    call_routing_writes: ClassVar[bool] = True
    # Whether route_sms() writes. One that only reads is asked before the text is
    # logged, so the log row is written once, with its outcome (see inbound_sms_receive).
    sms_routing_writes: ClassVar[bool] = True

    def route_sms(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        raise NotImplementedError(f"{type(self).__qualname__} must implement route_sms()")

    def route_call(self, *, proxy: ProxyNumber, caller: str) -> CallDecision:
        raise NotImplementedError(f"{type(self).__qualname__} must implement route_call()")

    def open_sessions(self, *, proxy_ids: list[int]) -> dict[int, int]:
        """How many open sessions each of these numbers serves now (for the admin)."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement open_sessions()")
