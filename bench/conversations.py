"""Benchmark 5: the conversations protocol through signed SMS webhooks, with 100,000
past conversations (and, as the baseline, 1,000), on the production stack.

Three runs in a row on one server: newcomers text START (each gets a code), other
newcomers text JOIN <code> with those codes, then both parties of the conversations
so joined text each other (relay). Beside them, the trivial endpoint of that server.

    python -m bench.conversations            (BENCH_QUICK=1 for a small, short run)
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

import psycopg

from . import db
from .common import CONNECTIONS, DURATION, QUICK, WARMUP, finish, log, run_django, scale_name
from .data import CONVERSATION_NUMBERS, CONVERSATIONS_LOADER, conversation_number, person_phone
from .loadgen import LoadResult, Sms, replay
from .scenario import Stack, cpu_note, meter_for, outcomes, production
from .scenario import measure as measure_stack
from .table import Row, ratio_at_least, ratio_at_most

NAME = "conversations"
SMALL = 1_000
LARGE = 5_000 if QUICK else 100_000
NEWCOMERS = 1_000_000  # phones from here up have no history
_tags = itertools.count()


def prepared(total: int) -> str:
    template = f"bench_tpl_conv_{scale_name(total)}"
    db.ensure_template(
        template,
        meta={"conversations": total, "loader": CONVERSATIONS_LOADER},
        load=lambda name: run_django(
            "bench.data", "conversations", str(total), database=name, timeout=3600
        ),
    )
    name = f"bench_conv_{scale_name(total)}"
    db.fresh_copy(template, name)
    return name


def _query(database: str, sql: str) -> list[tuple]:
    conn = psycopg.connect(host=db.HOST, port=db.PORT, user=db.USER, dbname=database)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def starts(count: int, *, first: int) -> Iterator[Sms]:
    tag = next(_tags)
    for i in range(count):
        yield Sms(
            originator=person_phone(NEWCOMERS + first + i),
            recipient=conversation_number(i % CONVERSATION_NUMBERS),
            text="START",
            vendor_id=f"start{tag}-{i}",
        )


def joins(pending: list[tuple[str, str]], *, first: int) -> Iterator[Sms]:
    tag = next(_tags)
    for i, (number, code) in enumerate(pending):
        yield Sms(
            originator=person_phone(2 * NEWCOMERS + first + i),
            recipient=number,
            text=f"JOIN {code}",
            vendor_id=f"join{tag}-{i}",
        )


def relays(active: list[tuple[str, str, str]], count: int) -> Iterator[Sms]:
    tag = next(_tags)
    for i in range(count):
        number, starter, joiner = active[i % len(active)]
        sender = starter if (i // len(active)) % 2 == 0 else joiner
        yield Sms(originator=sender, recipient=number, text="see you at 8", vendor_id=f"r{tag}-{i}")


PENDING = """
    SELECT p.number, c.code FROM conversations_conversation c
    JOIN providers_proxynumber p ON p.id = c.proxy_id
    WHERE c.state = 'pending' ORDER BY c.id
"""
ACTIVE = """
    SELECT p.number, s.phone, j.phone FROM conversations_conversation c
    JOIN providers_proxynumber p ON p.id = c.proxy_id
    JOIN conversations_participant s ON s.conversation_id = c.id AND s.role = 'starter'
    JOIN conversations_participant j ON j.conversation_id = c.id AND j.role = 'joiner'
    WHERE c.state = 'active' ORDER BY c.id
"""


def _phase(stack: Stack, events: Iterator[Sms], *, duration: float, meter: bool = True):
    return replay(
        stack.url,
        events,
        duration=duration,
        connections=CONNECTIONS,
        meter=stack.meter if meter else None,
    )


def measure() -> dict[int, dict[str, LoadResult]]:
    """Both histories' stacks at once; each phase runs on one, then on the other."""
    results: dict[int, dict[str, LoadResult]] = {SMALL: {}, LARGE: {}}
    with contextlib.ExitStack() as exit_stack:
        stacks: dict[int, Stack] = {}
        for total in (SMALL, LARGE):
            database = prepared(total)
            procs, url, vendor = exit_stack.enter_context(production(database))
            meter = meter_for(procs, database)
            stacks[total] = Stack(scale_name(total), url, database, vendor, [], meter)
        for total, stack in stacks.items():
            results[total]["healthz"] = measure_stack(
                stack, "healthz", duration=DURATION, expected_rps=0
            )
            # Warm-up: the first START of each worker pays for its imports.
            _phase(stack, starts(200, first=0), duration=WARMUP, meter=False)
        order = [SMALL, LARGE]
        for phase in ("START", "JOIN", "relay"):
            for total in order:
                stack, database = stacks[total], stacks[total].database
                budget = int(results[total]["healthz"].rps * DURATION * 1.3) + 1000
                if phase == "START":
                    # Longer, so that there are enough codes for the JOIN run after it.
                    events = starts(budget, first=1000)
                    duration = DURATION * 1.5
                elif phase == "JOIN":
                    events = joins([tuple(row) for row in _query(database, PENDING)], first=0)
                    duration = DURATION
                else:
                    events = relays([tuple(row) for row in _query(database, ACTIVE)], budget)
                    duration = DURATION
                results[total][phase] = result = _phase(stack, events, duration=duration)
                log(
                    f"conversations {scale_name(total)}: {phase} {result.rps:.0f}/s "
                    f"p99 {result.p99_ms:.1f} ms, {result.errors} errors"
                    + (" (ran out of requests)" if result.ran_out else "")
                )
            order.reverse()
    for total, stack in stacks.items():
        log(f"conversations {scale_name(total)} outcomes: {outcomes(stack.database)}")
    return results


def run() -> list[Row]:
    results = measure()
    small, large = results[SMALL], results[LARGE]
    big, little = f"{LARGE:,}", f"{SMALL:,}"
    rows = []
    for total in (SMALL, LARGE):
        for kind in ("healthz", "START", "JOIN", "relay"):
            load = results[total][kind]
            figure = f"{kind}, {total:,} past conversations"
            note = "RAN OUT of signed requests; " if load.ran_out else ""
            rows += [
                Row(NAME, f"{figure}: req/s", load.rps, "/s", note=note + cpu_note(load)),
                Row(
                    NAME,
                    f"{figure}: p50 / p99",
                    load.p50_ms,
                    "ms",
                    note=f"p99 {load.p99_ms:.1f} ms",
                ),
            ]
    for kind in ("START", "JOIN", "relay"):
        at_large, at_small = large[kind], small[kind]
        rows += [
            Row(
                NAME,
                f"{kind} req/s at {big} past conversations vs trivial",
                at_large.rps,
                "/s",
                large["healthz"].rps,
                "healthz, same server",
            ),  # fmt: skip
            Row(
                NAME,
                f"{kind} req/s at {big} vs {little}",
                at_large.rps,
                "/s",
                at_small.rps,
                f"{little} past",
                ">= 0.90",
                ratio_at_least(at_large.rps, at_small.rps, 0.90),
            ),  # fmt: skip
            Row(
                NAME,
                f"{kind} p99 at {big} vs {little}",
                at_large.p99_ms,
                "ms",
                at_small.p99_ms,
                f"{little} past",
                "<= 1.10",
                ratio_at_most(at_large.p99_ms, at_small.p99_ms, 1.10),
            ),  # fmt: skip
            Row(
                NAME,
                f"{kind} errors, both scales",
                at_large.errors + at_small.errors,
                target="0",
                met=at_large.errors + at_small.errors == 0,
            ),  # fmt: skip
        ]
    return finish(NAME, rows)


if __name__ == "__main__":
    run()
