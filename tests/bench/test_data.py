"""Helpers of the bulk loader and the benchmark databases (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench import data, db
from providers.phone import to_e164


def test_copy_text_format_escapes_what_copy_would_misread():
    assert data._text(None) == "\\N"
    assert data._text(True) == "t"
    assert data._text("a\tb\nc\\d") == "a\\tb\\nc\\\\d"
    assert data._text(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02T03:04:00+00:00"


def test_generated_numbers_are_valid_e164_and_distinct_per_role():
    numbers = [data.customer_phone(7), data.driver_phone(7), data.proxy_phone(7)]
    assert [to_e164(n) for n in numbers] == numbers
    assert len(set(numbers)) == 3
    assert to_e164(data.person_phone(2_000_123)) == data.person_phone(2_000_123)


def test_open_rides_have_their_people_at_every_scale():
    for rides in (1_000, 1_000_000):
        customers, drivers = data.people_for(rides)
        assert customers >= data.OPEN_RIDES
        assert drivers >= data.OPEN_RIDES // data.OPEN_RIDES_PER_DRIVER
    assert data.people_for(1_000_000) == (200_000, 3_333)


def test_only_benchmark_databases_are_touched():
    assert db.database_url("bench_1k").endswith("/bench_1k")
    for name in ("postgres", "test", "wt_bench", "bench_x; DROP"):
        with pytest.raises(ValueError, match="bench_"):
            db.drop(name)


def test_a_template_is_reused_migrated_or_rebuilt(monkeypatch):
    current = {"rides/migrations/0001_initial.py": "aaa", "rides/migrations/0002_x.py": "bbb"}
    monkeypatch.setattr(db, "migration_hashes", lambda: current)
    wanted = {"rides": 1000, "loader": "rides-1"}
    built = {**wanted, "open_rides": 200, "migrations": dict(current)}
    assert db.reusable(built, wanted) == "yes"
    older = {**built, "migrations": {"rides/migrations/0001_initial.py": "aaa"}}
    assert db.reusable(older, wanted) == "migrate"  # 0002 came later: applied in place
    changed = {**built, "migrations": {**current, "rides/migrations/0001_initial.py": "zzz"}}
    assert db.reusable(changed, wanted) == "no"
    assert db.reusable({**built, "loader": "rides-0"}, wanted) == "no"
    assert db.reusable({**built, "rides": 20_000}, wanted) == "no"
    assert db.reusable(None, wanted) == "no"
