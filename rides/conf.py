"""Rides settings, each with a default so the project settings need not name them.

- RIDES_MASKING_WINDOW_HOURS (24): how long after pickup the parties can still reach
  each other through the ride's number (a forgotten item, a late question).
- RIDES_UNKNOWN_SENDER_REPLY: the answer to a text that matches no open ride. It must
  not reveal anything about any ride or person.
- RIDES_UNKNOWN_SENDER_REPLY_INTERVAL_MINUTES (60): at most one such answer per sender
  and number in this interval, so an auto-responder cannot keep a loop going with us.
- RIDES_UNKNOWN_CALLER_SAY: what a caller who matches no open ride hears.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

DEFAULT_UNKNOWN_SENDER_REPLY = (
    "Sorry, this number could not deliver your message. "
    "Please text from the phone number you registered for your ride."
)
DEFAULT_UNKNOWN_CALLER_SAY = (
    "Sorry, we cannot identify your transaction. "
    "Make sure you call in from the number you registered."
)


def masking_window() -> timedelta:
    return timedelta(hours=float(getattr(settings, "RIDES_MASKING_WINDOW_HOURS", 24)))


def unknown_sender_reply() -> str:
    return getattr(settings, "RIDES_UNKNOWN_SENDER_REPLY", DEFAULT_UNKNOWN_SENDER_REPLY)


def unknown_sender_reply_interval() -> timedelta:
    minutes = float(getattr(settings, "RIDES_UNKNOWN_SENDER_REPLY_INTERVAL_MINUTES", 60))
    return timedelta(minutes=minutes)


def unknown_caller_say() -> str:
    return getattr(settings, "RIDES_UNKNOWN_CALLER_SAY", DEFAULT_UNKNOWN_CALLER_SAY)
