from __future__ import annotations

import pytest
from django.core.management import call_command

from providers.models import Service
from tests.conftest import screenshot
from tests.factories import proxy_number

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAIR_ROUTER = "tests.simulator.routers.PairRouter"


def phone(page, name):
    return page.locator(".sim-phone", has=page.locator(".sim-name", has_text=name))


def send_text(page, name, text, to=None):
    column = phone(page, name)
    if to:
        column.locator("select[name=to]").select_option(to)
    column.locator("input[name=text]").fill(text)
    column.locator("button.sim-send").click()


def test_a_text_and_a_call_reach_the_other_phone_without_a_reload(admin_page, settings):
    settings.MASKED_NUMBERS_ROUTERS = {"rides": PAIR_ROUTER, "conversations": PAIR_ROUTER}
    number = proxy_number(number="+14155550100", service=Service.RIDES).number
    page = admin_page
    page.goto(f"{page.base_url}/simulator/")
    send_text(page, "Carla", "Where are you?", to=number)
    dana = phone(page, "Dana")
    dana.locator(".sim-theirs .sim-body", has_text="Where are you?").wait_for()
    assert "+14155550120" not in dana.locator(".sim-thread").inner_text()
    assert number in dana.locator(".sim-thread").inner_text()

    phone(page, "Carla").locator("button.sim-call").click()
    status = phone(page, "Carla").locator(".sim-status")
    status.filter(has_text="Call transferred to Dana Driver").wait_for()
    assert number in status.inner_text()
    dana.locator(".sim-ringing", has_text=f"Incoming call from {number}").wait_for()
    screenshot(page, "simulator-pair")


def test_admin_index_shows_the_pool_at_a_glance(admin_page, settings):
    settings.MASKED_NUMBERS_ROUTERS = {"rides": PAIR_ROUTER, "conversations": PAIR_ROUTER}
    call_command("seed_demo")
    call_command("simulate_sms", "--sender", "+14155550120", "--to", "+14155550100", "hello")
    page = admin_page
    page.goto(f"{page.base_url}/admin/")
    rides = page.locator(".pool-card[data-service=rides]")
    assert rides.locator(".pool-numbers").inner_text() == "3"
    assert rides.locator(".pool-received").inner_text() == "1"
    assert page.locator(".pool-chart svg rect.pool-in").count() == 1
    screenshot(page, "admin-dashboard")
