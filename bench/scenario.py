"""A loaded history, copied fresh, served by the production stack: what each benchmark
of the webhooks measures against."""

from __future__ import annotations

import contextlib
import itertools
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from . import db
from .common import CONNECTIONS, WARMUP, log, run_django, scale_name
from .cpu import Meter
from .data import RIDES_LOADER
from .loadgen import Call, LoadResult, Sms, replay, run_wrk
from .procs import PYTHON, ROOT, Procs, running, stub_vendor
from .server import start_server
from .table import Row


@dataclass(frozen=True)
class Session:
    customer: str
    driver: str
    proxy: str


def prepared_rides(rides: int, *, copy: str = "") -> tuple[str, dict]:
    """A fresh copy of the `rides`-ride history; returns its name and what was loaded."""
    template = f"bench_tpl_{scale_name(rides)}"
    meta = db.ensure_template(
        template,
        meta={"rides": rides, "loader": RIDES_LOADER},
        load=lambda name: _load(name, rides),
    )
    name = f"bench_{scale_name(rides)}" + (f"_{copy}" if copy else "")
    db.fresh_copy(template, name)
    return name, meta


def _load(name: str, rides: int) -> dict:
    log(f"loading {rides:,} rides into {name} (once; kept as a template) ...")
    return run_django("bench.data", "rides", str(rides), database=name, timeout=3600)


def open_sessions(database: str) -> list[Session]:
    data = run_django("bench.data", "open-rides", database=database)
    return [Session(*row) for row in data["sessions"]]


