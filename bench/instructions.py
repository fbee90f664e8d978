"""Instructions per webhook and per delivery, two revisions side by side.

    python -m bench.instructions REV [COUNT [REV2]]   (REV2, default the working tree,
                                                     against REV)

CPU seconds on a shared two-core machine move by a third from one run to the next,
more than most single changes are worth. Instructions do not: valgrind's callgrind
counts every one a process executes, and the same code on the same data gives the
same count (within a few tenths of a percent) whatever else the machine is doing.

Each revision runs in its own process for each kind, under callgrind, with the
production settings: on a fresh copy of the 1,000-ride history, COUNT (default 300)
requests to `/healthz` (the trivial endpoint the webhooks are compared with), COUNT
signed SMS webhooks, COUNT voice webhooks, and a delivery worker delivering COUNT queued
texts (the stub vendor in another process, not counted); on a fresh copy of the
1,000-conversation history, COUNT conversations START, JOIN and relayed texts (as
`bench.conversations` sends them). Counting is switched on only around the measured
loop, after a warm-up, so Django's start-up and the test data are not in the figure.
Through Django's test client (every middleware), not gunicorn: the server's share is
the same for both. Under callgrind the code runs many times slower; the whole
comparison takes about fifteen minutes.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from .ab import checkout
from .common import SMALL, finish, log
from .conversations import prepared as conversations_history
from .procs import running, stub_vendor
from .scenario import prepared_rides
from .server import production_env
from .table import Row

NAME = "instructions"
KINDS = {
    "healthz": "`/healthz` (trivial)",
    "sms": "SMS webhook",
    "voice": "voice webhook",
    "worker": "delivery",
    "START": "conversations START",
    "JOIN": "conversations JOIN",
    "relay": "conversations relay",
}
WARMUP = 50

# Run in the revision's own code (`python -c`, its directory first on the path), with
# the request helpers its bench has had since the worker kind of bench.profile.
_CHILD = """
import os, subprocess, sys
import django
django.setup()
from django.db import connection
from bench import profile
from bench.conversations import ACTIVE, PENDING, joins, relays, starts
from bench.queries import in_process_sender
kind, count, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def counting(on):
    subprocess.run(
        ["callgrind_control", "--instr=" + ("on" if on else "off"), str(os.getpid())],
        check=True, capture_output=True,
    )

def rows(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]

def replay(send, events, counted):
    events = list(events)
    if counted:
        counting(True)
    for event in events:
        send(event)
    if counted:
        counting(False)

if kind == "worker":
    run = profile._worker_runs(warmup + count)
    run(warmup)
    counting(True)
    run(count)
    counting(False)
elif kind == "healthz":
    send = profile._sender(kind)
    replay(send, [None] * warmup, False)
    replay(send, [None] * count, True)
elif kind in ("sms", "voice"):
    send, events = profile._sender(kind), profile._requests(kind, warmup + count)
    replay(send, events[:warmup], False)
    replay(send, events[warmup:], True)
else:
    # Conversations: STARTs give the codes to JOIN, JOINs the pairs that relay; each
    # phase after a warm-up of its own, the one of `kind` counted, none run after it.
    send = profile._sender("sms")
    replay(send, starts(warmup, first=4000), False)
    replay(send, starts(count, first=5000), kind == "START")
    if kind != "START":
        pending = rows(PENDING)
        replay(send, joins(pending[-count - warmup : -count], first=90000), False)
        replay(send, joins(pending[-count:], first=0), kind == "JOIN")
    if kind == "relay":
        active = rows(ACTIVE)
        replay(send, relays(active, warmup), False)
        replay(send, relays(active, count), True)
"""


def count_instructions(code: Path, python: str, kind: str, count: int, *, label: str) -> float:
    """Millions of instructions per item of `kind` in the code at `code`."""
    if kind in ("healthz", "sms", "voice", "worker"):
        database, _ = prepared_rides(SMALL, copy=f"instr_{label}")
    else:
        database = conversations_history(SMALL)
    with running() as procs, tempfile.TemporaryDirectory(prefix="callgrind-") as tmp:
        vendor = stub_vendor(procs)
        env = production_env(database=database, vendor_url=vendor)
        completed = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={tmp}/callgrind.out",
                python,
                "-c",
                _CHILD,
                kind,
                str(count),
                str(WARMUP),
            ],
            cwd=code,
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
    collected = re.findall(r"Collected : (\d+)", completed.stderr)
    if completed.returncode or not collected:
        raise RuntimeError(f"{label} {kind} under callgrind failed:\n{completed.stderr[-3000:]}")
    return int(collected[-1]) / count / 1e6


def run(before: str, count: int = 300, after: str | None = None) -> list[Row]:
    rows = []
    with contextlib.ExitStack() as stack:
        sides = {
            "before": stack.enter_context(checkout(before)),
            "after": stack.enter_context(checkout(after)),
        }
        for kind, what in KINDS.items():
            figures: dict[str, float | None] = {}
            failed = []
            for label, (code, python) in sides.items():
                log(f"{label}: {count} x {kind} under callgrind ...")
                try:
                    figures[label] = count_instructions(code, python, kind, count, label=label)
                except RuntimeError as err:
                    # An old revision may not read today's history (a column it lacks):
                    # that figure is left out, the others are still measured.
                    log(str(err))
                    figures[label] = None
                    failed.append(label)
            note = f"{count} after a warm-up of {WARMUP}, in-process"
            if failed:
                note += f"; {' and '.join(failed)} could not run on this history"
            rows.append(
                Row(
                    NAME,
                    f"{what}: M instructions each",
                    figures["after"],
                    "M",
                    figures["before"],
                    f"before ({before})",
                    note=note,
                )
            )
    return finish(NAME, rows)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    run(
        sys.argv[1],
        int(sys.argv[2]) if len(sys.argv) > 2 else 300,
        sys.argv[3] if len(sys.argv) > 3 else None,
    )
