"""All the benchmarks, one after the other, then one table: `python -m bench`.

BENCH_QUICK=1 runs them at small scale (a couple of minutes) to check they work;
BENCH_ONLY=webhooks,pool runs some of them.
"""

from __future__ import annotations

import os
import time

from . import conversations, machine, pool, ride_create, slow_vendor, webhooks
from .common import QUICK, log
from .procs import RESULTS
from .table import render

BENCHMARKS = {
    "webhooks": webhooks.run,
    "ride_create": ride_create.run,
    "slow_vendor": slow_vendor.run,
    "conversations": conversations.run,
    "pool": pool.run,
}


def main() -> None:
    only = [n for n in os.environ.get("BENCH_ONLY", "").split(",") if n]
    unknown = set(only) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"unknown benchmarks: {sorted(unknown)} (known: {sorted(BENCHMARKS)})")
    header = machine.describe() + ("; QUICK (small scale)" if QUICK else "")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "machine.txt").write_text(header + "\n")
    started = time.monotonic()
    rows = []
    for name, run in BENCHMARKS.items():
        if only and name not in only:
            continue
        log(f"--- {name} ---")
        rows += run()
    minutes = (time.monotonic() - started) / 60
    table = render(rows)
    text = f"{header}\nAll benchmarks took {minutes:.1f} min.\n\n{table}\n"
    (RESULTS / "table.md").write_text(text)
    print()
    print(text)


if __name__ == "__main__":
    main()
