"""Providers and routers by name, as configured in settings (no autodiscovery)."""

from __future__ import annotations

import copy
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from .backends.base import BaseProvider
from .exceptions import ProviderNotConfigured
from .routing import BaseRouter

# alias -> (the configuration it was made from, as it was then; the provider)
_providers: dict[str, tuple[dict, BaseProvider]] = {}


def get_provider(alias: str) -> BaseProvider:
    """The provider configured as `alias`, made once per configuration: a changed
    configuration (tests overriding settings) gets a new instance. Every text and call
    asks, so the check is one comparison of the configuration with a copy of it."""
    config = settings.MASKED_NUMBERS_PROVIDERS.get(alias)
    if config is None:
        raise ProviderNotConfigured(f"provider {alias!r} is not configured")
    made = _providers.get(alias)
    if made is None or made[0] != config:
        provider = import_string(config["BACKEND"])(alias=alias, **config.get("OPTIONS", {}))
        made = _providers[alias] = (copy.deepcopy(config), provider)
    return made[1]


def provider_aliases() -> list[str]:
    return list(settings.MASKED_NUMBERS_PROVIDERS)


def get_router(service: str) -> BaseRouter:
    path = settings.MASKED_NUMBERS_ROUTERS.get(service)
    if path is None:
        raise ProviderNotConfigured(f"no router for service {service!r}")
    return _router(path)


@cache
def _router(path: str) -> BaseRouter:
    return import_string(path)()
