"""Where the CPU goes: seconds of CPU by part of the stack, read from /proc (Linux).

The parts: the web server (gunicorn and its workers), delivery (db_worker processes and
the outbox sweeper), the stub vendor, and PostgreSQL (the backends connected to the
benchmark's database). Divided by the requests of a run, these give the CPU cost of one
request, which, unlike latency, hardly depends on what else the machine is doing.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from . import db

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PROC = Path("/proc")


def process_times() -> dict[int, tuple[int, float]]:
    """pid -> (process group, CPU seconds used) of every process we may read."""
    times = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # After the command: state, ppid, pgrp, ... utime (11th), stime (12th).
        times[int(entry.name)] = (int(fields[2]), (int(fields[11]) + int(fields[12])) / TICKS)
    return times


def backend_pids(database: str) -> set[int]:
    conn = psycopg.connect(host=db.HOST, port=db.PORT, user=db.USER, dbname="postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


@dataclass
class Meter:
    """CPU seconds of one stack's parts; `groups` maps process-group leaders to parts."""

    database: str
    groups: dict[int, str] = field(default_factory=dict)

    def __call__(self) -> dict[str, float]:
        """CPU seconds so far by "part/pid" (a process that started since counts whole)."""
        totals: dict[str, float] = {}
        backends = backend_pids(self.database)
        for pid, (group, seconds) in process_times().items():
            if group in self.groups:
                totals[f"{self.groups[group]}/{pid}"] = seconds
            elif pid in backends:
                totals[f"postgres/{pid}"] = seconds
        return totals


def per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict:
    """Milliseconds of CPU per request, by part.

    Keys are "part" or "part/pid": each process counts what it used between the two
    readings (all of it if it started in between: PostgreSQL backends come and go
    with the web workers' connections); one that ended in between is not counted.
    """
    if not requests:
        return {}
    parts: dict[str, float] = defaultdict(float)
    for key, seconds in after.items():
        parts[key.split("/")[0]] += seconds - before.get(key, 0.0)
    return {part: round(total * 1000 / requests, 3) for part, total in sorted(parts.items())}
