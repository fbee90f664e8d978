"""Helpers of the bulk loader and the benchmark databases (one test needs PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import data, db
from providers.phone import to_e164

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="takes PostgreSQL's advisory lock",
)
def test_a_second_benchmark_process_is_refused_the_databases():
    # The first process takes the lock by dropping a database that does not exist, and
    # holds it until it is told to exit; the second must stop before dropping anything.
    script = "from bench import db; db.drop('bench_lock_test'); print('held', flush=True); input()"
    first = subprocess.Popen(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "held"
        second = subprocess.run(  # noqa: S603 - fixed arguments
            [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert second.returncode != 0
        assert "another benchmark is using the bench_* databases" in second.stderr
        assert "held" not in second.stdout
    finally:
        first.communicate("\n", timeout=60)
    assert first.returncode == 0
