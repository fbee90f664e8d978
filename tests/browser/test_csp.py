"""The Content-Security-Policy holds in a real browser: the admin, the simulator and the
API docs work under it and the browser reports no violation."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation',
    (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture
def watched(admin_page):
    """The logged-in page, recording CSP violations (events and console errors)."""
    admin_page.add_init_script(WATCH)
    admin_page.console_errors = []
    admin_page.on(
        "console",
        lambda message: message.type == "error" and admin_page.console_errors.append(message.text),
    )
    return admin_page


def violations(page) -> list[str]:
    refused = [text for text in page.console_errors if "Content Security Policy" in text]
    return page.evaluate("window.cspViolations") + refused


def test_the_policy_is_sent_with_pages(client):
    policy = client.get("/admin/login/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


def test_the_simulator_sends_a_text_under_the_policy(watched):
    call_command("seed_demo", verbosity=0)
    page = watched
    page.goto(f"{page.base_url}/simulator/")
    carla = page.locator(".sim-phone", has=page.locator(".sim-name", has_text="Carla"))
    carla.locator("input[name=text]").fill("On my way")
    carla.locator("button.sim-send").click()
    expect(carla.locator("input[name=text]")).to_have_value("")
    dana = page.locator(".sim-phone", has=page.locator(".sim-name", has_text="Dana"))
    dana.locator(".sim-theirs .sim-body", has_text="On my way").last.wait_for()

    assert violations(page) == []


def test_the_admin_works_under_the_policy(watched):
    call_command("seed_demo", verbosity=0)
    page = watched
    for path in ["/admin/", "/admin/rides/ride/", "/admin/rides/ride/add/"]:
        page.goto(f"{page.base_url}{path}")
    # The ride form's autocomplete is the admin's own script.
    page.click("#id_customer + .select2 .select2-selection")
    page.locator(".select2-results__option").first.wait_for()

    assert violations(page) == []


def test_the_api_docs_render_under_the_policy(watched):
    page = watched
    page.goto(f"{page.base_url}/api/docs/")
    page.locator(".opblock-summary-path", has_text="/api/rides/").first.wait_for()

    assert violations(page) == []
