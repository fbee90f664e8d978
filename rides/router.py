"""Caller-ID routing on rides numbers: the sender's open ride picks the other party."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from providers.models import ProxyNumber
from providers.phone import mask
from providers.routing import BaseRouter
from providers.selectors import reply_sent_since
from providers.types import CallAction, CallDecision, OutboundSms, SmsDecision

from .conf import unknown_caller_say, unknown_sender_reply, unknown_sender_reply_interval
from .retention import rides_personal_data_erase
from .selectors import (
    UNKNOWN_SENDER,
    ride_for_inbound,
    ride_open_counts,
)

logger = logging.getLogger(__name__)


class RidesRouter(BaseRouter):
    def route_sms(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        ride = ride_for_inbound(proxy=proxy, sender=sender)
        if ride is None:
            return self._unknown_sender(proxy=proxy, sender=sender)
        if not text.strip():
            # Vendors refuse empty texts (an MMS without words arrives like this).
            return SmsDecision(session=ride.session, outcome="empty")
        return SmsDecision(
            messages=(OutboundSms(recipient=ride.other_party_phone(sender), body=text),),
            session=ride.session,
            outcome="relayed",
        )

    def _unknown_sender(self, *, proxy: ProxyNumber, sender: str) -> SmsDecision:
        logger.info("SMS on %s from %s: no open ride", mask(proxy.number), mask(sender))
        since = timezone.now() - unknown_sender_reply_interval()
        if reply_sent_since(proxy=proxy, recipient=sender, outcome=UNKNOWN_SENDER, since=since):
            return SmsDecision(outcome=UNKNOWN_SENDER)
        # The interval is checked again where system replies take turns (providers.replies).
        reply = OutboundSms(
            recipient=sender,
            body=unknown_sender_reply(),
            system=True,
            once_per=unknown_sender_reply_interval(),
        )
        return SmsDecision(messages=(reply,), outcome=UNKNOWN_SENDER)

    def is_party(self, *, proxy: ProxyNumber, sender: str) -> bool:
        return ride_for_inbound(proxy=proxy, sender=sender) is not None

    def route_opt_out(self, *, proxy: ProxyNumber, sender: str) -> SmsDecision:
        # Nothing changes on the ride; its log shows the opt-out.
        ride = ride_for_inbound(proxy=proxy, sender=sender)
        return SmsDecision(session=ride.session if ride else "")

    def route_call(self, *, proxy: ProxyNumber, caller: str) -> CallDecision:
        ride = ride_for_inbound(proxy=proxy, sender=caller)
        if ride is None:
            logger.info("call on %s from %s: no open ride", mask(proxy.number), mask(caller))
            return CallDecision(
                action=CallAction.say(unknown_caller_say()), outcome="unknown_caller"
            )
        return CallDecision(
            action=CallAction.transfer(ride.other_party_phone(caller)),
            session=ride.session,
            outcome="transferred",
        )

    def open_sessions(self, *, proxy_ids: list[int]) -> dict[int, int]:
        return ride_open_counts(proxy_ids=proxy_ids)

    def personal_data_erase(self, *, before: datetime, now: datetime, batch: int) -> dict[str, int]:
        return rides_personal_data_erase(before=before, now=now, batch=batch)
