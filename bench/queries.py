"""What one request costs the database: statements and commits per request.

Run in a child on a benchmark database (after the load, so it is warm): one `/healthz`,
one signed SMS and one signed voice webhook for an open ride through Django's test
client (the whole middleware stack), with every statement captured. Independent of
how busy the machine is, so it shows what a change saves even when timings are
noisy. Not counted: the connection health check, one `SELECT 1` before each request.
"""

from __future__ import annotations

import re
import time

from .common import child_main

COUNTED = 20


def commits_in(sqls: list[str]) -> int:
    """Commits: explicit COMMITs, and writes outside a transaction (autocommit)."""
    commits, in_transaction = 0, False
    for sql in sqls:
        if sql == "BEGIN":
            in_transaction = True
        elif sql in ("COMMIT", "ROLLBACK"):
            commits += sql == "COMMIT"
            in_transaction = False
        elif not in_transaction and _writes(sql):
            commits += 1
    return commits


def _writes(sql: str) -> bool:
    """An INSERT, UPDATE or DELETE, or a WITH whose parts write (`WITH a AS (INSERT …)`)."""
    if sql.startswith(("INSERT", "UPDATE", "DELETE")):
        return True
    return sql.startswith("WITH") and re.search(r"\b(INSERT|UPDATE|DELETE)\b", sql) is not None


def in_process_sender():
    """send(event) -> HTTP status: a signed webhook (or `/healthz` for None) through
    Django's test client, every middleware included, as the vendor would send it."""
    from django.test import Client

    from .loadgen import request_line

    client = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="127.0.0.1")

    def send(event) -> int:
        if event is None:
            return client.get("/healthz").status_code
        line = request_line(event, base_url="https://127.0.0.1")
        method, path, signature, body = line.split("\t")
        if method == "POST":
            response = client.post(
                path,
                data=body,
                content_type="application/x-www-form-urlencoded",
                HTTP_MESSAGEBIRD_SIGNATURE_JWT=signature,
            )
        else:
            response = client.get(path, HTTP_MESSAGEBIRD_SIGNATURE_JWT=signature)
        return response.status_code

    return send


def count() -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from .data import open_rides
    from .scenario import Session, call_events, sms_events

    # Half the requests from customers, half from drivers.
    sessions = [Session(*row) for row in open_rides()["sessions"]][: COUNTED // 2]
    tag = f"count{time.time_ns()}"
    requests = {
        "sms": list(sms_events(sessions, COUNTED, tag=tag)),
        "voice": list(call_events(sessions, COUNTED, tag=tag)),
    }
    send = in_process_sender()

    result = {}
    for kind, events in (("healthz", [None] * COUNTED), *requests.items()):
        statements = commits = 0
        for event in events:
            with CaptureQueriesContext(connection) as captured:
                status = send(event)
            if status != 200:
                raise RuntimeError(f"{kind}: HTTP {status}")
            sqls = [q["sql"] for q in captured.captured_queries]
            statements += len(sqls)
            commits += commits_in(sqls)
        result[kind] = {"statements": statements / COUNTED, "commits": commits / COUNTED}
    return result


if __name__ == "__main__":
    child_main({"count": count})
