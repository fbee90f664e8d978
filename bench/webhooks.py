"""Benchmark 1: signed MessageBird SMS and voice webhooks for open rides, against the
production stack, at a short and at a long ride history, beside the trivial endpoint
(`/healthz`: the whole middleware stack and one `SELECT 1`) of the same server.

    python -m bench.webhooks            (BENCH_QUICK=1 for a small, short run)
"""

from __future__ import annotations

from dataclasses import dataclass

from .common import DURATION, LARGE, SMALL, finish, log, scale_name
from .loadgen import LoadResult
from .scenario import (
    measure_trivial,
    measure_webhooks,
    open_sessions,
    outcomes,
    prepared_rides,
    production,
)
from .table import Row, below, ratio_at_least, ratio_at_most

NAME = "webhooks"
KINDS = {"sms": "SMS webhook", "voice": "voice webhook"}


@dataclass(frozen=True)
class ScaleResult:
    rides: int
    trivial: LoadResult
    kinds: dict[str, LoadResult]
    outcomes: dict[str, int]


def measure_scale(rides: int, *, duration: float = DURATION) -> ScaleResult:
    database, _ = prepared_rides(rides)
    sessions = open_sessions(database)
    with production(database) as (_, url, _vendor):
        trivial = measure_trivial(url, duration=duration)
        log(f"{scale_name(rides)}: healthz {trivial.rps:.0f}/s p99 {trivial.p99_ms:.1f} ms")
        kinds = {}
        for kind in KINDS:
            kinds[kind] = measure_webhooks(
                url, sessions, kind=kind, duration=duration, expected_rps=trivial.rps
            )
            log(
                f"{scale_name(rides)}: {kind} {kinds[kind].rps:.0f}/s "
                f"p99 {kinds[kind].p99_ms:.1f} ms, {kinds[kind].errors} errors"
            )
    return ScaleResult(rides, trivial, kinds, outcomes(database))


def raw_rows(result: ScaleResult) -> list[Row]:
    """The measured figures of one scale (no targets: the comparisons follow)."""
    scale = f"{result.rides:,} rides"
    rows = []
    for label, load in (
        ("healthz (trivial)", result.trivial),
        *((KINDS[k], v) for k, v in result.kinds.items()),
    ):
        rows.append(Row(NAME, f"{label}, {scale}: req/s", load.rps, "/s"))
        rows.append(Row(NAME, f"{label}, {scale}: p50", load.p50_ms, "ms"))
        rows.append(Row(NAME, f"{label}, {scale}: p99", load.p99_ms, "ms"))
        rows.append(
            Row(
                NAME,
                f"{label}, {scale}: errors",
                load.errors,
                note="ran out of signed requests" if load.ran_out else "",
            )
        )
    return rows


def compare_rows(small: ScaleResult, large: ScaleResult) -> list[Row]:
    big, little = f"{large.rides:,}", f"{small.rides:,}"
    rows = []
    for kind, label in KINDS.items():
        at_large, at_small = large.kinds[kind], small.kinds[kind]
        rows += [
            Row(
                NAME,
                f"{label} req/s at {big} vs trivial",
                at_large.rps,
                "/s",
                large.trivial.rps,
                "healthz, same server",
                ">= 0.40",
                ratio_at_least(at_large.rps, large.trivial.rps, 0.40),
            ),
            Row(
                NAME,
                f"{label} p99 at {big}",
                at_large.p99_ms,
                "ms",
                large.trivial.p99_ms,
                "healthz p99",
                "< 25 ms",
                below(at_large.p99_ms, 25.0),
            ),
            Row(
                NAME,
                f"{label} req/s at {big} vs {little}",
                at_large.rps,
                "/s",
                at_small.rps,
                f"{little} rides",
                ">= 0.90",
                ratio_at_least(at_large.rps, at_small.rps, 0.90),
            ),
            Row(
                NAME,
                f"{label} p99 at {big} vs {little}",
                at_large.p99_ms,
                "ms",
                at_small.p99_ms,
                f"{little} rides",
                "<= 1.10",
                ratio_at_most(at_large.p99_ms, at_small.p99_ms, 1.10),
            ),
            Row(
                NAME,
                f"{label} errors at {big}",
                at_large.errors + small.kinds[kind].errors,
                "",
                None,
                "both scales",
                "0",
                at_large.errors + small.kinds[kind].errors == 0,
            ),
        ]
    return rows


def run() -> list[Row]:
    small = measure_scale(SMALL)
    large = measure_scale(LARGE)
    for result in (small, large):
        log(f"{scale_name(result.rides)} outcomes: {result.outcomes}")
    return finish(NAME, raw_rows(small) + raw_rows(large) + compare_rows(small, large))


if __name__ == "__main__":
    run()
