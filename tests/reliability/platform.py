"""The platform's event endpoint for the process-level run: a loopback HTTP server that
verifies each event (standardwebhooks) and counts them by webhook-id, with an outage.

What the service wrote (`providers_event`) is compared with what arrived: every event
once, none lost, none twice, none forged.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
from standardwebhooks import Webhook, WebhookVerificationError

from .harness import free_port, wait_until

# Fractions of the run: the endpoint answers 503, then refuses connections.
OUTAGE = [(0.12, 0.28, "503"), (0.32, 0.44, "refused")]


class FakePlatform:
    """mode "ok" (200) or "503"; close() refuses connections until open() again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        self.mode = "ok"
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()  # webhook-id -> times accepted
        self.types: dict[str, str] = {}
        self.requests: Counter[str] = Counter()
        self.forged = 0
        self.server: ThreadingHTTPServer | None = None

    def service_env(self) -> dict[str, str]:
        # Below the sending lease (5 s in the run): a slow answer is not sent twice.
        return {
            "MASKED_NUMBERS_EVENTS_URL": f"http://127.0.0.1:{self.port}/events",
            "MASKED_NUMBERS_EVENTS_SECRET": self.secret,
            "MASKED_NUMBERS_EVENTS_TIMEOUT": "3",
        }

    def open(self) -> None:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = platform.receive(body, dict(self.headers))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def receive(self, body: bytes, headers: dict[str, str]) -> int:
        with self.lock:
            if self.mode == "503":
                self.requests["503"] += 1
                return 503
            try:
                event = Webhook(self.secret).verify(body, headers)
            except WebhookVerificationError:
                self.forged += 1
                return 400
            self.requests["200"] += 1
            self.received[headers["webhook-id"]] += 1
            self.types[headers["webhook-id"]] = event["type"]
            return 200

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def outage_in_background(platform: FakePlatform, *, t0: float, seconds: float) -> threading.Thread:
    """The endpoint's outage, at OUTAGE's points of a run that started at `t0`."""

    def run() -> None:
        for start, end, fault in OUTAGE:
            time.sleep(max(0.0, t0 + start * seconds - time.monotonic()))
            if fault == "refused":
                platform.close()
            else:
                platform.mode = fault
            time.sleep(max(0.0, t0 + end * seconds - time.monotonic()))
            if fault == "refused":
                platform.open()
            platform.mode = "ok"

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def events_settled(platform: FakePlatform, database_url: str, *, timeout: float) -> dict:
    """Once every event written has arrived (or `timeout` passed): what was lost, what
    came twice, by type and by status."""

    def written() -> dict[str, tuple[str, str]]:
        with psycopg.connect(database_url) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT event_id, type, status FROM providers_event")
            return {event_id: (kind, status) for event_id, kind, status in cursor.fetchall()}

    def arrived() -> bool:
        with platform.lock:
            return set(platform.received) >= set(written())

    try:
        wait_until(arrived, timeout=timeout, what="every event at the platform")
    except TimeoutError:
        pass  # what is missing is reported
    time.sleep(3)  # anything sent twice would arrive now
    rows = written()
    with platform.lock:
        received = Counter(platform.received)
    return {
        "written": len(rows),
        "received": len(received),
        "lost": sum(1 for event_id in rows if event_id not in received),
        "duplicated_by_id": sum(count - 1 for count in received.values() if count > 1),
        "unknown_ids": sum(1 for event_id in received if event_id not in rows),
        "forged": platform.forged,
        "by_type": dict(Counter(kind for kind, _ in rows.values())),
        "by_status": dict(Counter(status for _, status in rows.values())),
        "platform_answers": dict(platform.requests),
        "outage": [{"fault": f"platform {f}", "from": a, "to": b} for a, b, f in OUTAGE],
    }
