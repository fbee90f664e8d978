"""Replies to people who are no party of a session: bounded, so strangers cost little.

Routers mark such texts (`OutboundSms.system`): usage texts, HELP, unknown-sender
replies, JOIN errors and the JOIN limit reply. One is sent only

- to a country of MASKED_NUMBERS_SYSTEM_REPLY_COUNTRIES (default: the countries of the
  pool's active numbers), never to a premium-rate, shared-cost or international-network
  number (SMS pumping's targets);
- if the number has not sent this person the same reply within its `once_per`;
- while the number has sent this person fewer than MASKED_NUMBERS_SYSTEM_REPLIES_PER_SENDER
  and everyone fewer than MASKED_NUMBERS_SYSTEM_REPLIES_PER_NUMBER in the last hour.

Otherwise nothing is sent and the inbound text's outcome says why. The number's row is
locked for the checks, so that parallel texts cannot all pass them before any reply is
written; only texts that would get a system reply take that lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

import phonenumbers
from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from .models import Message, ProxyNumber, Status
from .phone import costly_number, country_of, mask
from .types import OutboundSms

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)


class Refusal(StrEnum):
    """Why a system reply was not sent: the inbound text's outcome."""

    COSTLY = "reply_refused_costly_number"
    COUNTRY = "reply_refused_country"
    REPEATED = "reply_not_repeated"
    SENDER_LIMIT = "reply_limited_per_sender"
    NUMBER_LIMIT = "reply_limited_per_number"


def system_reply_queue(
    *, log: Message, outbound: OutboundSms, queue: Callable[[OutboundSms], Message]
) -> Message | None:
    """Queue a system reply to the inbound text `log` with `queue`, if the limits let
    it go; None if not (the log row's outcome then says why)."""
    proxy = log.proxy
    assert proxy is not None  # noqa: S101 - only a routed text is answered
    refusal = _destination_refusal(outbound.recipient) or _limit_refusal(
        proxy=proxy, outbound=outbound, outcome=log.outcome
    )
    if refusal:
        logger.info("system reply to SMS %s not sent: %s", log.pk, refusal)
        if refusal is Refusal.NUMBER_LIMIT:
            logger.warning("%s reached its system replies per hour", mask(proxy.number))
        Message.objects.filter(pk=log.pk).update(outcome=refusal)
        log.outcome = refusal
        return None
    queued = queue(outbound)
    if queued.status != Status.SUPPRESSED:
        # Not a column of the log's literal INSERT: marked by its own statement.
        Message.objects.filter(pk=queued.pk).update(system=True)
        queued.system = True
    return queued


def reply_countries() -> set[str]:
    """Where system replies may go: the setting, else the pool's active numbers' countries."""
    if settings.MASKED_NUMBERS_SYSTEM_REPLY_COUNTRIES:
        return set(settings.MASKED_NUMBERS_SYSTEM_REPLY_COUNTRIES)
    # Every way of adding a number sets its country (from the number).
    countries = ProxyNumber.objects.filter(active=True).exclude(country="").order_by()
    return set(countries.values_list("country", flat=True).distinct())


def _country(e164: str) -> str:
    """The number's country; for a number no country claims, its calling code's main one."""
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return ""
    code = parsed.country_code or 0
    return country_of(e164) or phonenumbers.region_code_for_country_code(code)


def _destination_refusal(recipient: str) -> Refusal | None:
    if costly_number(recipient):
        return Refusal.COSTLY
    if _country(recipient) not in reply_countries():
        return Refusal.COUNTRY
    return None


def _limit_refusal(*, proxy: ProxyNumber, outbound: OutboundSms, outcome: str) -> Refusal | None:
    # Parallel texts to this number take turns here. NO KEY: traffic that only refers
    # to the number (its log rows, rides, conversations) does not wait for this lock.
    list(ProxyNumber.objects.select_for_update(no_key=True).filter(pk=proxy.pk).values("pk"))
    now = timezone.now()
    hour_ago = now - HOUR
    repeat_since = now - outbound.once_per if outbound.once_per else now
    to_them = Q(recipient=outbound.recipient)
    sent = Message.objects.filter(
        proxy=proxy, system=True, created_at__gt=min(hour_ago, repeat_since)
    ).aggregate(
        repeated=Count("pk", filter=to_them & Q(outcome=outcome, created_at__gt=repeat_since)),
        to_sender=Count("pk", filter=to_them & Q(created_at__gt=hour_ago)),
        by_number=Count("pk", filter=Q(created_at__gt=hour_ago)),
    )
    if outbound.once_per and sent["repeated"]:
        return Refusal.REPEATED
    if sent["to_sender"] >= settings.MASKED_NUMBERS_SYSTEM_REPLIES_PER_SENDER:
        return Refusal.SENDER_LIMIT
    if sent["by_number"] >= settings.MASKED_NUMBERS_SYSTEM_REPLIES_PER_NUMBER:
        return Refusal.NUMBER_LIMIT
    return None


def numbers_at_reply_limit(*, now: datetime | None = None) -> list[ProxyNumber]:
    """Pool numbers that sent their most system replies in the last hour (now silent)."""
    since = (now or timezone.now()) - HOUR
    busy = (
        Message.objects.filter(system=True, created_at__gt=since)
        .values("proxy")
        .annotate(n=Count("pk"))
        .filter(n__gte=settings.MASKED_NUMBERS_SYSTEM_REPLIES_PER_NUMBER)
        .values("proxy")
    )
    return list(ProxyNumber.objects.filter(pk__in=busy).order_by("number"))
