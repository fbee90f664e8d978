"""Staff in a real browser: adding a number, ending masking after its confirmation,
a message as staff without the full-numbers permission see it, and the columns a
staff member needs on screen at 1366 px."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from conversations.services import conversation_sms_receive
from providers.models import Message, ProxyNumber
from rides.models import Ride, RideStatus
from tests import factories
from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1366, "height": 800}


def test_staff_add_a_number_to_the_pool(admin_page):
    page = admin_page
    page.goto(f"{page.base_url}/admin/providers/proxynumber/add/")
    page.fill("#id_number", "(415) 555-0109")
    page.select_option("#id_provider", "console")
    page.select_option("#id_service", "rides")
    page.click("input[name=_save]")

    assert "was added successfully" in page.locator(".messagelist .success").inner_text()
    assert "+14155550109" in page.locator("#result_list").inner_text()
    assert ProxyNumber.objects.get(number="+14155550109").country == "US"


def test_staff_end_masking_from_the_ride_page_after_confirming(admin_page):
    ride = factories.ride(proxy=factories.proxy_number(number="+14155550100"))
    page = admin_page
    page.goto(f"{page.base_url}/admin/rides/ride/{ride.pk}/change/")
    assert page.locator("input[name=_save]").count() == 0
    page.click("a.object-action:has-text('End masking')")

    assert "End masking now for these rides?" in page.locator("#content").inner_text()
    ride.refresh_from_db()
    assert ride.status == RideStatus.OPEN
    screenshot(page, "admin-end-masking-confirmation")
    page.click("input[type=submit][value^='Yes']")

    assert "Masking ended for 1 ride(s)." in page.locator(".messagelist").inner_text()
    ride.refresh_from_db()
    assert ride.status == RideStatus.CLOSED


def test_staff_without_the_permission_see_a_message_masked(page, masked_staff):
    factories.proxy_number(number="+14155550100")
    ride = factories.ride(customer=factories.customer(phone="+14155550123"), notify=True)
    message = Message.objects.filter(session=ride.session, recipient="+14155550123").get()
    page.goto(f"{page.base_url}/admin/login/")
    page.fill("#id_username", "masked")
    page.fill("#id_password", "pw-masked-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"{page.base_url}/admin/")

    page.goto(f"{page.base_url}/admin/providers/message/{message.pk}/change/")
    content = page.locator("#content").inner_text()
    assert "+14*******23" in content and "+14155550123" not in content
    assert "(text hidden)" in content and message.body not in content
    assert "+14155550100" in content  # the pool's own number, in full
    assert page.locator("input[name=_save]").count() == 0
    screenshot(page, "admin-message-masked")


@pytest.fixture
def busy_demo():
    """The demo data with a conversation and traffic, so every list has rows."""
    call_command("seed_demo", verbosity=0)
    proxy = ProxyNumber.objects.get(number="+14155550110")
    conversation_sms_receive(proxy=proxy, sender="+14155550140", text="START")
    assert Ride.objects.exists() and Message.objects.exists()


@pytest.mark.parametrize(
    ("path", "columns"),
    [
        (
            "/admin/providers/message/",
            ["what", "shown_from", "shown_to", "status", "outcome", "session_link"],
        ),
        (
            "/admin/rides/ride/",
            ["customer", "driver", "start", "destination", "pickup", "status", "masking_ends"],
        ),
        (
            "/admin/conversations/conversation/",
            ["code", "pool_number", "state", "parties", "last_activity"],
        ),
        (
            "/admin/providers/proxynumber/",
            ["number", "service", "provider", "active", "open_sessions"],
        ),
    ],
)
def test_the_columns_staff_need_fit_a_1366_px_screen(admin_page, busy_demo, path, columns):
    page = admin_page
    page.set_viewport_size(LAPTOP)
    page.goto(f"{page.base_url}{path}")
    # The list scrolls sideways inside its box: a column must fit the box, not the page.
    shown = page.locator("#changelist-form .results").bounding_box()
    for column in columns:
        box = page.locator(f"#result_list thead th.column-{column}").bounding_box()
        assert box is not None, column
        right = box["x"] + box["width"]
        assert right <= LAPTOP["width"] and right <= shown["x"] + shown["width"] + 1, column
    screenshot(page, "admin-" + path.strip("/").split("/")[-1])
    for status in page.locator("#result_list td.field-status").all():
        assert lines_of(status) == 1, status.inner_text()


def lines_of(cell) -> int:
    """How many lines the text of a table cell is broken into."""
    return cell.evaluate(
        """cell => {
            const range = document.createRange();
            range.selectNodeContents(cell);
            return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size;
        }"""
    )
