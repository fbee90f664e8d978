"""Results as one table: every figure beside its baseline from the same run."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    """One measured figure, its baseline (same run), and the target on their ratio."""

    bench: str
    figure: str
    value: float | None
    unit: str = ""
    baseline: float | None = None
    baseline_label: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline


def ratio_at_least(value: float | None, baseline: float | None, minimum: float) -> bool | None:
    if value is None or not baseline:
        return None
    return value / baseline >= minimum


def ratio_at_most(value: float | None, baseline: float | None, maximum: float) -> bool | None:
    if value is None or not baseline:
        return None
    return value / baseline <= maximum


def per_core(cpu_ms: float | None) -> float | None:
    """Requests a second that one core carries when each costs `cpu_ms` of its CPU."""
    return 1000.0 / cpu_ms if cpu_ms else None


def fmt_number(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value == int(value):
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _met(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: ""}[met]


def render(rows: Iterable[Row]) -> str:
    """A Markdown table (readable as plain text too)."""
    header = ("bench", "figure", "value", "baseline", "ratio", "target", "met")
    lines = [header]
    for row in rows:
        value = fmt_number(row.value) + (
            f" {row.unit}" if row.unit and row.value is not None else ""
        )
        if row.baseline is not None:
            baseline = f"{fmt_number(row.baseline)} ({row.baseline_label})"
        else:
            baseline = row.baseline_label
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
        figure = row.figure + (f" ({row.note})" if row.note else "")
        lines.append((row.bench, figure, value, baseline, ratio, row.target, _met(row.met)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def joined(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [joined(lines[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(joined(line) for line in lines[1:])
    return "\n".join(out)


def save(rows: list[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(row) for row in rows], indent=2) + "\n")


def load(path: Path) -> list[Row]:
    return [Row(**item) for item in json.loads(path.read_text())]


def print_rows(rows: list[Row], *, write: Callable[[str], object] = print) -> None:
    write(render(rows))