def _turns(sessions: list[Session], count: int) -> Iterator[tuple[int, str, str]]:
    """(index, sender, proxy): each open ride in turn, customer and driver alternating."""
    for i in range(count):
        session = sessions[i % len(sessions)]
        customer_turn = (i // len(sessions)) % 2 == 0
        yield i, session.customer if customer_turn else session.driver, session.proxy


def sms_events(sessions: list[Session], count: int, *, tag: str) -> Iterator[Sms]:
    # Each text different, as people's are: the same text again is held by the loop limit.
    for i, sender, proxy in _turns(sessions, count):
        text = f"I'm at the corner by the pharmacy ({tag} {i})"
        yield Sms(originator=sender, recipient=proxy, text=text, vendor_id=f"{tag}-{i}")


def call_events(sessions: list[Session], count: int, *, tag: str) -> Iterator[Call]:
    for i, sender, proxy in _turns(sessions, count):
        yield Call(source=sender, destination=proxy, call_id=f"{tag}-{i}")


@contextlib.contextmanager
def production(
    database: str, *, vendor_delay: float = 0.0, code: Path = ROOT, python: str = PYTHON
) -> Iterator[tuple[Procs, str, str]]:
    """The stub vendor and the production stack on `database`; yields (procs, url, vendor)."""
    with running() as procs:
        vendor = stub_vendor(procs, delay=vendor_delay)
        url = start_server(procs, database=database, vendor_url=vendor, code=code, python=python)
        yield procs, url, vendor


@dataclass(frozen=True)
class Stack:
    """One production stack under test: its label, URL, database and open rides."""

    label: str
    url: str
    database: str
    vendor: str
    sessions: list[Session]
    meter: Meter | None = None
    signs_as: str = "messagebird"  # whose webhooks the load replays (see loadgen.LINES)


PARTS = {"gunicorn": "web", "db_worker": "delivery", "outbox_sweep": "delivery"}


def meter_for(procs: Procs, database: str) -> Meter:
    """A CPU meter of the stack `procs` started, and of its database's backends."""
    groups = {
        proc.pid: next(
            (part for prefix, part in PARTS.items() if name.startswith(prefix)), "vendor"
        )
        for name, proc in procs.started
    }
    return Meter(database, groups)


_runs = itertools.count()


def measure(stack: Stack, kind: str, *, duration: float, expected_rps: float) -> LoadResult:
    """Warm up, then load `stack` with `kind` ("healthz", "sms" or "voice") for `duration`.

    For webhooks, enough requests are signed for `expected_rps` with a margin; a run
    that uses them all up says so in its result, it is never padded with replays.
    """
    if kind == "healthz":
        run_wrk(f"{stack.url}/healthz", prefix=None, duration=WARMUP, connections=CONNECTIONS)
        return run_wrk(
            f"{stack.url}/healthz",
            prefix=None,
            duration=duration,
            connections=CONNECTIONS,
            meter=stack.meter,
        )
    events = sms_events if kind == "sms" else call_events
    run = next(_runs)
    replay(
        stack.url,
        events(stack.sessions, int(expected_rps * WARMUP * 1.5) + 200, tag=f"warm{run}"),
        duration=WARMUP,
        connections=CONNECTIONS,
        vendor=stack.signs_as,
    )
    count = int(expected_rps * duration * 1.3) + 1000
    result = replay(
        stack.url,
        events(stack.sessions, count, tag=f"run{run}"),
        duration=duration,
        connections=CONNECTIONS,
        meter=stack.meter,
        vendor=stack.signs_as,
    )
    if result.ran_out:
        log(f"warning: {kind} run on {stack.label} used up its {count} signed requests")
    return result


def interleaved(
    stacks: list[Stack], kinds: list[str], *, rounds: int, duration: float
) -> dict[tuple[str, str], list[LoadResult]]:
    """Every (stack, kind) once per round, the stacks' order alternating between rounds.

    On a machine shared with other work the load drifts; taking turns spreads that
    drift over every stack instead of charging it to whichever ran last.
    """
    results: dict[tuple[str, str], list[LoadResult]] = {}
    expected: dict[str, float] = {}
    for round_ in range(rounds):
        order = stacks if round_ % 2 == 0 else list(reversed(stacks))
        for stack in order:
            for kind in kinds:
                result = measure(
                    stack, kind, duration=duration, expected_rps=expected.get(stack.label, 2000)
                )
                if kind == "healthz":
                    expected[stack.label] = max(result.rps, 50.0)
                results.setdefault((stack.label, kind), []).append(result)
                log(
                    f"round {round_ + 1}/{rounds} {stack.label} {kind}: {result.rps:.0f}/s "
                    f"p50 {result.p50_ms:.1f} ms p99 {result.p99_ms:.1f} ms, "
                    f"{result.errors} errors"
                )
    return results


def summarize(results: list[LoadResult]) -> LoadResult:
    """Rounds as one figure: rate over all rounds, the median round's latencies."""
    requests = sum(r.requests for r in results)
    parts = {part for r in results for part in r.cpu_ms}
    cpu_ms = {
        part: sum(r.cpu_ms.get(part, 0.0) * r.requests for r in results) / requests
        for part in sorted(parts)
    }
    return LoadResult(
        requests=requests,
        seconds=sum(r.seconds for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        errors=sum(r.errors for r in results),
        ran_out=any(r.ran_out for r in results),
        cpu_ms=cpu_ms if requests else {},
    )


def cpu_row(bench: str, figure: str, load: LoadResult, base: LoadResult, label: str) -> Row:
    """CPU per request of `load` beside that of `base`, the parts in the note."""
    return Row(
        bench,
        figure,
        sum(load.cpu_ms.values()),
        "ms",
        sum(base.cpu_ms.values()),
        label,
        note=cpu_note(load),
    )


def cpu_note(load: LoadResult) -> str:
    """CPU per request by part, e.g. "CPU/request ms: web 2.1, postgres 0.9"."""
    if not load.cpu_ms:
        return ""
    parts = ", ".join(f"{part} {ms:.2f}" for part, ms in load.cpu_ms.items())
    return f"CPU ms/request: {parts}; total {sum(load.cpu_ms.values()):.2f}"


def spread(results: list[LoadResult]) -> str:
    """How much the rounds differed, for the notes: req/s and p99, min to max."""
    if len(results) < 2:
        return ""
    rates = [r.rps for r in results]
    p99s = [r.p99_ms for r in results]
    return f"rounds: {min(rates):.0f}-{max(rates):.0f}/s, p99 {min(p99s):.1f}-{max(p99s):.1f} ms"


def move_pool_to(database: str, provider: str) -> None:
    """Put every number of a copied history on `provider` (the same rides, another vendor)."""
    conn = psycopg.connect(
        host=db.HOST, port=db.PORT, user=db.USER, dbname=database, connect_timeout=5
    )
    try:
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE providers_proxynumber SET provider = %s", [provider])
    finally:
        conn.close()


def outcomes(database: str) -> dict[str, int]:
    """What the inbound messages and calls of the runs did, by outcome (a sanity check)."""
    conn = psycopg.connect(
        host=db.HOST, port=db.PORT, user=db.USER, dbname=database, connect_timeout=5
    )
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT kind || ':' || outcome, count(*) FROM providers_message "
                "WHERE direction = 'in' AND vendor_id NOT LIKE 'hist-%%' GROUP BY 1"
            )
            counts = dict(cur.fetchall())
            cur.execute(
                "SELECT status, count(*) FROM providers_message WHERE direction = 'out' "
                "AND vendor_id NOT LIKE 'mb-%%' GROUP BY 1"
            )
            counts.update({f"out:{k}": v for k, v in cur.fetchall()})
            return counts
    finally:
        conn.close()
