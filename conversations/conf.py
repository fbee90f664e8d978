"""Settings of the conversations app, read at call time with these defaults.

Each can be set in the Django settings module (see README.md, "Conversations"):

- CONVERSATIONS_CODE_TTL_MINUTES: how long a START code waits for its joiner.
- CONVERSATIONS_IDLE_DAYS: an active conversation without messages ends after this.
- CONVERSATIONS_JOIN_FAILURES_PER_SENDER: failed JOINs allowed per person (on any
  number) in one window, before their JOINs are refused.
- CONVERSATIONS_JOIN_FAILURES_PER_NUMBER: failed JOINs on one conversations number in
  one window after which each person gets one failed JOIN there per window (the right
  code still gets in).
- CONVERSATIONS_JOIN_FAILURE_WINDOW_MINUTES: the sliding window of those limits.
- CONVERSATIONS_JOIN_LIMIT_REPLY: the reply once limited; `{minutes}` is the window.
- CONVERSATIONS_REPEAT_REPLY_MINUTES: the usage text or code reminder that answers
  ordinary text is sent to one person at most once in this time (0: always).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, object] = {
    "CONVERSATIONS_CODE_TTL_MINUTES": 30,
    "CONVERSATIONS_IDLE_DAYS": 7,
    "CONVERSATIONS_JOIN_FAILURES_PER_SENDER": 5,
    "CONVERSATIONS_JOIN_FAILURES_PER_NUMBER": 50,
    "CONVERSATIONS_JOIN_FAILURE_WINDOW_MINUTES": 15,
    "CONVERSATIONS_REPEAT_REPLY_MINUTES": 10,
    "CONVERSATIONS_JOIN_LIMIT_REPLY": (
        "Too many wrong codes from this phone or to this number. "
        "Please wait {minutes} minutes and try again."
    ),
}


def _get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


def code_ttl() -> timedelta:
    return timedelta(minutes=float(_get("CONVERSATIONS_CODE_TTL_MINUTES")))


def idle_timeout() -> timedelta:
    return timedelta(days=float(_get("CONVERSATIONS_IDLE_DAYS")))


@dataclass(frozen=True)
class JoinLimits:
    per_sender: int
    per_number: int
    window: timedelta


def join_limits() -> JoinLimits:
    return JoinLimits(
        per_sender=int(_get("CONVERSATIONS_JOIN_FAILURES_PER_SENDER")),
        per_number=int(_get("CONVERSATIONS_JOIN_FAILURES_PER_NUMBER")),
        window=timedelta(minutes=float(_get("CONVERSATIONS_JOIN_FAILURE_WINDOW_MINUTES"))),
    )


def join_limit_reply() -> str:
    minutes = join_limits().window.total_seconds() / 60
    return str(_get("CONVERSATIONS_JOIN_LIMIT_REPLY")).format(minutes=f"{minutes:g}")


def repeat_reply_window() -> timedelta:
    return timedelta(minutes=float(_get("CONVERSATIONS_REPEAT_REPLY_MINUTES")))
