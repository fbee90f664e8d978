"""Starting and stopping the processes a benchmark needs, each bounded in time.

Every process is started in its own session, so stopping it stops its children too
(gunicorn's workers), and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, *, timeout: float = 2.0, headers: dict | None = None) -> tuple[int, bytes]:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("benchmarks talk to loopback only")
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback, checked
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def wait_http(url: str, *, timeout: float, headers: dict | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            status, _ = http_get(url, timeout=1.0, headers=headers)
            if status == 200:
                return
            last = f"HTTP {status}"
        except OSError as err:
            last = err
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s (last: {last})")


@dataclass
class Procs:
    """Processes started for one benchmark; `stop()` ends exactly these."""

    started: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def start(
        self, name: str, argv: list[str], *, env: dict[str, str], cwd: Path = ROOT
    ) -> subprocess.Popen:
        RESULTS.mkdir(parents=True, exist_ok=True)
        log = (RESULTS / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.started.append((name, proc))
        return proc

    def stop(self, *, timeout: float = 10.0) -> None:
        for _, proc in reversed(self.started):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _, proc in reversed(self.started):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.started.clear()

    def check_alive(self) -> None:
        for name, proc in self.started:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see bench/results/")


@contextlib.contextmanager
def running() -> Iterator[Procs]:
    procs = Procs()
    try:
        yield procs
    finally:
        procs.stop()


def stub_vendor(procs: Procs, *, delay: float = 0.0) -> str:
    """Start the stub vendor; yields its base URL."""
    port = free_port()
    procs.start(
        f"stub-vendor-{port}",
        [PYTHON, "-m", "bench.stub_vendor", "--port", str(port), "--delay", str(delay)],
        env=dict(os.environ),
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/stats", timeout=15)
    return url


def stub_accepted(url: str) -> int:
    _, body = http_get(f"{url}/stats")
    return int(json.loads(body)["accepted"])
