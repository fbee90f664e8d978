"""The app's clock: services ask it for "now" unless a caller passes one.

One function to swap in tests, so code expiry and rate-limit windows can be crossed
without sleeping.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
