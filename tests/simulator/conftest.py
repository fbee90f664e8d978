from __future__ import annotations

import pytest

from providers.models import Service
from tests.factories import proxy_number

PAIR_ROUTER = "tests.simulator.routers.PairRouter"


@pytest.fixture(autouse=True)
def pair_router(settings):
    settings.MASKED_NUMBERS_ROUTERS = {"rides": PAIR_ROUTER, "conversations": PAIR_ROUTER}


@pytest.fixture
def rides_number(db):
    return proxy_number(number="+14155550100", service=Service.RIDES)


@pytest.fixture
def sms_only_number(db):
    return proxy_number(number="+14155550111", service=Service.CONVERSATIONS, voice=False)


@pytest.fixture
def people(db):
    """The two phones of the test router as a customer and a driver."""
    from rides.services import customer_upsert, driver_upsert

    from .routers import ALICE, BOB

    return customer_upsert(name="Carla Customer", phone=ALICE), driver_upsert(
        name="Dana Driver", phone=BOB
    )
