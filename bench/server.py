"""The production server as the README's "Production" section runs it: gunicorn with 4
workers, DEBUG off, PostgreSQL, the database task backend with `delivery_worker` processes and
the outbox sweeper, TLS terminated in front (`X-Forwarded-Proto`, the public URL), and
MessageBird and Twilio pointed at the local stub vendor.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .db import database_url
from .loadgen import SIGNING_KEY, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN
from .procs import PYTHON, ROOT, Procs, free_port, wait_http

WEB_WORKERS = 4  # as in the README's production command
DB_WORKERS = 2


def production_env(*, database: str, vendor_url: str, public_url: str = "") -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DJANGO_", "MESSAGEBIRD_", "FLOWROUTE_", "TWILIO_", "BIRD_", "MASKED_NUMBERS_")
        )
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "maskednumbers.settings",
            "DATABASE_URL": database_url(database),
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdef",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_TASKS_BACKEND": "database",
            "MESSAGEBIRD_ACCESS_KEY": "bench-access-key",
            "MESSAGEBIRD_SIGNING_KEY": SIGNING_KEY,
            "MESSAGEBIRD_API_URL": vendor_url,
            "MESSAGEBIRD_TIMEOUT": "10",
            "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            "TWILIO_API_URL": vendor_url,
            "MASKED_NUMBERS_PUBLIC_URL": public_url,
            # The load texts each party about once a second, far more often than people
            # do: over a window of 6 s the relay loop limit is checked on every text and
            # reads what it would for people, but is never reached.
            "MASKED_NUMBERS_LOOP_WINDOW_MINUTES": "0.1",
            # The history is years old: retention would spend the run erasing it (a
            # backlog a deployment works off once), charged to every text.
            "MASKED_NUMBERS_RETENTION_DAYS": "36500",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def start_server(
    procs: Procs,
    *,
    database: str,
    vendor_url: str,
    web_workers: int = WEB_WORKERS,
    db_workers: int = DB_WORKERS,
    code: Path = ROOT,
    python: str = PYTHON,
) -> str:
    """Start gunicorn, the delivery workers and the sweeper; returns the server's URL.

    `code` is the checkout they run from and `python` the interpreter of its packages
    (another checkout, and its own environment, to compare two revisions).
    """
    port = free_port()
    # What the TLS proxy in front would be called; MessageBird signs that URL.
    public_url = f"https://127.0.0.1:{port}"
    env = production_env(database=database, vendor_url=vendor_url, public_url=public_url)
    procs.start(
        f"gunicorn-{database}",
        [
            python,
            "-m",
            "gunicorn",
            "maskednumbers.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(web_workers),
            "--backlog",
            "512",
            "--graceful-timeout",
            "5",
        ],
        env=env,
        cwd=code,
    )
    for index in range(db_workers):
        procs.start(
            f"db_worker-{database}-{index}",
            [python, "manage.py", "delivery_worker", "--no-reload", "--queue-name", "default"],
            env=env,
            cwd=code,
        )
    procs.start(
        f"outbox_sweep-{database}",
        [python, "manage.py", "outbox_sweep", "--loop", "--interval", "15"],
        env=env,
        cwd=code,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/healthz", timeout=60)
    time.sleep(1.0)  # let every worker finish importing before the first measurement
    procs.check_alive()
    return url
