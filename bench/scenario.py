"""A loaded history, copied fresh, served by the production stack: what each benchmark
of the webhooks measures against."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from . import db
from .common import CONNECTIONS, WARMUP, log, run_django, scale_name
from .loadgen import Call, LoadResult, Sms, replay, run_wrk
from .procs import Procs, running, stub_vendor
from .server import start_server

HERE = Path(__file__).resolve().parent
LOADER_FILES = [HERE / "data.py"]


@dataclass(frozen=True)
class Session:
    customer: str
    driver: str
    proxy: str


def prepared_rides(rides: int) -> tuple[str, dict]:
    """A fresh copy of the `rides`-ride history; returns its name and what was loaded."""
    template = f"bench_tpl_{scale_name(rides)}"
    meta = db.ensure_template(
        template,
        meta={"rides": rides},
        load=lambda name: _load(name, rides),
        loader_files=LOADER_FILES,
    )
    name = f"bench_{scale_name(rides)}"
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
    text = "I'm at the corner by the pharmacy"
    for i, sender, proxy in _turns(sessions, count):
        yield Sms(originator=sender, recipient=proxy, text=text, vendor_id=f"{tag}-{i}")


def call_events(sessions: list[Session], count: int, *, tag: str) -> Iterator[Call]:
    for i, sender, proxy in _turns(sessions, count):
        yield Call(source=sender, destination=proxy, call_id=f"{tag}-{i}")


@contextlib.contextmanager
def production(database: str, *, vendor_delay: float = 0.0) -> Iterator[tuple[Procs, str, str]]:
    """The stub vendor and the production stack on `database`; yields (procs, url, vendor)."""
    with running() as procs:
        vendor = stub_vendor(procs, delay=vendor_delay)
        url = start_server(procs, database=database, vendor_url=vendor)
        yield procs, url, vendor


def measure_trivial(url: str, *, duration: float) -> LoadResult:
    run_wrk(f"{url}/healthz", prefix=None, duration=WARMUP, connections=CONNECTIONS)
    return run_wrk(f"{url}/healthz", prefix=None, duration=duration, connections=CONNECTIONS)


_runs = itertools.count()


def measure_webhooks(
    url: str,
    sessions: list[Session],
    *,
    kind: str,
    duration: float,
    expected_rps: float,
) -> LoadResult:
    """Warm up, then replay signed `kind` ("sms" or "voice") webhooks for `duration`.

    Enough requests are signed for `expected_rps` (the trivial endpoint's rate) with a
    margin; a run that uses them all up is reported as such, never padded with replays.
    """
    events = sms_events if kind == "sms" else call_events
    run = next(_runs)
    replay(
        url,
        events(sessions, int(expected_rps * WARMUP * 1.5) + 200, tag=f"warm{run}"),
        duration=WARMUP,
        connections=CONNECTIONS,
    )
    count = int(expected_rps * duration * 1.3) + 1000
    result = replay(
        url,
        events(sessions, count, tag=f"run{run}"),
        duration=duration,
        connections=CONNECTIONS,
    )
    if result.ran_out:
        log(f"warning: {kind} run used up its {count} signed requests")
    return result


def outcomes(database: str) -> dict[str, int]:
    """What the inbound messages and calls of the runs did, by outcome (a sanity check)."""
    conn = psycopg2.connect(
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
