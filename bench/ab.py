"""Before and after a change: the webhooks of two revisions, side by side in one run.

    python -m bench.ab REV [REV2]      (REV2 defaults to the working tree)

REV is checked out into a temporary directory; each revision serves its own fresh copy
of the long history with the production stack; both run at once and take turns, round
after round, so the machine's drift is charged to neither. Prints req/s, p50, p99 of
`/healthz`, the SMS and the voice webhook of each, and after/before.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .common import DURATION, LARGE, ROUNDS, finish, log, scale_name
from .procs import PYTHON, ROOT
from .scenario import (
    Stack,
    cpu_note,
    interleaved,
    meter_for,
    open_sessions,
    prepared_rides,
    production,
    summarize,
)
from .table import Row

NAME = "ab"
KINDS = ["healthz", "sms", "voice"]


def _interpreter(code: Path, tmp: Path) -> str:
    """The Python to run `code` with: this one, unless `code` pins other packages, in
    which case a new environment with exactly those (a change of database driver, say,
    is measured with each side's own driver)."""
    wanted = (code / "requirements.txt").read_text()
    if wanted == (ROOT / "requirements.txt").read_text():
        return PYTHON
    venv = tmp / "venv"
    log(f"{code.name}: its own packages (requirements.txt differs) ...")
    subprocess.run([PYTHON, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "-r", str(code / "requirements.txt")],
        check=True,
        timeout=1800,
    )
    return python


@contextlib.contextmanager
def checkout(rev: str | None) -> Iterator[tuple[Path, str]]:
    """The code of `rev` in a temporary worktree, or the working tree itself for None,
    and the Python to run it with."""
    if rev is None:
        yield ROOT, PYTHON
        return
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp:
        path = Path(tmp) / "code"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(path), rev],
            cwd=ROOT,
            check=True,
            timeout=120,
        )
        try:
            yield path, _interpreter(path, Path(tmp))
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(path)],
                cwd=ROOT,
                check=False,
                timeout=120,
            )


def run(before: str, after: str | None = None) -> list[Row]:
    rides = int(os.environ.get("BENCH_AB_RIDES", LARGE))
    labels = {"before": before, "after": after or "working tree"}
    with contextlib.ExitStack() as exit_stack:
        stacks = []
        for label, rev in (("before", before), ("after", after)):
            code, python = exit_stack.enter_context(checkout(rev))
            database, _ = prepared_rides(rides, copy=label)
            procs, url, vendor = exit_stack.enter_context(
                production(database, code=code, python=python)
            )
            sessions = open_sessions(database)
            stacks.append(Stack(label, url, database, vendor, sessions, meter_for(procs, database)))
        results = interleaved(stacks, KINDS, rounds=ROUNDS, duration=DURATION)
    rows = []
    for kind in KINDS:
        old, new = summarize(results[("before", kind)]), summarize(results[("after", kind)])
        figure = f"{kind} at {scale_name(rides)} rides"
        base = f"before ({labels['before']})"
        rows += [
            Row(NAME, f"{figure}: req/s", new.rps, "/s", old.rps, base),
            Row(NAME, f"{figure}: p50", new.p50_ms, "ms", old.p50_ms, base),
            Row(NAME, f"{figure}: p99", new.p99_ms, "ms", old.p99_ms, base),
            Row(NAME, f"{figure}: errors", new.errors, "", old.errors, base),
            Row(
                NAME,
                f"{figure}: CPU ms per request",
                sum(new.cpu_ms.values()),
                "ms",
                sum(old.cpu_ms.values()),
                base,
                note=f"after {cpu_note(new)}; before {cpu_note(old)}",
            ),  # fmt: skip
        ]
    return finish(NAME, rows)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    run(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
