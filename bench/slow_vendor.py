"""Benchmark 4: a slow vendor. The stub vendor answers after 2 seconds; the signed SMS
webhooks (each relayed: an outbound SMS to deliver) should answer as fast as with an
instant vendor, since delivery happens in the `db_worker` processes.

Two stacks at once, each on its own fresh copy of the short history (the vendor, not
the history, is what differs), one with an instant stub vendor and one with a slow
one; they take turns, round after round.

    python -m bench.slow_vendor            (BENCH_QUICK=1 for a short run)
"""

from __future__ import annotations

import contextlib

from .common import DURATION, ROUNDS, SMALL, finish, log
from .procs import stub_accepted
from .scenario import (
    Stack,
    cpu_row,
    interleaved,
    meter_for,
    open_sessions,
    outcomes,
    prepared_rides,
    production,
    spread,
    summarize,
)
from .table import Row, ratio_at_most

NAME = "slow_vendor"
SLOW = 2.0


def run() -> list[Row]:
    with contextlib.ExitStack() as exit_stack:
        stacks = []
        for label, delay in (("instant", 0.0), ("slow", SLOW)):
            database, _ = prepared_rides(SMALL, copy=label)
            procs, url, vendor = exit_stack.enter_context(production(database, vendor_delay=delay))
            sessions = open_sessions(database)
            stacks.append(Stack(label, url, database, vendor, sessions, meter_for(procs, database)))
        results = interleaved(stacks, ["healthz", "sms"], rounds=ROUNDS, duration=DURATION)
        delivered = {stack.label: stub_accepted(stack.vendor) for stack in stacks}
    counts = {stack.label: outcomes(stack.database) for stack in stacks}
    log(f"slow vendor: delivered {delivered}; outcomes {counts}")
    instant, slow = summarize(results[("instant", "sms")]), summarize(results[("slow", "sms")])
    backlog = counts["slow"].get("out:queued", 0) + counts["slow"].get("out:sending", 0)
    label = "vendor answering in 2 s"
    rows = [
        Row(
            NAME,
            f"SMS webhook p99, {label}",
            slow.p99_ms,
            "ms",
            instant.p99_ms,
            "instant vendor",
            "<= 1.10",
            ratio_at_most(slow.p99_ms, instant.p99_ms, 1.10),
        ),
        Row(NAME, f"SMS webhook p50, {label}", slow.p50_ms, "ms", instant.p50_ms, "instant vendor"),
        Row(
            NAME,
            f"SMS webhook req/s, {label}",
            slow.rps,
            "/s",
            instant.rps,
            "instant vendor",
            note=spread(results[("slow", "sms")]),
        ),
        cpu_row(NAME, f"SMS webhook CPU per request, {label}", slow, instant, "instant vendor"),
        Row(
            NAME,
            f"SMS webhook errors, {label}",
            slow.errors,
            "",
            instant.errors,
            "instant vendor",
            "0",
            slow.errors == 0,
        ),
        Row(
            NAME,
            f"SMS delivered by the end, {label}",
            delivered["slow"],
            "",
            delivered["instant"],
            "instant vendor",
            note=f"{backlog:,} still queued, delivered later",
        ),
    ]
    return finish(NAME, rows)


if __name__ == "__main__":
    run()
