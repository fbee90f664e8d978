"""Benchmark 4: a slow vendor. The stub vendor answers after 2 seconds; the signed SMS
webhooks (each relayed: an outbound SMS to deliver) should answer as fast as with an
instant vendor, since delivery happens in the `db_worker` processes.

Both runs on a fresh copy of the short history (the vendor, not the history, is what
differs), one after the other in the same run.

    python -m bench.slow_vendor            (BENCH_QUICK=1 for a short run)
"""

from __future__ import annotations

from .common import DURATION, SMALL, finish, log
from .loadgen import LoadResult
from .procs import stub_accepted
from .scenario import (
    measure_trivial,
    measure_webhooks,
    open_sessions,
    outcomes,
    prepared_rides,
    production,
)
from .table import Row, ratio_at_most

NAME = "slow_vendor"
SLOW = 2.0


def measure(delay: float) -> tuple[LoadResult, dict[str, int], int]:
    database, _ = prepared_rides(SMALL)
    sessions = open_sessions(database)
    with production(database, vendor_delay=delay) as (_, url, vendor):
        trivial = measure_trivial(url, duration=DURATION)
        result = measure_webhooks(
            url, sessions, kind="sms", duration=DURATION, expected_rps=trivial.rps
        )
        delivered = stub_accepted(vendor)
    counts = outcomes(database)
    log(
        f"vendor delay {delay:g}s: sms {result.rps:.0f}/s p99 {result.p99_ms:.1f} ms, "
        f"{result.errors} errors; delivered {delivered}; {counts}"
    )
    return result, counts, delivered


def run() -> list[Row]:
    instant, _, instant_sent = measure(0.0)
    slow, slow_counts, slow_sent = measure(SLOW)
    backlog = slow_counts.get("out:queued", 0) + slow_counts.get("out:sending", 0)
    rows = [
        Row(
            NAME,
            "SMS webhook p99, vendor answering in 2 s",
            slow.p99_ms,
            "ms",
            instant.p99_ms,
            "instant vendor",
            "<= 1.10",
            ratio_at_most(slow.p99_ms, instant.p99_ms, 1.10),
        ),
        Row(
            NAME,
            "SMS webhook p50, vendor answering in 2 s",
            slow.p50_ms,
            "ms",
            instant.p50_ms,
            "instant vendor",
        ),  # fmt: skip
        Row(
            NAME,
            "SMS webhook req/s, vendor answering in 2 s",
            slow.rps,
            "/s",
            instant.rps,
            "instant vendor",
        ),  # fmt: skip
        Row(
            NAME,
            "SMS webhook errors, vendor answering in 2 s",
            slow.errors,
            "",
            instant.errors,
            "instant vendor",
            "0",
            slow.errors == 0,
        ),  # fmt: skip
        Row(
            NAME,
            "SMS delivered during the runs, vendor answering in 2 s",
            slow_sent,
            "",
            instant_sent,
            "instant vendor",
            note=f"{backlog:,} still queued, delivered later",
        ),  # fmt: skip
    ]
    return finish(NAME, rows)


if __name__ == "__main__":
    run()
