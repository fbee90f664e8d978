"""A local stand-in for the vendors' send APIs: MessageBird's `POST /messages` and Twilio's
`POST /2010-04-01/Accounts/{sid}/Messages.json` answer 201 with JSON.

Threaded (one thread per connection), so it holds many slow answers at once; with
`--delay 2` every answer waits two seconds, like a vendor having a bad day.
`GET /stats` tells how many messages it accepted. Loopback only.

    python -m bench.stub_vendor --port 8099 --delay 0
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

TWILIO_MESSAGES = re.compile(r"/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json")


class StubState:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.accepted = 0
        self.lock = threading.Lock()
        self.ids = itertools.count(1)


def make_handler(state: StubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes: without this, Nagle holds the body back
        # until the client's delayed ACK (40 ms), and every send looks 40 ms slow.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # one line per request would cost more than the stub itself

        def _answer(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            twilio = TWILIO_MESSAGES.fullmatch(self.path)
            if twilio:
                self._twilio_message(twilio["sid"], raw)
                return
            if self.path.rstrip("/") != "/messages":
                self._answer(404, {"errors": [{"code": 20, "description": "not found"}]})
                return
            if state.delay:
                time.sleep(state.delay)
            try:
                params = json.loads(raw or b"{}")
            except ValueError:
                params = {}
            with state.lock:
                state.accepted += 1
                message_id = f"bench{next(state.ids):012d}"
            recipients = str(params.get("recipients", "")).split(",")
            self._answer(
                201,
                {
                    "id": message_id,
                    "href": f"http://127.0.0.1/messages/{message_id}",
                    "direction": "mt",
                    "type": "sms",
                    "originator": params.get("originator"),
                    "body": params.get("body"),
                    "recipients": {
                        "totalCount": len(recipients),
                        "totalSentCount": len(recipients),
                        "items": [{"recipient": int(r), "status": "sent"} for r in recipients if r],
                    },
                },
            )

        def _twilio_message(self, account_sid: str, raw: bytes) -> None:
            """A Message resource as Twilio answers a create: 201, `sid`, `queued`."""
            if state.delay:
                time.sleep(state.delay)
            form = {k: v[0] for k, v in parse_qs(raw.decode(errors="replace")).items()}
            with state.lock:
                state.accepted += 1
                sid = f"SMbench{next(state.ids):026d}"
            self._answer(
                201,
                {
                    "sid": sid,
                    "account_sid": account_sid,
                    "status": "queued",
                    "direction": "outbound-api",
                    "from": form.get("From"),
                    "to": form.get("To"),
                    "body": form.get("Body"),
                    "num_segments": "1",
                    "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
                },
            )

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/stats":
                with state.lock:
                    self._answer(200, {"accepted": state.accepted, "delay": state.delay})
                return
            self._answer(404, {})

    return Handler


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the listen backlog: many senders connect at once


def serve(*, port: int, delay: float) -> None:
    state = StubState(delay)
    server = StubServer(("127.0.0.1", port), make_handler(state))
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args()
    serve(port=args.port, delay=args.delay)


if __name__ == "__main__":
    main()
