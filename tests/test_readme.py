"""The README's shell examples run as printed, on a fresh database with the demo data,
against a server started here: every ```sh block, in order, in one shell.

A block that cannot run here (the servers of `make run`, production processes) is
marked on the line before it: `<!-- readme-test: skip (why) -->`.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

README = Path(settings.BASE_DIR) / "README.md"
VENV_PYTHON = Path(settings.BASE_DIR) / ".venv" / "bin" / "python"
SKIP = "<!-- readme-test: skip"
# A fence opening a shell block, indented or not, and its closing fence.
BLOCK = re.compile(r"^(?P<indent>[ \t]*)```sh[ \t]*\n(?P<body>.*?)^(?P=indent)```", re.M | re.S)
DEFAULT_URL = "http://127.0.0.1:8000"


def sh_blocks(text: str) -> list[tuple[int, str, bool]]:
    """(line number, commands, skipped) of each ```sh block of the README."""
    blocks = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        indent = match.group("indent")
        body = "\n".join(
            row[len(indent) :] if row.startswith(indent) else row
            for row in match.group("body").splitlines()
        )
        blocks.append((line, body, before.strip().startswith(SKIP)))
    return blocks


def test_the_readme_marks_few_blocks_as_not_run():
    blocks = sh_blocks(README.read_text())
    skipped = [line for line, _, skip in blocks if skip]
    # Sparingly: at most a third of them, each for a reason the marker gives.
    assert len(blocks) >= 5 and len(skipped) * 3 <= len(blocks), skipped


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_env(tmp_path: Path) -> dict[str, str]:
    """What a newcomer's shell has: none of the test settings' vendor keys or overrides."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT"}
    env = {key: value for key, value in os.environ.items() if key in keep}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'readme.sqlite3'}"
    env["MASKED_NUMBERS_DEMO_PASSWORD_FILE"] = str(tmp_path / "demo-password")
    env["DJANGO_SETTINGS_MODULE"] = "maskednumbers.settings"
    return env


@pytest.fixture
def server(tmp_path):
    """`make run`'s set-up (migrate, demo data) and its web server, on a free port."""
    if not VENV_PYTHON.exists():
        pytest.skip("the README's commands use .venv/bin/python: run this through `make test`")
    env = clean_env(tmp_path)
    for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        subprocess.run(  # noqa: S603
            [str(VENV_PYTHON), "manage.py", *command],
            cwd=settings.BASE_DIR,
            env=env,
            check=True,
            capture_output=True,
        )
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(  # noqa: S603
        [str(VENV_PYTHON), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):  # noqa: S310
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"the server did not start: {(tmp_path / 'server.log').read_text()}")
            time.sleep(0.2)
    try:
        yield url, env
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_every_shell_example_of_the_readme_works_as_printed(server, tmp_path):
    url, env = server
    # curl fails on an HTTP error here, so a 4xx or 5xx answer fails the example.
    script = ["set -euo pipefail", 'curl() { command curl --fail-with-body "$@"; }']
    for line, body, skipped in sh_blocks(README.read_text()):
        if skipped:
            continue
        script.append(f"echo '>>> README.md line {line}'")
        script.append(body.replace(DEFAULT_URL, url))
    result = subprocess.run(  # noqa: S603
        ["bash", "-c", "\n".join(script)],  # noqa: S607
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    shown = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, shown
    assert '"proxy_number"' in result.stdout  # the ride booked, then read and closed
    assert '"status":"closed"' in result.stdout.replace(" ", "")
