"""System checks: production must not run with webhooks nobody can authenticate."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from tests.providers.vendors import set_provider_options

# Django's model checks may query the database once a connection exists.
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development(settings):
    # pytest-django turns DEBUG off; these tests say when they want production.
    settings.DEBUG = True


def provider_problems() -> dict[str, str]:
    return {p.msg: p.id for p in run_checks() if p.id and p.id.startswith("providers.")}


def without_console(settings) -> None:
    settings.MASKED_NUMBERS_PROVIDERS = {
        alias: config
        for alias, config in settings.MASKED_NUMBERS_PROVIDERS.items()
        if alias != "console"
    }


def test_missing_webhook_secrets_are_errors_with_debug_off(settings):
    settings.DEBUG = False
    without_console(settings)
    set_provider_options(settings, "messagebird", signing_key="")
    set_provider_options(settings, "flowroute", webhook_token="")
    set_provider_options(settings, "bird", webhook_secret="")

    problems = provider_problems()

    assert problems == {
        "provider 'messagebird': MESSAGEBIRD_SIGNING_KEY is not set: "
        "every MessageBird webhook is refused.": "providers.E002",
        "provider 'flowroute': FLOWROUTE_WEBHOOK_TOKEN is not set: "
        "every Flowroute callback is refused.": "providers.E002",
        "provider 'twilio': MASKED_NUMBERS_PUBLIC_URL is not set: Twilio signs the public "
        "URL it calls, so no Twilio webhook can be verified.": "providers.E002",
        "provider 'bird': BIRD_WEBHOOK_SECRET is not set: "
        "every Bird webhook is refused.": "providers.E002",
    }


def test_a_bird_secret_that_is_not_a_signing_secret_is_an_error_with_debug_off(settings):
    settings.DEBUG = False
    without_console(settings)
    set_provider_options(settings, "twilio", public_url="https://sms.example.com")
    set_provider_options(settings, "bird", webhook_secret="whsec_")

    assert provider_problems() == {
        "provider 'bird': BIRD_WEBHOOK_SECRET is not a webhook signing secret "
        "(whsec_<base64>).": "providers.E002"
    }


def test_a_bird_platform_key_given_to_the_legacy_backend_points_to_bird(settings):
    set_provider_options(settings, "messagebird", access_key="bk_us1_abcdef")

    [problem] = [p for p in run_checks() if p.id == "providers.E003"]
    assert "BIRD_API_KEY" in problem.hint
    assert "bk_" in problem.msg


def test_configured_secrets_pass_the_checks_with_debug_off(settings):
    settings.DEBUG = False
    without_console(settings)
    set_provider_options(settings, "twilio", public_url="https://sms.example.com")

    assert provider_problems() == {}


def test_missing_secrets_are_tolerated_in_development(settings):
    settings.DEBUG = True
    set_provider_options(settings, "messagebird", signing_key="")

    assert provider_problems() == {}


def test_a_provider_that_cannot_be_loaded_is_an_error(settings):
    settings.MASKED_NUMBERS_PROVIDERS = {
        **settings.MASKED_NUMBERS_PROVIDERS,
        "broken": {"BACKEND": "providers.backends.nowhere.Provider"},
    }

    assert list(provider_problems().values()) == ["providers.E001"]


def test_no_provider_at_all_is_a_warning(settings):
    settings.MASKED_NUMBERS_PROVIDERS = {}

    assert list(provider_problems().values()) == ["providers.W001"]


@pytest.mark.parametrize("alias", ["messagebird", "flowroute", "twilio", "bird"])
def test_unknown_backend_options_are_reported(settings, alias):
    set_provider_options(settings, alias, colour="blue")

    assert list(provider_problems().values()) == ["providers.E001"]


def test_console_provider_in_production_is_a_warning(settings):
    settings.DEBUG = False
    set_provider_options(settings, "twilio", public_url="https://sms.example.com")
    assert "console" in settings.MASKED_NUMBERS_PROVIDERS

    assert list(provider_problems().values()) == ["providers.W002"]
