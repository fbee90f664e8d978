"""Staff find an opt-out in the admin: filtered by pool number, searched by number."""

from __future__ import annotations

import pytest

from tests import factories
from tests.texting import text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_find_who_opted_out_of_a_number(admin_page):
    first = factories.proxy_number(number="+12065550100")
    second = factories.proxy_number(number="+12065550177")
    text("+14155550123", "STOP", to=first.number)
    text("+14155550456", "Unsubscribe!", to=second.number)
    text("+14155550789", "stop", to=first.number)

    page = admin_page
    page.goto(f"{page.base_url}/admin/providers/optout/")
    assert page.locator("#result_list tbody tr").count() == 3
    page.click(f"#changelist-filter a:has-text('{second.number}')")
    rows = page.locator("#result_list tbody")
    assert rows.locator("tr").count() == 1
    assert "Unsubscribe!" in rows.inner_text()

    page.goto(f"{page.base_url}/admin/providers/optout/")
    page.fill("#searchbar", "(415) 555-0789")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=*")
    assert page.locator("#result_list tbody tr").count() == 1
    assert first.number in page.locator("#result_list tbody").inner_text()
    assert page.locator("input[name=_save]").count() == 0
