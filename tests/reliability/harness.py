"""Real processes for the reliability runs: a private PostgreSQL, a fake vendor, the service.

Everything listens on loopback ports picked free at start and is stopped by the
context managers, whatever happens (process groups, so children go too).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .vendor import Ledger

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.2, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what or predicate}")


# --- PostgreSQL --------------------------------------------------------------------------


class PrivatePostgres:
    """A throw-away PostgreSQL cluster in a temp dir, on its own port: ours to restart."""

    def __init__(self) -> None:
        if PG_BIN is None or not (PG_BIN / "initdb").exists():
            raise RuntimeError("PostgreSQL server binaries are not installed")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="rel-pg-"))
        self.data = self.dir / "data"
        # initdb refuses to run as root: the cluster belongs to the postgres user then.
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_owner:
            shutil.chown(self.dir, "postgres")

    def _pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 - fixed binaries, our arguments
            [*self.as_owner, *args], capture_output=True, text=True, timeout=120, check=check
        )

    def init(self) -> None:
        self._pg(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._pg(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.dir / "server.log"), "-w", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._pg(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False
        )

    def createdb(self, name: str) -> str:
        self._pg(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-c", f"CREATE DATABASE {name}",
        )  # fmt: skip
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    try:
        pg.init()
        yield pg
    finally:
        pg.remove()


# --- the vendor --------------------------------------------------------------------------


class FakeVendor:
    """MessageBird's `POST /messages` on a loopback port, with switchable faults.

    mode: "ok", "500", "429", "timeout" (answers after the client gave up; accepts
    nothing), "hang" (holds the next request until release_hang(); accepts nothing).
    "refused" is close(): nothing listens on the port until open() again.
    """

    def __init__(self, *, slow_seconds: float) -> None:
        self.port = free_port()
        self.ledger = Ledger()
        self.mode = "ok"
        self.slow_seconds = slow_seconds
        self.hanging = threading.Event()
        self.release = threading.Event()
        self.hung_client_port: int | None = None
        self.refused_while_closed = 0
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    def open(self) -> None:
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with vendor.ledger.lock:
                    vendor.ledger.calls += 1
                mode = vendor.mode
                if mode == "hang" and not vendor.hanging.is_set():
                    vendor.hung_client_port = self.client_address[1]
                    vendor.hanging.set()
                    vendor.release.wait(timeout=120)
                    return  # the client is gone by now: nothing was accepted
                if mode == "timeout":
                    time.sleep(vendor.slow_seconds)
                    return self._answer(503, {"errors": [{"description": "too late"}]})
                if mode == "500":
                    return self._answer(500, {"errors": [{"description": "internal"}]})
                if mode == "429":
                    return self._answer(429, {"errors": []}, {"Retry-After": "2"})
                self._answer(201, vendor.ledger.accept(json.loads(body)))

            def _answer(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def release_hang(self) -> None:
        self.release.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# --- the service ------------------------------------------------------------------------


def worker_of_client_port(pids: dict[str, int], client_port: int, server_port: int) -> str | None:
    """Which of our processes owns the open TCP connection client_port -> server_port."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                local, remote = (int(f.rsplit(":", 1)[1], 16) for f in fields[1:3])
                # Skip closed sockets (inode 0, e.g. TIME_WAIT) that once used the port.
                if (local, remote) == (client_port, server_port) and fields[9] != "0":
                    inode = fields[9]
    if inode is None:
        return None
    for name, pid in pids.items():
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return name
    return None


class Service:
    """gunicorn, delivery workers and the outbox sweeper, as production runs them."""

    def __init__(self, *, database_url: str, vendor_url: str, logs: Path, web_workers: int = 3):
        self.port = free_port()
        self.logs = logs
        self.web_workers = web_workers
        self.signing_key = secrets.token_urlsafe(24)
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(
                    ("DJANGO_", "MESSAGEBIRD_", "FLOWROUTE_", "TWILIO_", "BIRD_", "MASKED_NUMBERS_")
                )
            },  # noqa: E501
            "DJANGO_SETTINGS_MODULE": "maskednumbers.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_TASKS_BACKEND": "database",
            "DATABASE_URL": database_url,
            "MESSAGEBIRD_ACCESS_KEY": "reliability-access-key",
            "MESSAGEBIRD_SIGNING_KEY": self.signing_key,
            "MESSAGEBIRD_API_URL": vendor_url,
            "MESSAGEBIRD_TIMEOUT": "3",
            "MASKED_NUMBERS_SENDING_LEASE": "5",
            "MASKED_NUMBERS_BACKOFF_BASE": "0.5",
            "MASKED_NUMBERS_BACKOFF_MAX": "4",
            "MASKED_NUMBERS_MAX_ATTEMPTS": "1000",
            "PYTHONUNBUFFERED": "1",
        }
        self.procs: dict[str, subprocess.Popen] = {}
        self.log_files: list = []

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result

    def staff_token(self) -> str:
        """A staff user and its API token, made as an operator would."""
        self.env["DJANGO_SUPERUSER_PASSWORD"] = secrets.token_urlsafe(16)
        self.manage(
            "createsuperuser", "--noinput", "--username", "ops", "--email", "ops@example.org"
        )
        return self.manage("drf_create_token", "ops").stdout.split()[2]

    def spawn(self, name: str, *args: str) -> None:
        log = open(self.logs / f"{name}.log", "a")  # noqa: SIM115 - closed in stop()
        self.log_files.append(log)
        self.procs[name] = subprocess.Popen(  # noqa: S603
            list(args), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def start_worker(self, name: str) -> None:
        self.spawn(
            name, sys.executable, "manage.py", "delivery_worker", "--interval", "0.2",
            "--no-reload", "--no-startup-delay", "--worker-id", name,
        )  # fmt: skip

    def start(self) -> None:
        self.manage("migrate", "--noinput")
        self.spawn(
            "web", sys.executable, "-m", "gunicorn", "maskednumbers.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.web_workers),
            "--timeout", "30", "--graceful-timeout", "5",
        )  # fmt: skip
        self.start_worker("worker-1")
        self.start_worker("worker-2")
        self.spawn(
            "sweeper", sys.executable, "manage.py", "outbox_sweep", "--loop", "--interval", "1",
        )  # fmt: skip

    def kill(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait(timeout=30)

    def alive(self, name: str) -> bool:
        return self.procs[name].poll() is None

    def stop(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        for log in self.log_files:
            log.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")
