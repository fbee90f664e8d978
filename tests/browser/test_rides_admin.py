from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from providers.backends import console
from rides.models import Ride
from tests import factories
from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def pick(page, field: str, name: str) -> None:
    """Choose a person in the admin's autocomplete box, as staff do: type, then select."""
    page.click(f"#id_{field} + .select2 .select2-selection")
    page.fill(".select2-container--open .select2-search__field", name)
    page.click(f".select2-results__option:has-text('{name}')")


def test_staff_create_a_ride_and_see_both_notifications_in_its_log(admin_page):
    factories.proxy_number(number="+14155550100")
    factories.customer(name="Alice Rider", phone="+14155550123")
    factories.driver(name="Bob Driver", phone="+16505550199")
    pickup = timezone.localtime(timezone.now() + timedelta(hours=2))

    admin_page.goto(f"{admin_page.base_url}/admin/rides/ride/add/")
    pick(admin_page, "customer", "Alice Rider")
    pick(admin_page, "driver", "Bob Driver")
    admin_page.fill("#id_start", "Central Station")
    admin_page.fill("#id_destination", "Airport, terminal 2")
    admin_page.fill("#id_pickup_at_0", pickup.strftime("%Y-%m-%d"))
    admin_page.fill("#id_pickup_at_1", pickup.strftime("%H:%M:%S"))
    admin_page.click("input[name=_save]")

    success = admin_page.locator(".messagelist .success").first
    assert "+14155550100" in success.inner_text()
    ride = Ride.objects.get()
    admin_page.goto(f"{admin_page.base_url}/admin/rides/ride/{ride.pk}/change/")
    log = admin_page.locator("table.ride-log")
    text = log.inner_text()
    assert "Bob Driver will pick you up at" in text
    assert "Alice Rider will wait for you at" in text
    assert text.count("Sent") == 2
    assert sorted(sms["to"] for sms in console.outbox) == ["+14155550123", "+16505550199"]
    screenshot(admin_page, "admin-ride-created")


def test_staff_see_why_no_number_could_be_allocated(admin_page):
    alice = factories.customer(name="Alice Rider")
    factories.driver(name="Bob Driver")
    factories.ride(customer=alice, proxy=factories.proxy_number())

    admin_page.goto(f"{admin_page.base_url}/admin/rides/ride/add/")
    pick(admin_page, "customer", "Alice Rider")
    pick(admin_page, "driver", "Bob Driver")
    admin_page.fill("#id_start", "Central Station")
    admin_page.fill("#id_destination", "Airport")
    pickup = timezone.localtime(timezone.now() + timedelta(hours=2))
    admin_page.fill("#id_pickup_at_0", pickup.strftime("%Y-%m-%d"))
    admin_page.fill("#id_pickup_at_1", pickup.strftime("%H:%M:%S"))
    admin_page.click("input[name=_save]")

    error = admin_page.locator(".errorlist.nonfield").inner_text()
    assert "Alice Rider or Bob Driver" in error and "Add numbers to the pool" in error
    assert Ride.objects.count() == 1
