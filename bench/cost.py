"""CPU per text, by process, in one process: the web code and its PostgreSQL backend.

    python -m bench.cost [COUNT]

On a fresh copy of the 1,000-ride history with the production settings: COUNT signed
SMS webhooks through Django's test client, then a delivery worker delivering the COUNT
texts they queued (the stub vendor in another process). Each side's CPU is its own
process's, and its database connection's backend's, read from /proc: no other process
is counted, so it is steadier than `bench.ab` on a busy machine, and quicker.
"""

from __future__ import annotations

import sys

from .common import child_main
from .cpu import PROC, TICKS

WARMUP = 50


def _backend_seconds() -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    stat = (PROC / str(pid) / "stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(count: str) -> dict:
    import time

    from django.db import connection

    from .profile import _requests, _sender, _worker_runs

    total = int(count)
    send = _sender("sms")
    events = _requests("sms", WARMUP + total)
    for event in events[:WARMUP]:
        send(event)
    cpu, pg = time.process_time(), _backend_seconds()
    for event in events[WARMUP:]:
        send(event)
    web = (time.process_time() - cpu) * 1000 / total
    web_pg = (_backend_seconds() - pg) * 1000 / total
    connection.close()
    run = _worker_runs(0)
    run(WARMUP)
    cpu, pg = time.process_time(), _backend_seconds()
    run(total)
    worker = (time.process_time() - cpu) * 1000 / total
    worker_pg = (_backend_seconds() - pg) * 1000 / total
    return {"web": web, "web_pg": web_pg, "worker": worker, "worker_pg": worker_pg}


def main() -> None:
    from .profile import in_child

    count = sys.argv[1] if len(sys.argv) > 1 else "2000"
    r = in_child("bench.cost", "cost", count)
    print(
        f"ms CPU per text: web {r['web']:.2f} + its PostgreSQL {r['web_pg']:.2f}; "
        f"delivery {r['worker']:.2f} + its PostgreSQL {r['worker_pg']:.2f}; "
        f"PostgreSQL {r['web_pg'] + r['worker_pg']:.2f}"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child_main({"child": measure})
    else:
        main()
