"""providers.pool: the pool number of a text or call, kept for a few seconds per process."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from providers import pool
from providers.models import ProxyNumber
from providers.pool import active_proxy
from providers.pool_admin import proxy_number_retire
from tests.factories import proxy_number

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(pool.time, "monotonic", clock)
    return clock


@pytest.fixture
def number(settings):
    settings.MASKED_NUMBERS_POOL_CACHE_SECONDS = 5
    return proxy_number(voice=True)


def lookups(number: str) -> tuple[ProxyNumber | None, int]:
    with CaptureQueriesContext(connection) as captured:
        found = active_proxy(number)
    return found, len(captured.captured_queries)


def test_a_number_is_read_once_then_kept_for_the_seconds_set(number, clock):
    assert lookups(number.number) == (number, 1)
    clock.now += 4.9
    assert lookups(number.number) == (number, 0)
    clock.now += 0.2
    assert lookups(number.number) == (number, 1)


def test_a_change_made_in_this_process_is_seen_at_once(number, clock):
    active_proxy(number.number)

    number.voice = False
    number.service = "conversations"
    number.save()
    found, queries = lookups(number.number)
    assert (found.voice, found.service, queries) == (False, "conversations", 1)

    assert proxy_number_retire(proxy=number)  # an UPDATE: no save signal
    assert lookups(number.number) == (None, 1)


def test_a_change_made_elsewhere_is_seen_once_the_seconds_are_up(number, clock):
    active_proxy(number.number)
    ProxyNumber.objects.filter(pk=number.pk).update(active=False)  # as another process would

    assert lookups(number.number) == (number, 0)
    clock.now += 5
    assert lookups(number.number) == (None, 1)


def test_a_number_not_in_the_pool_is_kept_too_and_an_added_one_is_seen_at_once(settings, clock):
    settings.MASKED_NUMBERS_POOL_CACHE_SECONDS = 5
    assert lookups("+12065550177") == (None, 1)
    assert lookups("+12065550177") == (None, 0)

    added = proxy_number(number="+12065550177")
    assert lookups("+12065550177") == (added, 1)


def test_zero_seconds_reads_every_time(number, settings, clock):
    settings.MASKED_NUMBERS_POOL_CACHE_SECONDS = 0
    assert [lookups(number.number)[1] for _ in range(3)] == [1, 1, 1]


def test_each_caller_gets_its_own_copy(number, clock):
    first = active_proxy(number.number)
    first.service = "changed by a caller"
    first._state.fields_cache["anything"] = object()
    second = active_proxy(number.number)
    assert second.service == number.service
    assert second._state.fields_cache == {}
    # A row as read from the database: saving it updates, it does not insert.
    assert (second.pk, second._state.adding, second._state.db) == (number.pk, False, "default")
    second.country = "CA"
    second.save(update_fields=["country"])
    number.refresh_from_db()
    assert number.country == "CA"


def test_unknown_numbers_cannot_grow_it_without_bound(settings, monkeypatch, clock):
    settings.MASKED_NUMBERS_POOL_CACHE_SECONDS = 5
    monkeypatch.setattr(pool, "_MAX_ENTRIES", 3)
    for n in range(10):
        active_proxy(f"+1206555{n:04d}")
        assert len(pool._entries) <= 3
