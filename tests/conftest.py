from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import responses as responses_lib

from providers.backends import console
from providers.pool import pool_cache_clear


@pytest.fixture(autouse=True)
def _clean_console_outbox():
    console.outbox.clear()
    yield
    console.outbox.clear()


@pytest.fixture(autouse=True)
def _fresh_pool_cache():
    # Each test's database is rolled back behind the cache's back (no signal says so).
    pool_cache_clear()
    yield
    pool_cache_clear()


@pytest.fixture(autouse=True)
def _demo_password_file(tmp_path, monkeypatch):
    # seed_demo in a test must not overwrite the login `make run` printed for the real database.
    monkeypatch.setenv("MASKED_NUMBERS_DEMO_PASSWORD_FILE", str(tmp_path / "demo-password"))


@pytest.fixture
def masked_staff(django_user_model):
    """Staff with every permission of the project's apps but viewing full numbers and texts."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("masked", password="pw-masked-123", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["providers", "rides", "conversations"]
        ).exclude(codename="view_full_numbers")
    )
    return user


@pytest.fixture
def masked_client(client, masked_staff):
    """A test client logged in as `masked_staff`."""
    client.force_login(masked_staff)
    return client


@pytest.fixture
def mocked_responses():
    """Outbound HTTP intercepted at the transport; an unexpected request fails the test."""
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def events_on(settings, mocked_responses):
    """Events to the platform turned on; its endpoint answers 200 (`tests/events.py`)."""
    from tests.events import EVENTS_SECRET, EVENTS_URL

    settings.MASKED_NUMBERS_EVENTS_URL = EVENTS_URL
    settings.MASKED_NUMBERS_EVENTS_SECRET = EVENTS_SECRET
    mocked_responses.post(EVENTS_URL, status=200)
    return mocked_responses


# --- Real browser (Debian's Chromium driven by Playwright) -----------------------------
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture(scope="session")
def _chromium():
    if not Path(CHROMIUM).exists():
        reason = "no Chromium on this machine (apt-get install chromium)"
        if os.environ.get("MASKED_NUMBERS_REQUIRE_BROWSER"):
            pytest.fail(f"browser tests are required here but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright runs an event loop in this thread; the ORM calls the tests make in
    # between are ordinary synchronous ones.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(_chromium, live_server):
    """A fresh browser page; `page.base_url` is the live server's address."""
    context = _chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    browser_page = context.new_page()
    browser_page.base_url = live_server.url
    yield browser_page
    context.close()


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_superuser("staff", "", "staff-password-123")


@pytest.fixture
def admin_page(page, staff_user):
    """A browser page logged into the admin as a superuser."""
    page.goto(f"{page.base_url}/admin/login/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "staff-password-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"{page.base_url}/admin/")
    return page


def screenshot(page, name: str) -> Path:
    """Save a screenshot under tests/screenshots/ (the README shows some of them)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
