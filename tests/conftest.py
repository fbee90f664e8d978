from __future__ import annotations

import pytest
import responses as responses_lib

from providers.backends import console


@pytest.fixture(autouse=True)
def _clean_console_outbox():
    console.outbox.clear()
    yield
    console.outbox.clear()


@pytest.fixture
def mocked_responses():
    """Outbound HTTP intercepted at the transport; an unexpected request fails the test."""
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps
