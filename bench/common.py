"""Shared by the benchmarks: quick mode, scales, and Django work in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from .procs import PYTHON, RESULTS, ROOT
from .server import production_env
from .table import Row, print_rows, save

QUICK = os.environ.get("BENCH_QUICK", "") == "1"

# History sizes: the small one is the baseline of the large one.
SMALL = 1_000
LARGE = 20_000 if QUICK else 1_000_000
DURATION = 4.0 if QUICK else 10.0  # seconds of load per measured run
WARMUP = 1.0 if QUICK else 2.0
ROUNDS = 1 if QUICK else 3  # interleaved rounds (see scenario.interleaved)
CONNECTIONS = 16


def scale_name(rides: int) -> str:
    return f"{rides // 1000}k" if rides < 1_000_000 else f"{rides // 1_000_000}m"


def run_django(
    module: str,
    *args: str,
    database: str,
    timeout: float = 1800,
    vendor_url: str = "http://127.0.0.1:9",
) -> dict:
    """Run `python -m module args` with Django set up on `database`; returns its JSON.

    The child runs with the production settings (DEBUG off: no query log), the
    database task backend, and by default a vendor URL nobody calls (no worker runs).
    """
    env = production_env(database=database, vendor_url=vendor_url)
    completed = subprocess.run(
        [PYTHON, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{module} {' '.join(args)} failed:\n{completed.stdout[-3000:]}"
            f"\n{completed.stderr[-3000:]}"
        )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def child_main(commands: dict[str, Callable[..., dict]]) -> None:
    """Entry point of a child: `python -m bench.x COMMAND [ARGS]` prints one JSON line."""
    import django

    django.setup()
    command, *args = sys.argv[1:]
    print(json.dumps(commands[command](*args)))


def finish(name: str, rows: list[Row]) -> list[Row]:
    """Print a benchmark's rows and keep them for `python -m bench` to gather."""
    save(rows, RESULTS / f"{name}.json")
    print_rows(rows)
    return rows


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def results_path(name: str) -> Path:
    return RESULTS / f"{name}.json"
