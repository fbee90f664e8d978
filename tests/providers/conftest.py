from __future__ import annotations

import pytest

from tests.factories import proxy_number

ECHO = "tests.providers.routers.EchoRouter"


@pytest.fixture(autouse=True)
def _echo_router(settings):
    settings.MASKED_NUMBERS_ROUTERS = {"rides": ECHO, "conversations": ECHO}


@pytest.fixture
def mb_proxy(db):
    """The MessageBird number the recorded MessageBird payloads were sent to."""
    return proxy_number(number="+14155550100", provider="messagebird")


@pytest.fixture
def fr_proxy(db):
    """The Flowroute number the recorded Flowroute payloads were sent to (SMS only)."""
    return proxy_number(number="+12065550150", provider="flowroute", voice=False)
