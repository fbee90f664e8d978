"""What the benchmarks ran on, printed above the table."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from . import db


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def postgres_version() -> str:
    conn = psycopg.connect(host=db.HOST, port=db.PORT, user=db.USER, dbname="postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            return cur.fetchone()[0]
    finally:
        conn.close()


def describe() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores ({cpu_model()}), "
        f"{memory_gib():.0f} GiB; PostgreSQL {postgres_version()}; Python "
        f"{platform.python_version()}; load average at start {load}"
    )
