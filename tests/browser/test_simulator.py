from __future__ import annotations

import os
import re
import shutil
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from providers.models import ProxyNumber, Service
from tests.conftest import screenshot
from tests.factories import proxy_number

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAIR_ROUTER = "tests.simulator.routers.PairRouter"
DOCS = settings.BASE_DIR / "docs"

# The demo people (simulator/demo.py).
CARLA, CEM = "+14155550120", "+14155550121"
DANA, DEV = "+14155550130", "+14155550131"
ANN, BEN = "+14155550140", "+14155550141"


@pytest.fixture
def demo():
    """The data `make run` seeds: console numbers, customers, drivers, a sample ride."""
    call_command("seed_demo", verbosity=0)


def phone(page, name):
    return page.locator(".sim-phone", has=page.locator(".sim-name", has_text=name))


def send_text(page, name, text, to=None):
    column = phone(page, name)
    if to:
        column.locator("select[name=to]").select_option(to)
    column.locator("input[name=text]").fill(text)
    column.locator("button.sim-send").click()
    # The composer empties once the service has taken the message.
    expect(column.locator("input[name=text]")).to_have_value("")


def received(page, name, text):
    """Wait until the phone shows an incoming text containing `text`; return it."""
    bubble = phone(page, name).locator(".sim-theirs .sim-body", has_text=text).last
    bubble.wait_for()
    return bubble.inner_text()


def thread_text(page, name) -> str:
    return phone(page, name).locator(".sim-thread").inner_text()


def show_phones(page, *names):
    """Pick which phones the simulator shows, with the chips at the top."""
    page.goto(f"{page.base_url}/simulator/")
    for chip in page.locator(".sim-chip").all():
        wanted = any(name in chip.inner_text() for name in names)
        chip.locator("input").set_checked(wanted)
    page.click(".sim-picker button[type=submit]")
    expect(page.locator(".sim-phone")).to_have_count(len(names))


def pick_autocomplete(page, field, text):
    page.click(f"#id_{field} + .select2 .select2-selection")
    page.fill(".select2-container--open .select2-search__field", text)
    page.click(f".select2-results__option:has-text('{text}')")


def test_staff_create_a_ride_in_the_admin_and_its_people_talk_through_its_number(admin_page, demo):
    page = admin_page
    page.goto(f"{page.base_url}/admin/rides/ride/add/")
    pick_autocomplete(page, "customer", "Cem Customer")
    pick_autocomplete(page, "driver", "Dev Driver")
    page.fill("#id_start", "Union Square")
    page.fill("#id_destination", "Golden Gate Park")
    pickup = timezone.localtime() + timedelta(hours=2)
    page.fill("#id_pickup_at_0", pickup.strftime("%Y-%m-%d"))
    page.fill("#id_pickup_at_1", pickup.strftime("%H:%M:%S"))
    page.click("input[name=_save]")
    success = page.locator(".messagelist .success", has_text="is on").inner_text()
    number = re.search(r"is on (\+\d+)", success).group(1)

    show_phones(page, "Cem Customer", "Dev Driver")
    # Both were told about the ride by the ride's number, by name only.
    assert "Dev Driver will pick you up" in received(page, "Cem", "will pick you up")
    assert "Cem Customer will wait for you" in received(page, "Dev", "will wait for you")

    send_text(page, "Cem", "I'm by the fountain, blue jacket", to=number)
    received(page, "Dev", "blue jacket")
    send_text(page, "Dev", "Two minutes away", to=number)
    received(page, "Cem", "Two minutes away")

    # Each phone only ever sees the ride's number, never the other's own number.
    assert DEV not in thread_text(page, "Cem") and number in thread_text(page, "Cem")
    assert CEM not in thread_text(page, "Dev") and number in thread_text(page, "Dev")

    phone(page, "Cem").locator("button.sim-call").click()
    status = phone(page, "Cem").locator(".sim-status")
    status.filter(has_text="Call transferred to Dev Driver").wait_for()
    assert f"their phone shows {number}" in status.inner_text()
    phone(page, "Dev").locator(".sim-ringing", has_text=f"Incoming call from {number}").wait_for()
    screenshot(page, "simulator-ride")


