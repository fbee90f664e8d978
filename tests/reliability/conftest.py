from __future__ import annotations

import json
from collections import Counter

import pytest
import responses
from django.conf import settings as django_settings
from django.core.handlers.base import BaseHandler

from providers.models import Service
from tests import factories

from .pairs import make_pairs
from .vendor import Ledger, messagebird_request_params

PAIR_ROUTER = "tests.reliability.router.PairRouter"
MESSAGEBIRD_API = django_settings.MASKED_NUMBERS_PROVIDERS["messagebird"]["OPTIONS"]["api_url"]


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


@pytest.fixture
def tw_proxy(db):
    return factories.proxy_number(number="+12065550103", provider="twilio")


@pytest.fixture
def bird_proxy(db):
    return factories.proxy_number(number="+12065550104", provider="bird", voice=False)


requires_postgres = pytest.mark.skipif(
    "postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
    reason="needs PostgreSQL (concurrent writers)",
)


@pytest.fixture
def messagebird_api(mocked_responses) -> Ledger:
    """The MessageBird REST API of the test settings, accepting every message."""

    def accept(request):
        return 201, {}, json.dumps(ledger.accept(messagebird_request_params(request.body)))

    ledger = Ledger()
    mocked_responses.add_callback(responses.POST, f"{MESSAGEBIRD_API}/messages", callback=accept)
    return ledger


def pytest_collection_modifyitems(config, items):
    """Process-level runs only when asked for by marker (`-m slow`, as make reliability
    does): another `-m` given to `make test` replaces the `not slow` of addopts."""
    if "slow" in (config.option.markexpr or ""):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


# Answers the fuzzers got, over the run: printed at its end (`make reliability`).
FUZZ_ANSWERS: Counter[str] = Counter()


@pytest.fixture
def count_answers(monkeypatch):
    """Count every request Django answers in this test and its 5xx answers (the test
    client and the WSGI app schemathesis calls both go through get_response)."""
    original = BaseHandler.get_response

    def counted(handler, request):
        response = original(handler, request)
        FUZZ_ANSWERS["requests"] += 1
        FUZZ_ANSWERS["5xx"] += response.status_code >= 500
        return response

    monkeypatch.setattr(BaseHandler, "get_response", counted)


def pytest_terminal_summary(terminalreporter):
    if FUZZ_ANSWERS["requests"]:
        terminalreporter.write_line(
            f"fuzzing: {FUZZ_ANSWERS['requests']} requests, "
            f"{FUZZ_ANSWERS['5xx']} answered with a 5xx"
        )
