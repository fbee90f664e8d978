"""The table of the latest saved results of every benchmark: `python -m bench.report`.

Each benchmark saves its rows (bench/results/<name>.json) when it finishes; this puts
the latest of each together, with when each was measured.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .procs import RESULTS
from .table import Row, load, render

ORDER = ("webhooks", "ride_create", "slow_vendor", "conversations", "pool")


def latest() -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    when: list[str] = []
    for name in ORDER:
        path = RESULTS / f"{name}.json"
        if not path.exists():
            when.append(f"{name}: not run")
            continue
        rows += load(path)
        stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        when.append(f"{name}: {stamp:%Y-%m-%d %H:%M} UTC")
    return rows, when


def main() -> None:
    rows, when = latest()
    print("Measured: " + "; ".join(when))
    print()
    print(render(rows))


if __name__ == "__main__":
    main()
