"""Retention in the telephony layer: the period, the log line, the sweep command."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from providers.events import event_emit
from providers.management.commands.outbox_sweep import Command
from providers.models import Direction, Event, EventStatus, Message, Status
from providers.phone import ERASED
from providers.retention import retention_sweep
from tests import factories
from tests.events import EVENTS_SECRET, EVENTS_URL
from tests.providers.routers import EchoRouter

pytestmark = pytest.mark.django_db

PERSON = "+14155550123"


def texted(*, days_ago: float, body: str = "my door code is 4711") -> Message:
    """A stranger's text (no session): it counts as ended when it came."""
    proxy = factories.proxy_number()
    return Message.objects.create(
        direction=Direction.INBOUND,
        provider="console",
        proxy=proxy,
        sender=PERSON,
        recipient=proxy.number,
        body=body,
        status=Status.RECEIVED,
        created_at=timezone.now() - timedelta(days=days_ago),
    )


def test_the_period_is_a_setting(settings):
    settings.MASKED_NUMBERS_RETENTION_DAYS = 7
    old, recent = texted(days_ago=7.01), texted(days_ago=6.99)
    retention_sweep()
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.sender, old.body) == (ERASED, "")
    assert (recent.sender, recent.body) == (PERSON, "my door code is 4711")


def test_the_sweep_logs_counts_at_info_and_never_a_number_or_text(caplog):
    texted(days_ago=40)
    with caplog.at_level(logging.DEBUG):
        retention_sweep()
    lines = [r.getMessage() for r in caplog.records if r.name == "providers.retention"]
    assert lines == ["retention: erased messages 1"]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "providers.retention")
    for record in caplog.records:
        assert PERSON not in record.getMessage() and "4711" not in record.getMessage()


def test_a_sweep_with_nothing_to_erase_logs_nothing(caplog):
    texted(days_ago=1)
    with caplog.at_level(logging.INFO, logger="providers.retention"):
        assert set(retention_sweep().values()) == {0}
    assert not [r for r in caplog.records if r.name == "providers.retention"]


def test_the_outbox_sweep_command_erases_too():
    old = texted(days_ago=31)
    call_command("outbox_sweep")
    old.refresh_from_db()
    assert old.erased_at is not None and old.body == ""


class BrokenRetentionRouter(EchoRouter):
    def personal_data_erase(self, *, before, now, batch) -> dict[str, int]:
        raise RuntimeError("retention bug")


def test_a_failing_retention_run_does_not_stop_the_looping_sweeper(settings, caplog):
    settings.MASKED_NUMBERS_ROUTERS = {
        "rides": "tests.providers.test_retention.BrokenRetentionRouter"
    }
    texted(days_ago=31)
    with caplog.at_level(logging.ERROR):
        Command()._retention(loop=True, interval=0)
    assert "retention sweep failed" in caplog.text
    with pytest.raises(RuntimeError):
        Command()._retention(loop=False, interval=0)


def test_finished_events_older_than_the_period_are_deleted_queued_ones_kept(settings):
    settings.MASKED_NUMBERS_EVENTS_URL = EVENTS_URL
    settings.MASKED_NUMBERS_EVENTS_SECRET = EVENTS_SECRET
    now = timezone.now()
    old = now - timedelta(days=settings.MASKED_NUMBERS_RETENTION_DAYS, minutes=1)
    recent = now - timedelta(days=settings.MASKED_NUMBERS_RETENTION_DAYS, minutes=-1)
    rows = {}
    for name, at, status in [
        ("old_sent", old, EventStatus.SENT),
        ("old_failed", old, EventStatus.FAILED),
        ("old_queued", old, EventStatus.QUEUED),
        ("recent_sent", recent, EventStatus.SENT),
    ]:
        event = event_emit("ride.ended", {"session": "ride:1"})
        assert event is not None
        Event.objects.filter(pk=event.pk).update(created_at=at, status=status)
        rows[name] = event.pk

    assert retention_sweep(now=now)["events"] == 2
    left = set(Event.objects.values_list("pk", flat=True))
    assert left == {rows["old_queued"], rows["recent_sent"]}
