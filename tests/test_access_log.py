"""The production access log carries no webhook token and no phone number."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from maskednumbers.accesslog import RedactingLogger
from providers.log import redact_query, redact_target

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "s3cr3t-Flowroute-t0ken"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (f"/webhooks/flowroute/sms/{TOKEN}/", "/webhooks/flowroute/sms/***/"),
        (f"/webhooks/flowroute/sms/{TOKEN}", "/webhooks/flowroute/sms/***"),
        (
            f"/webhooks/flowroute/receipts/{TOKEN}/?ref=42",
            "/webhooks/flowroute/receipts/***/?ref=42",
        ),
        (
            "/webhooks/messagebird/voice/?source=31612345678&destination=%2B31612345679&callID=x1",
            "/webhooks/messagebird/voice/?source=***&destination=***&callID=x1",
        ),
        (
            "/webhooks/console/voice/?from=%2B1+415+555+0120&to=+14155550100",
            "/webhooks/console/voice/?from=***&to=***",
        ),
        (
            "/api/conversations/?number=%2B14155550110&limit=50",
            "/api/conversations/?number=***&limit=50",
        ),
        (
            "/api/rides/?status=open&limit=1000&offset=0",
            "/api/rides/?status=open&limit=1000&offset=0",
        ),
        ("/webhooks/messagebird/sms/", "/webhooks/messagebird/sms/"),
        ("/admin/", "/admin/"),
    ],
)
def test_redact_target_hides_tokens_and_numbers_only(target, expected):
    assert redact_target(target) == expected


def test_redact_query_keeps_names_and_short_values():
    assert redact_query("a=1&b=&c&d=123-4567") == "a=1&b=&c&d=***"


def test_the_gunicorn_logger_redacts_every_atom_that_shows_the_target():
    raw = f"/webhooks/flowroute/sms/{TOKEN}/?from=14155550120"
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": raw,
        "PATH_INFO": f"/webhooks/flowroute/sms/{TOKEN}/",
        "QUERY_STRING": "from=14155550120",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.5",
        "HTTP_REFERER": f"https://sms.example.com{raw}",
    }
    response = SimpleNamespace(status="200 OK", sent=2, headers=[])
    request = SimpleNamespace(headers=[])
    atoms = RedactingLogger(Config()).atoms(response, request, environ, timedelta(0))

    line = " ".join(str(value) for value in atoms.values())
    assert TOKEN not in line and "14155550120" not in line
    assert atoms["r"] == "POST /webhooks/flowroute/sms/***/?from=*** HTTP/1.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_with_the_shipped_configuration_logs_requests_redacted(tmp_path):
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")},
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "FLOWROUTE_WEBHOOK_TOKEN": TOKEN,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "deploy/gunicorn.conf.py",
                "maskednumbers.wsgi",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        for path in [
            f"/webhooks/flowroute/sms/{TOKEN}/",
            "/webhooks/messagebird/voice/?source=31612345678&destination=31612345679",
        ]:
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + path, timeout=5)  # noqa: S310 - loopback
                    break
                except urllib.error.HTTPError:
                    break  # any answer is logged
                except OSError:
                    time.sleep(0.1)
        deadline = time.monotonic() + 10
        while log.read_text().count('" ') < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=10)

    text = log.read_text()
    assert "/webhooks/flowroute/sms/***/" in text, text
    assert "/webhooks/messagebird/voice/?source=***&destination=***" in text, text
    assert TOKEN not in text and "31612345678" not in text
