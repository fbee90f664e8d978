from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone


class Clock:
    """The conversations app's clock, moved by the test instead of by sleeping."""

    def __init__(self) -> None:
        self.current = timezone.now()

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("conversations.clock.now", fake)
    return fake
