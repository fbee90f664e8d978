from __future__ import annotations

import pytest

from tests.conftest import screenshot
from tests.factories import proxy_number

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_log_in_and_see_the_number_pool(admin_page):
    proxy_number(number="+14155550100")
    admin_page.goto(f"{admin_page.base_url}/admin/providers/proxynumber/")
    assert admin_page.locator("#result_list").inner_text().count("+14155550100") == 1
    screenshot(admin_page, "admin-number-pool")
