"""Providers are made once per configuration: the same one for every text, a new one
when the configuration changes (settings overridden, or changed in place)."""

from __future__ import annotations

import copy

import pytest

from providers.exceptions import ProviderNotConfigured
from providers.registry import get_provider


def test_the_same_configuration_gives_the_same_provider():
    assert get_provider("messagebird") is get_provider("messagebird")
    assert get_provider("messagebird") is not get_provider("flowroute")


def test_an_overridden_configuration_gives_a_new_provider(settings):
    before = get_provider("messagebird")
    providers = copy.deepcopy(settings.MASKED_NUMBERS_PROVIDERS)
    providers["messagebird"]["OPTIONS"]["public_url"] = "https://a.example"
    settings.MASKED_NUMBERS_PROVIDERS = providers
    after = get_provider("messagebird")
    assert after is not before
    assert after.public_url == "https://a.example"
    assert get_provider("messagebird") is after


def test_a_configuration_changed_in_place_gives_a_new_provider(settings):
    providers = copy.deepcopy(settings.MASKED_NUMBERS_PROVIDERS)
    settings.MASKED_NUMBERS_PROVIDERS = providers
    before = get_provider("messagebird")
    providers["messagebird"]["OPTIONS"]["public_url"] = "https://b.example"
    assert get_provider("messagebird") is not before
    assert get_provider("messagebird").public_url == "https://b.example"


def test_an_unknown_alias_is_refused_by_name():
    with pytest.raises(ProviderNotConfigured, match="'nope' is not configured"):
        get_provider("nope")
