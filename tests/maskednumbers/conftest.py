from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def pair_router(settings):
    """A stand-in router with one open session: the dashboard shows what routers report."""
    router = "tests.simulator.routers.PairRouter"
    settings.MASKED_NUMBERS_ROUTERS = {"rides": router, "conversations": router}
