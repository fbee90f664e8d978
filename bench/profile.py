"""Where one webhook's CPU goes: cProfile over signed requests through the whole stack.

    python -m bench.profile [sms|voice|healthz|deliver] [COUNT]

Runs on a fresh copy of the 1,000-ride history with the production settings (DEBUG
off, the database task backend), in one process, through Django's test client (every
middleware), after a warm-up; prints the functions with the most own and cumulative
time (`PROFILE_CPU=1`: CPU time instead of wall time, so waiting on the database is
left out; `PROFILE_DUMP=FILE`: the statistics saved for `pstats`). `deliver`
profiles the delivery of the SMS the webhooks queued (vendor: a stub in a thread).
Complements the wall-clock figures of `bench.webhooks`: it shows what a change
removes even on a busy machine.
"""

from __future__ import annotations

import os
import sys
import time

from .common import SMALL, child_main, log, run_django

KINDS = ("sms", "voice", "healthz", "deliver", "worker")
WARMUP = 50


def _requests(kind: str, count: int) -> list:
    from .data import open_rides
    from .scenario import Session, call_events, sms_events

    sessions = [Session(*row) for row in open_rides()["sessions"]]
    tag = f"profile{time.time_ns()}"
    if kind == "voice":
        return list(call_events(sessions, count, tag=tag))
    return list(sms_events(sessions, count, tag=tag))


def _sender(kind: str):
    from .queries import in_process_sender

    send = in_process_sender()

    def checked(event) -> None:
        status = send(event)
        if status != 200:
            raise RuntimeError(f"{kind}: HTTP {status}")

    return checked


def _deliveries(count: int):
    """Queue `count` relays, then return a function that delivers one queued message."""
    from providers.models import Direction, Message, Status
    from providers.outbox import message_deliver

    send = _sender("sms")
    for event in _requests("sms", count):
        send(event)
    queued = list(
        Message.objects.filter(direction=Direction.OUTBOUND, status=Status.QUEUED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return lambda message_id: message_deliver(message_id=message_id), queued


def _worker_runs(count: int):
    """Queue `count` relays (each with its task row), then run `delivery_worker` on them."""
    from django.db import connection

    from providers.worker import ResilientWorker

    send = _sender("sms")
    for event in _requests("sms", count):
        send(event)
    if connection.vendor == "postgresql":
        # Statistics as autovacuum keeps them (see providers' queue-table migration).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE django_tasks_database_dbtaskresult")

    def run(batch_size: int) -> None:
        ResilientWorker(
            queue_names=["default"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=batch_size,
            worker_id="profile",
            excluded_queue_names=[],
        ).run()

    return run


def profile(kind: str, count: str) -> dict:
    import cProfile

    total = int(count)
    needed = WARMUP + 2 * total  # a warm-up, a plain pass, a profiled pass
    if kind == "worker":
        # The whole loop of a delivery worker: claim the task, deliver, record the result.
        run = _worker_runs(needed)
        passes = [lambda: run(WARMUP), lambda: run(total), lambda: run(total)]
    else:
        if kind == "deliver":
            work, items = _deliveries(needed)
        elif kind == "healthz":
            work, items = _sender(kind), [None] * needed
        else:
            work, items = _sender(kind), _requests(kind, needed)
        cuts = [(0, WARMUP), (WARMUP, WARMUP + total), (WARMUP + total, needed)]
        passes = [
            lambda start=start, end=end: [work(item) for item in items[start:end]]
            for start, end in cuts
        ]
    warm_up, plain, profiled = passes
    warm_up()
    started = time.process_time()
    plain()
    cpu_ms = (time.process_time() - started) * 1000 / total
    # CPU time rather than wall time: what the process spends, not what it waits for.
    cpu = os.environ.get("PROFILE_CPU")
    profiler = cProfile.Profile(time.process_time) if cpu else cProfile.Profile()
    profiler.enable()
    profiled()
    profiler.disable()
    if os.environ.get("PROFILE_DUMP"):
        profiler.dump_stats(os.environ["PROFILE_DUMP"])
    return _report(kind, total, cpu_ms, profiler)


def _report(kind: str, total: int, cpu_ms: float, profiler) -> dict:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(45)
    return {"kind": kind, "requests": total, "cpu_ms_per_request": cpu_ms, "report": out.getvalue()}


def in_child(module: str, copy: str, *args: str) -> dict:
    """`python -m module child args` on a fresh copy of the 1,000-ride history, the stub
    vendor in a process of its own; returns the child's JSON."""
    from .procs import running, stub_vendor
    from .scenario import prepared_rides

    database, _ = prepared_rides(SMALL, copy=copy)
    log(f"{module} {' '.join(args)} on {database} ...")
    with running() as procs:
        vendor = stub_vendor(procs)
        return run_django(module, "child", *args, database=database, vendor_url=vendor)


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "sms"
    count = sys.argv[2] if len(sys.argv) > 2 else "500"
    if kind not in KINDS:
        raise SystemExit(f"kind must be one of {', '.join(KINDS)}")
    result = in_child("bench.profile", "profile", kind, count)
    print(result["report"])
    print(
        f"{result['kind']}: {result['cpu_ms_per_request']:.2f} ms CPU per request in this "
        f"process (without the profiler; the test client's share included), "
        f"{result['requests']} requests"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child_main({"child": profile})
    else:
        main()
