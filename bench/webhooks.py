"""Benchmark 1: signed MessageBird SMS and voice webhooks for open rides, against the
production stack, at a short and at a long ride history, beside the trivial endpoint
(`/healthz`: the whole middleware stack and one `SELECT 1`) of the same server; and
signed Twilio webhooks for the short history on Twilio numbers, beside MessageBird's.

Both stacks (one per history) run at once, idle but for the one under load; they take
turns, round after round (see scenario.interleaved), 16 connections each run.

    python -m bench.webhooks            (BENCH_QUICK=1 for a small, short run)
"""

from __future__ import annotations

import contextlib

from .common import DURATION, LARGE, ROUNDS, SMALL, finish, log, run_django, scale_name
from .loadgen import LoadResult
from .scenario import (
    Stack,
    cpu_note,
    cpu_row,
    interleaved,
    meter_for,
    move_pool_to,
    open_sessions,
    outcomes,
    prepared_rides,
    production,
    spread,
    summarize,
)
from .table import Row, per_core, ratio_at_least, ratio_at_most

NAME = "webhooks"
KINDS = {"healthz": "healthz (trivial)", "sms": "SMS webhook", "voice": "voice webhook"}
REQUESTS = {"sms": "texts", "voice": "calls"}
TWILIO = "twilio"  # the stack of the short history on Twilio numbers


def measure(rounds: int = ROUNDS, duration: float = DURATION) -> dict[int | str, dict[str, list]]:
    with contextlib.ExitStack() as exit_stack:
        stacks = []
        for rides in (SMALL, LARGE):
            database, _ = prepared_rides(rides)
            procs, url, vendor = exit_stack.enter_context(production(database))
            sessions = open_sessions(database)
            meter = meter_for(procs, database)
            stacks.append(Stack(str(rides), url, database, vendor, sessions, meter))
        database, _ = prepared_rides(SMALL, copy=TWILIO)
        move_pool_to(database, TWILIO)
        procs, url, vendor = exit_stack.enter_context(production(database))
        meter = meter_for(procs, database)
        sessions = open_sessions(database)
        stacks.append(Stack(TWILIO, url, database, vendor, sessions, meter, signs_as=TWILIO))
        results = interleaved(stacks, list(KINDS), rounds=rounds, duration=duration)
    for stack in stacks:
        label = stack.label if stack.label == TWILIO else scale_name(int(stack.label))
        log(f"{label} outcomes: {outcomes(stack.database)}")
    return {
        key: {kind: results[(str(key), kind)] for kind in KINDS} for key in (SMALL, LARGE, TWILIO)
    }


def raw_rows(rides: int, runs: dict[str, list[LoadResult]], *, vendor: str = "") -> list[Row]:
    """The measured figures of one history (the comparisons follow)."""
    rows = []
    for kind, label in KINDS.items():
        load = summarize(runs[kind])
        figure = f"{vendor}{label}, {rides:,} rides"
        note = "; ".join(
            part
            for part in (
                spread(runs[kind]),
                "RAN OUT of signed requests" if load.ran_out else "",
                cpu_note(load),
            )
            if part
        )
        rows += [
            Row(NAME, f"{figure}: req/s", load.rps, "/s", note=note),
            Row(NAME, f"{figure}: p50", load.p50_ms, "ms"),
            Row(NAME, f"{figure}: p99", load.p99_ms, "ms"),
            Row(NAME, f"{figure}: errors", load.errors, target="0", met=load.errors == 0),
        ]
    return rows


def compare_rows(small: dict[str, list], large: dict[str, list]) -> list[Row]:
    """Each webhook beside `/healthz` of the same server (multiples, no target: the
    trivial endpoint itself depends on the machine), its PostgreSQL CPU (what every
    process shares, so what bounds a deployment), and the long history beside the short."""
    big, little = f"{LARGE:,}", f"{SMALL:,}"
    trivial = summarize(large["healthz"])
    rows = []
    for kind in ("sms", "voice"):
        label = KINDS[kind]
        at_large, at_small = summarize(large[kind]), summarize(small[kind])
        postgres_ms = at_large.cpu_ms.get("postgres")
        rows += [
            cpu_row(
                NAME, f"{label} CPU per request at {big} vs trivial", at_large, trivial, "healthz"
            ),  # fmt: skip
            Row(
                NAME,
                f"{label} req/s at {big} vs trivial",
                at_large.rps,
                "/s",
                trivial.rps,
                "healthz, same server",
            ),  # fmt: skip
            Row(
                NAME,
                f"{label} p99 at {big} vs trivial",
                at_large.p99_ms,
                "ms",
                trivial.p99_ms,
                "healthz p99, same server",
            ),  # fmt: skip
            Row(
                NAME,
                f"{label} PostgreSQL CPU per request at {big}",
                postgres_ms,
                "ms",
                note="its delivery included" if kind == "sms" else "",
            ),  # fmt: skip
            Row(
                NAME,
                f"{REQUESTS[kind]}/s one PostgreSQL core carries at that cost",
                per_core(postgres_ms),
                "/s",
            ),  # fmt: skip
            Row(
                NAME,
                f"{label} req/s at {big} vs {little}",
                at_large.rps,
                "/s",
                at_small.rps,
                f"{little} rides",
                ">= 0.90",
                ratio_at_least(at_large.rps, at_small.rps, 0.90),
            ),  # fmt: skip
            Row(
                NAME,
                f"{label} p50 at {big} vs {little}",
                at_large.p50_ms,
                "ms",
                at_small.p50_ms,
                f"{little} rides",
                "<= 1.10",
                ratio_at_most(at_large.p50_ms, at_small.p50_ms, 1.10),
            ),  # fmt: skip
            Row(
                NAME,
                f"{label} p99 at {big} vs {little}",
                at_large.p99_ms,
                "ms",
                at_small.p99_ms,
                f"{little} rides",
                "<= 1.10",
                ratio_at_most(at_large.p99_ms, at_small.p99_ms, 1.10),
            ),  # fmt: skip
        ]
    return rows


def cost_rows() -> list[Row]:
    """Statements and commits per request (scenario databases of the last run)."""
    counts = run_django("bench.queries", "count", database=f"bench_{scale_name(LARGE)}")
    return [
        Row(
            NAME,
            f"{KINDS[kind]}: SQL statements per request",
            counts[kind]["statements"],
            note=f"{counts[kind]['commits']:g} commits",
        )  # fmt: skip
        for kind in KINDS
    ]


def twilio_rows(messagebird: dict[str, list], twilio: dict[str, list]) -> list[Row]:
    """Twilio's webhooks beside MessageBird's, the same rides on the same kind of stack."""
    rows = raw_rows(SMALL, twilio, vendor="Twilio ")
    for kind in ("sms", "voice"):
        label, tw, mb = KINDS[kind], summarize(twilio[kind]), summarize(messagebird[kind])
        base = f"MessageBird {label}"
        rows += [
            Row(NAME, f"Twilio {label} req/s vs MessageBird", tw.rps, "/s", mb.rps, base),
            Row(NAME, f"Twilio {label} p99 vs MessageBird", tw.p99_ms, "ms", mb.p99_ms, base),
        ]
    return rows


def run() -> list[Row]:
    results = measure()
    small, large = results[SMALL], results[LARGE]
    rows = raw_rows(SMALL, small) + raw_rows(LARGE, large) + compare_rows(small, large)
    return finish(NAME, rows + twilio_rows(small, results[TWILIO]) + cost_rows())


if __name__ == "__main__":
    run()
