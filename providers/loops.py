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
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections
from django.utils import timezone

from .models import Direction, Message
from .phone import mask
from .turns import take_turns
from .types import OutboundSms, SmsDecision

logger = logging.getLogger(__name__)

RELAYED = "relayed"
LIMITED = "loop_limited"

# The party's last relays in the window, newest first, no more than the limit: a long
# session costs no more to check than a short one. Beside the ORM query that says the
# same, a text's CPU is down by a ninth and SMS requests/s up by a tenth
# (bench/HISTORY.md, 2026-12-01).
LAST_RELAYS_SQL = """
    SELECT body FROM providers_message
    WHERE session = %(session)s AND created_at > %(since)s AND direction = 'in'
      AND sender = %(sender)s AND outcome = 'relayed'
    ORDER BY created_at DESC
    LIMIT %(limit)s
"""


def _window() -> timedelta:
    return timedelta(minutes=float(settings.MASKED_NUMBERS_LOOP_WINDOW_MINUTES))


def _last_relays(*, session: str, sender: str, since: datetime, limit: int) -> list[str]:
    connection = connections[Message.objects.db]
    params = {
        "session": session,
        "sender": sender,
        "since": connection.ops.adapt_datetimefield_value(since),
        "limit": limit,
    }
    with connection.cursor() as cursor:
        cursor.execute(LAST_RELAYS_SQL, params)
        return [body for (body,) in cursor.fetchall()]


def relay_limit(*, decision: SmsDecision, sender: str, text: str) -> SmsDecision:
    """The router's decision, unless it relays a text of a party over its limit in the
    session: then nothing is relayed and the party is told once per window."""
    if decision.outcome != RELAYED or not decision.session:
        return decision
    # Parallel texts of the party cannot all read the count before any is logged.
    take_turns("loop", decision.session, sender)
    since = timezone.now() - _window()
    limit = settings.MASKED_NUMBERS_LOOP_MAX_TEXTS
    relayed = _last_relays(session=decision.session, sender=sender, since=since, limit=limit)
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