def test_two_strangers_start_join_talk_and_end_a_conversation(admin_page, demo):
    page = admin_page
    page.goto(f"{page.base_url}/simulator/")
    conversations = "+14155550110"
    send_text(page, "Ann", "START", to=conversations)
    code = re.search(r"Your code is (\w+)\.", received(page, "Ann", "Your code is")).group(1)

    send_text(page, "Ben", f"JOIN {code}", to=conversations)
    received(page, "Ben", "You are connected")
    received(page, "Ann", f"Someone joined with your code {code}")

    send_text(page, "Ben", "Hi Ann, it's Ben from the market")
    received(page, "Ann", "from the market")
    send_text(page, "Ann", "Hi Ben! Is the bike still for sale?")
    received(page, "Ben", "bike still for sale")
    assert BEN not in thread_text(page, "Ann") and ANN not in thread_text(page, "Ben")
    # The sample ride of the demo is there too: a ride and a conversation side by side.
    received(page, "Carla", "will pick you up")
    path = screenshot(page, "simulator")

    send_text(page, "Ann", "END")
    received(page, "Ann", "Conversation ended")
    received(page, "Ben", "The other person ended the conversation")
    _publish(path, "simulator.png")


def test_admin_index_shows_the_pool_at_a_glance(admin_page, demo):
    call_command("simulate_sms", "--sender", CARLA, "--to", "+14155550100", "Running late")
    page = admin_page
    page.goto(f"{page.base_url}/admin/")
    rides = page.locator(".pool-card[data-service=rides]")
    assert rides.locator(".pool-numbers").inner_text() == "3"
    assert rides.locator(".pool-sessions").inner_text() == "1"
    assert rides.locator(".pool-received").inner_text() == "1"
    # Two ride notifications and the relay of Carla's text.
    assert rides.locator(".pool-sent").inner_text() == "3"
    assert page.locator(".pool-chart svg rect.pool-out").count() == 1
    _publish(screenshot(page, "admin-dashboard"), "admin-dashboard.png")


def test_a_text_and_a_call_reach_the_other_phone_without_a_reload(admin_page, settings):
    """The simulator itself, with a stand-in router: no rides or conversations involved."""
    from rides.services import customer_upsert, driver_upsert

    settings.MASKED_NUMBERS_ROUTERS = {"rides": PAIR_ROUTER, "conversations": PAIR_ROUTER}
    customer_upsert(name="Carla Customer", phone=CARLA)
    driver_upsert(name="Dana Driver", phone=DANA)
    number = proxy_number(number="+14155550100", service=Service.RIDES).number
    page = admin_page
    page.goto(f"{page.base_url}/simulator/")
    send_text(page, "Carla", "Where are you?", to=number)
    assert received(page, "Dana", "Where are you?") == "Where are you?"
    assert CARLA not in thread_text(page, "Dana")

    phone(page, "Carla").locator("button.sim-call").click()
    phone(page, "Dana").locator(".sim-ringing", has_text=f"Incoming call from {number}").wait_for()


def test_the_reason_of_a_refusal_shows_under_the_composer(admin_page, demo):
    page = admin_page
    page.goto(f"{page.base_url}/simulator/")
    page.fill(".sim-add input", "+1 415 555 0199")
    page.click(".sim-picker button[type=submit]")
    # The number leaves the pool after the page was drawn.
    ProxyNumber.objects.filter(number="+14155550110").update(active=False)
    send = phone(page, "+14155550199")
    send.locator("select[name=to]").select_option("+14155550110")
    send.locator("input[name=text]").fill("hello")
    send.locator("button.sim-send").click()
    error = send.locator(".sim-status-error")
    expect(error).to_have_text("to: +14155550110 is not an active number of the pool")
    # What was typed is kept, to send again elsewhere.
    expect(send.locator("input[name=text]")).to_have_value("hello")


def _publish(path, name):
    """Refresh a README picture in docs/ when asked (UPDATE_DOCS_SCREENSHOTS=1).

    Not on every run: the pictures are committed, and a test run should leave the
    working tree as it found it.
    """
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        shutil.copyfile(path, DOCS / name)
