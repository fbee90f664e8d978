"""The table of the latest saved results of every benchmark: `python -m bench.report`.

Each benchmark saves its rows (bench/results/<name>.json) when it finishes; this puts
the latest of each together, with when each was measured. `--readme` also writes it
into bench/README.md, between the table markers.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from .procs import RESULTS
from .table import Row, load, render

ORDER = ("webhooks", "ride_create", "slow_vendor", "conversations", "pool")
README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- table -->", "<!-- /table -->"


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
        when.append(f"{name} {stamp:%Y-%m-%d %H:%M} UTC")
    return rows, when


def text() -> str:
    rows, when = latest()
    machine = RESULTS / "machine.txt"
    lines = [machine.read_text().strip()] if machine.exists() else []
    lines += ["Measured: " + "; ".join(when) + ".", "", render(rows)]
    return "\n".join(lines)


def write_readme(body: str) -> None:
    readme = README.read_text()
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{body}\n{END}{tail}")


def main() -> None:
    body = text()
    print(body)
    if "--readme" in sys.argv[1:]:
        write_readme(body)


if __name__ == "__main__":
    main()
