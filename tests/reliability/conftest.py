from __future__ import annotations

import pytest

from providers.models import Service
from tests import factories

from .router import make_pairs

PAIR_ROUTER = "tests.reliability.router.PairRouter"


@pytest.fixture
def pairs(settings) -> dict[str, str]:
    """Both services routed by the pair router, with 20 fixed pairs of people."""
    settings.MASKED_NUMBERS_ROUTERS = {
        Service.RIDES: PAIR_ROUTER,
        Service.CONVERSATIONS: PAIR_ROUTER,
    }
    settings.RELIABILITY_PAIRS = make_pairs(20)
    return settings.RELIABILITY_PAIRS


@pytest.fixture
def mb_proxy(db):
    return factories.proxy_number(number="+12065550100", provider="messagebird")


@pytest.fixture
def fr_proxy(db):
    return factories.proxy_number(number="+12065550101", provider="flowroute", voice=False)


@pytest.fixture
def console_proxy(db):
    return factories.proxy_number(number="+12065550102", provider="console")
