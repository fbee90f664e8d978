"""Consent: opt-out and opt-in keywords, and who may be texted from which number.

A person who texts an opt-out keyword to a pool number gets one confirmation and
nothing more from that number until they text an opt-in keyword; the keyword itself
is never relayed. Vendors that block such sends themselves report it as an error on
the send, which records the opt-out the same way.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from functools import cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .events import event_emit, event_number, event_time, events_enabled
from .models import OptOut, ProxyNumber

# Spaces, hyphens and underscores inside a keyword count as one space ("opt-out").
_INNER = re.compile(r"[\s_-]+")
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


class Consent(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


def _normal(text: str) -> str:
    return _INNER.sub(" ", _EDGES.sub("", text)).upper()


@cache
def _keywords(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(_normal(word) for word in words)


def _word(text: str) -> str:
    """The text as a keyword would read, '' if it is too long to be one."""
    if len(text) > 60:
        return ""  # every text is asked: a long one is no keyword, whatever it holds
    word = _normal(text)
    return "" if len(word) > 20 else word


def consent_keyword(text: str) -> Consent | None:
    """Whether a whole text is an opt-out or opt-in keyword of the settings."""
    word = _word(text)
    if not word:
        return None
    if word in _keywords(tuple(settings.MASKED_NUMBERS_OPT_OUT_KEYWORDS)):
        return Consent.OPT_OUT
    if word in _keywords(tuple(settings.MASKED_NUMBERS_OPT_IN_KEYWORDS)):
        return Consent.OPT_IN
    return None


def help_keyword(text: str) -> bool:
    """Whether a whole text is a HELP keyword of the settings (HELP, INFO)."""
    word = _word(text)
    return bool(word) and word in _keywords(tuple(settings.MASKED_NUMBERS_HELP_KEYWORDS))


def is_opted_out(*, proxy: ProxyNumber, phone: str) -> bool:
    """Whether this person has opted out of texts from this number (and not back in)."""
    return OptOut.objects.filter(proxy=proxy, phone=phone, opted_in_at__isnull=True).exists()


def opt_out_record(*, proxy: ProxyNumber, phone: str, keyword: str) -> bool:
    """Record that this person opted out of this number; False if they already had.
    The platform is told (`optout.created`) in the caller's transaction."""
    keyword = keyword.strip()[:40]
    now = timezone.now()
    renewed = OptOut.objects.filter(proxy=proxy, phone=phone, opted_in_at__isnull=False).update(
        keyword=keyword, opted_out_at=now, opted_in_at=None
    )
    if not renewed:
        try:
            with transaction.atomic():
                OptOut.objects.create(proxy=proxy, phone=phone, keyword=keyword, opted_out_at=now)
        except IntegrityError:
            return False  # opted out already (or at the same moment by another request)
    _opt_out_emit(proxy=proxy, phone=phone, keyword=keyword, at=now)
    return True


def _opt_out_emit(*, proxy: ProxyNumber, phone: str, keyword: str, at: datetime) -> None:
    if events_enabled():
        event_emit(
            "optout.created",
            {
                "proxy_number": proxy.number,
                "phone": event_number(phone),
                "keyword": keyword,
                "opted_out_at": event_time(at),
            },
        )


def opt_in_record(*, proxy: ProxyNumber, phone: str) -> bool:
    """The person opted back in to this number; False if they had not opted out."""
    return bool(
        OptOut.objects.filter(proxy=proxy, phone=phone, opted_in_at__isnull=True).update(
            opted_in_at=timezone.now()
        )
    )
