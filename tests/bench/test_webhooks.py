"""The webhooks benchmark's table, from made-up runs (no server, no database)."""

from __future__ import annotations

from bench.common import LARGE, SMALL
from bench.loadgen import LoadResult
from bench.webhooks import compare_rows


def run(rps: float, p99: float, *, postgres: float = 0.1) -> list[LoadResult]:
    return [
        LoadResult(
            requests=int(rps * 10),
            seconds=10.0,
            p50_ms=p99 / 3,
            p99_ms=p99,
            errors=0,
            ran_out=False,
            cpu_ms={"web": 2.0, "postgres": postgres},
        )
    ]


def rows_by_figure() -> dict:
    small = {"healthz": run(1500, 40.0), "sms": run(250, 150.0), "voice": run(600, 70.0)}
    large = {
        "healthz": run(1600, 36.0),
        "sms": run(260, 135.0, postgres=1.6),
        "voice": run(630, 72.0, postgres=0.5),
    }
    return {row.figure: row for row in compare_rows(small, large)}


def test_each_webhook_p99_is_a_multiple_of_healthz_p99_of_the_same_run_without_a_target():
    rows = rows_by_figure()
    sms = rows[f"SMS webhook p99 at {LARGE:,} vs trivial"]
    assert (sms.value, sms.baseline) == (135.0, 36.0)
    assert sms.ratio == 3.75
    assert (sms.target, sms.met) == ("", None)
    assert rows[f"voice webhook p99 at {LARGE:,} vs trivial"].ratio == 2.0


def test_postgresql_cpu_per_text_and_call_with_what_one_core_carries():
    rows = rows_by_figure()
    assert rows[f"SMS webhook PostgreSQL CPU per request at {LARGE:,}"].value == 1.6
    assert rows["texts/s one PostgreSQL core carries at that cost"].value == 625.0
    assert rows[f"voice webhook PostgreSQL CPU per request at {LARGE:,}"].value == 0.5
    assert rows["calls/s one PostgreSQL core carries at that cost"].value == 2000.0


def test_the_retired_targets_are_gone_and_the_history_targets_stay():
    rows = rows_by_figure()
    assert not any(row.target in {">= 0.40", "< 25 ms"} for row in rows.values())
    assert rows[f"SMS webhook req/s at {LARGE:,} vs trivial"].met is None
    history = rows[f"SMS webhook req/s at {LARGE:,} vs {SMALL:,}"]
    assert (history.target, history.met) == (">= 0.90", True)
    assert rows[f"voice webhook p99 at {LARGE:,} vs {SMALL:,}"].met is True
