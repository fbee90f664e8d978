"""The load generator: wrk replaying pre-signed MessageBird webhooks.

Why wrk and pre-signed requests: the server refuses a signature whose `jti` it has
seen, so every request needs its own signature. Signing in the load generator while
it runs would cost more CPU than the server's own work on a 2-core machine shared by
both; instead every request is signed before the run (each with a fresh jti, valid
for an hour) and wrk, a small C program, replays them in order from a file
(bench/replay.lua), one thread, 16 connections, for a fixed duration.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import resource
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlencode

import jwt

from .cpu import per_request

LUA = Path(__file__).resolve().parent / "replay.lua"
SIGNING_KEY = "bench-messagebird-signing-key-0123456789"
TWILIO_ACCOUNT_SID = "ACbench00000000000000000000000000"
TWILIO_AUTH_TOKEN = "bench-twilio-auth-token"


@dataclass(frozen=True)
class Sms:
    originator: str  # E.164
    recipient: str
    text: str
    vendor_id: str


@dataclass(frozen=True)
class Call:
    source: str  # E.164
    destination: str
    call_id: str


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # connection errors, timeouts and answers other than 200
    ran_out: bool  # the pre-signed requests were used up before the end (run invalid)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per request, by part

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def sign(url: str, body: bytes, *, key: str = SIGNING_KEY, now: float | None = None) -> str:
    """A MessageBird-Signature-JWT (HS256 over the URL and body hashes, fresh jti)."""
    issued = int(now if now is not None else time.time()) - 5
    claims = {
        "iss": "MessageBird",
        "nbf": issued,
        "exp": issued + 3600,
        "jti": uuid.uuid4().hex,
        "url_hash": hashlib.sha256(url.encode()).hexdigest(),
    }
    if body:
        claims["payload_hash"] = hashlib.sha256(body).hexdigest()
    return jwt.encode(claims, key, algorithm="HS256")


def request_line(event: Sms | Call, *, base_url: str, key: str = SIGNING_KEY) -> str:
    """One line of the replay file: METHOD, path, signature, body, tab-separated.

    `base_url` is the URL the vendor calls (what the server sees behind a TLS proxy).
    """
    if isinstance(event, Sms):
        path = "/webhook"
        body = urlencode(
            {
                "originator": event.originator.lstrip("+"),
                "recipient": event.recipient.lstrip("+"),
                "payload": event.text,
                "id": event.vendor_id,
            }
        )
        return f"POST\t{path}\t{sign(base_url + path, body.encode(), key=key)}\t{body}"
    query = urlencode(
        {
            "source": event.source.lstrip("+"),
            "destination": event.destination.lstrip("+"),
            "callID": event.call_id,
        }
    )
    path = f"/webhook-voice?{query}"
    return f"GET\t{path}\t{sign(base_url + path, b'', key=key)}\t"


def twilio_request_line(event: Sms | Call, *, base_url: str) -> str:
    """A replay line as Twilio sends it: a form POST, `X-Twilio-Signature` (HMAC-SHA1 with
    the Auth Token over the URL and the sorted fields), the header named in the line."""
    if isinstance(event, Sms):
        path = "/webhooks/twilio/sms/"
        fields = {
            "MessageSid": event.vendor_id,
            "From": event.originator,
            "To": event.recipient,
            "Body": event.text,
        }
    else:
        path = "/webhooks/twilio/voice/"
        fields = {"CallSid": event.call_id, "From": event.source, "To": event.destination}
    signed = base_url + path + "".join(name + fields[name] for name in sorted(fields))
    digest = hmac.new(TWILIO_AUTH_TOKEN.encode(), signed.encode(), hashlib.sha1).digest()
    signature = base64.b64encode(digest).decode()
    return f"POST\t{path}\tX-Twilio-Signature:{signature}\t{urlencode(fields)}"


LINES = {"messagebird": request_line, "twilio": twilio_request_line}


def write_requests(
    events: Iterable[Sms | Call], *, base_url: str, directory: Path, vendor: str = "messagebird"
) -> Path:
    """Sign the events into a replay file for one wrk thread; returns the file prefix."""
    prefix = directory / "requests"
    line = LINES[vendor]
    with (directory / "requests.0").open("w") as out:
        for event in events:
            out.write(line(event, base_url=base_url) + "\n")
    return prefix


def parse_wrk(output: str) -> LoadResult:
    """The JSON line bench/replay.lua prints at the end of a run."""
    line = next(
        (line for line in reversed(output.splitlines()) if line.startswith("{")),
        None,
    )
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")
    data = json.loads(line)
    # wrk's own `status` count (non-2xx/3xx) is a subset of `non200`, counted by
    # replay.lua's response(): a redirect is an error here too.
    errors = data["non200"] + data["connect"] + data["read"] + data["write"] + data["timeout"]
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=errors,
        ran_out=bool(data["ran_out"]),
    )


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed (make bench installs it: apt-get install wrk)")
    return path


def run_wrk(
    url: str,
    *,
    prefix: Path | None,
    duration: float,
    connections: int = 16,
    meter: Callable[[], dict[str, float]] | None = None,
) -> LoadResult:
    """Replay the requests under `prefix` (or GET `url` when None) against the server.

    With a `meter` (see bench.cpu), the result also says the CPU each request cost.
    """
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("benchmarks talk to loopback only")
    argv = [
        wrk_path(),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
        "--",
        str(prefix) if prefix else "-",
    ]
    before = meter() if meter else {}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    after = meter() if meter else {}
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr[-2000:]}")
    result = parse_wrk(completed.stdout)
    if meter:
        spent = resource.getrusage(resource.RUSAGE_CHILDREN)
        before["load generator"] = children.ru_utime + children.ru_stime
        after["load generator"] = spent.ru_utime + spent.ru_stime
        result = replace(result, cpu_ms=per_request(before, after, result.requests))
    return result


def replay(
    base_url: str,
    events: Iterable[Sms | Call],
    *,
    duration: float,
    connections: int = 16,
    meter: Callable[[], dict[str, float]] | None = None,
    vendor: str = "messagebird",
) -> LoadResult:
    """Sign `events` as `vendor` would and replay them against the server at `base_url`.

    Requests carry `X-Forwarded-Proto: https`, as behind the TLS proxy of production,
    so the URL MessageBird signed is the https one.
    """
    signed_base = "https://" + base_url.removeprefix("http://")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        prefix = write_requests(events, base_url=signed_base, directory=Path(tmp), vendor=vendor)
        return run_wrk(
            base_url + "/", prefix=prefix, duration=duration, connections=connections, meter=meter
        )
