from __future__ import annotations

import socket
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from providers.models import Direction, Message, ProxyNumber
from simulator.demo import DEMO_CUSTOMERS, DEMO_DRIVERS, DEMO_NUMBERS
from simulator.services import simulator_phones

pytestmark = pytest.mark.django_db

RUN_DEV = Path(settings.BASE_DIR) / "scripts" / "run-dev.sh"


@pytest.fixture
def password_file(tmp_path, monkeypatch):
    path = tmp_path / "demo-password"
    monkeypatch.setenv("MASKED_NUMBERS_DEMO_PASSWORD_FILE", str(path))
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    return path


def login_line() -> str:
    out = StringIO()
    call_command("demo_login", stdout=out)
    return out.getvalue().strip()


def test_seed_demo_creates_the_console_numbers_and_a_superuser_once(password_file):
    call_command("seed_demo", stdout=StringIO())
    password = password_file.read_text()
    call_command("seed_demo", stdout=StringIO())
    assert ProxyNumber.objects.filter(provider="console").count() == len(DEMO_NUMBERS)
    user = get_user_model().objects.get(username="demo")
    assert user.is_superuser and user.check_password(password)
    # The second run kept the first password: what `make run` printed still works.
    assert password_file.read_text() == password
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600


def test_demo_login_prints_the_generated_password_while_it_works(password_file):
    call_command("seed_demo", stdout=StringIO())
    assert login_line() == f"Login:      demo / {password_file.read_text()}"
    user = get_user_model().objects.get(username="demo")
    user.set_password("changed-by-the-owner-123")
    user.save()
    line = login_line()
    assert "password changed" in line and "changepassword demo" in line
    assert password_file.read_text() not in line


def test_a_password_from_the_environment_is_used_and_not_printed(password_file, monkeypatch):
    call_command("seed_demo", stdout=StringIO())
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "from-the-environment-42")
    call_command("seed_demo", stdout=StringIO())
    assert get_user_model().objects.get(username="demo").check_password("from-the-environment-42")
    assert not password_file.exists()
    line = login_line()
    assert "DJANGO_SUPERUSER_PASSWORD" in line
    assert "from-the-environment-42" not in line


def test_demo_login_before_seeding_says_what_to_run(password_file):
    assert "seed_demo" in login_line()


def run_dev(port: int) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own script, fixed arguments
        ["bash", str(RUN_DEV)],  # noqa: S607
        env={"PY": sys.executable, "HOST": "127.0.0.1", "PORT": str(port), "PATH": "/usr/bin:/bin"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_run_on_a_busy_port_says_so_and_starts_nothing():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_dev(port)
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is in use" in result.stdout
    assert f"make run PORT={port + 1}" in result.stdout
    assert "Starting" not in result.stdout + result.stderr


@pytest.mark.django_db(transaction=True)
def test_make_run_when_the_service_already_runs_points_to_it(live_server):
    port = int(live_server.url.rsplit(":", 1)[1])
    result = run_dev(port)
    assert result.returncode == 1
    assert f"already running at http://127.0.0.1:{port}/admin/" in result.stdout


def test_seed_demo_adds_the_demo_people_and_one_open_sample_ride(
    password_file, django_capture_on_commit_callbacks
):
    from rides.selectors import rides_open

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    (ride,) = rides_open()
    assert (ride.customer.phone, ride.driver.phone) == (DEMO_CUSTOMERS[0][1], DEMO_DRIVERS[0][1])
    assert ride.proxy.provider == "console"
    # Both were texted about it, from the ride's number: the simulator opens on a thread.
    notified = Message.objects.filter(direction=Direction.OUTBOUND, sender=ride.proxy.number)
    assert sorted(notified.values_list("recipient", flat=True)) == sorted(
        [ride.customer.phone, ride.driver.phone]
    )


def test_the_simulator_lists_people_once_in_their_first_role():
    from rides.services import customer_upsert, driver_upsert

    customer_upsert(name="Pat Both", phone="+14155550150")
    driver_upsert(name="Pat Both", phone="+14155550150")
    driver_upsert(name="Quinn Driver", phone="+14155550151")
    phones = simulator_phones(extra=["+14155550151", "+14155550199"])
    assert [(p.number, p.role) for p in phones][:2] == [
        ("+14155550150", "customer"),
        ("+14155550151", "driver"),
    ]
    assert [p.label for p in phones][-1] == "+14155550199"
    assert len({p.number for p in phones}) == len(phones)
