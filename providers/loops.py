"""Relay loops: a party's texts in one session are relayed up to a limit per window.

Two auto-responders on a ride (or a conversation) would otherwise answer each other for
ever, each answer relayed and paid for. A party whose relayed texts in the session
within the window reach `MASKED_NUMBERS_LOOP_MAX_TEXTS`, or who sends a text already
relayed `MASKED_NUMBERS_LOOP_MAX_REPEATS` times among those, is not relayed: the text is
logged with the outcome `loop_limited` and the party gets the notice once per window.
Counting only relayed texts makes the limit lift by itself once the window has passed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import Direction, Message
from .phone import mask
from .turns import take_turns
from .types import OutboundSms, SmsDecision

logger = logging.getLogger(__name__)

RELAYED = "relayed"
LIMITED = "loop_limited"


def _window() -> timedelta:
    return timedelta(minutes=float(settings.MASKED_NUMBERS_LOOP_WINDOW_MINUTES))


def relay_limit(*, decision: SmsDecision, sender: str, text: str) -> SmsDecision:
    """The router's decision, unless it relays a text of a party over its limit in the
    session: then nothing is relayed and the party is told once per window."""
    if decision.outcome != RELAYED or not decision.session:
        return decision
    # Parallel texts of the party cannot all read the count before any is logged.
    take_turns("loop", decision.session, sender)
    since = timezone.now() - _window()
    # The party's last relays in the window, no more than the limit: a long session
    # costs no more to check than a short one.
    limit = settings.MASKED_NUMBERS_LOOP_MAX_TEXTS
    relayed = list(
        Message.objects.filter(
            session=decision.session,
            created_at__gt=since,
            direction=Direction.INBOUND,
            sender=sender,
            outcome=RELAYED,
        )
        .order_by("-created_at")
        .values_list("body", flat=True)[:limit]
    )
    if len(relayed) < limit and relayed.count(text) < settings.MASKED_NUMBERS_LOOP_MAX_REPEATS:
        return decision
    told = Message.objects.filter(
        session=decision.session,
        created_at__gt=since,
        direction=Direction.OUTBOUND,
        recipient=sender,
        outcome=LIMITED,
    ).exists()
    logger.warning(
        "text from %s in %s not relayed: over the loop limit%s",
        mask(sender),
        decision.session,
        "" if told else ", notice sent",
    )
    notice = () if told else (OutboundSms(sender, settings.MASKED_NUMBERS_LOOP_NOTICE),)
    return SmsDecision(messages=notice, session=decision.session, outcome=LIMITED)
