"""Providers and routers by name, as configured in settings (no autodiscovery)."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from .backends.base import BaseProvider
from .exceptions import ProviderNotConfigured
from .routing import BaseRouter


def get_provider(alias: str) -> BaseProvider:
    return _provider(alias, _config_key(alias))


def _config_key(alias: str) -> str:
    config = settings.MASKED_NUMBERS_PROVIDERS.get(alias)
    if config is None:
        raise ProviderNotConfigured(f"provider {alias!r} is not configured")
    return repr(sorted(config.items()))


@cache
def _provider(alias: str, _key: str) -> BaseProvider:
    # Cached per configuration, so tests overriding settings get a fresh instance.
    config = settings.MASKED_NUMBERS_PROVIDERS[alias]
    return import_string(config["BACKEND"])(alias=alias, **config.get("OPTIONS", {}))


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
