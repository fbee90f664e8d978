from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning, register

from .registry import get_provider


@register(deploy=False)
def check_providers(app_configs=None, **kwargs) -> list:
    problems: list = []
    for alias in settings.MASKED_NUMBERS_PROVIDERS:
        try:
            provider = get_provider(alias)
        except Exception as err:  # noqa: BLE001 - reported, not raised
            problems.append(
                Error(f"provider {alias!r} cannot be loaded: {err}", id="providers.E001")
            )
            continue
        if not settings.DEBUG and provider.name == "console":
            problems.append(
                Warning(
                    f"provider {alias!r} is the console provider and DEBUG is off",
                    hint=(
                        "It sends nothing, and its webhooks trust any request from 127.0.0.1, "
                        "which includes everything a reverse proxy on this host forwards. "
                        "Unset MASKED_NUMBERS_CONSOLE in production."
                    ),
                    id="providers.W002",
                )
            )
        if not settings.DEBUG:
            for message in provider.check():
                problems.append(
                    Error(
                        f"provider {alias!r}: {message}",
                        hint="Set it in the environment (see README: configuring vendors).",
                        id="providers.E002",
                    )
                )
    if not settings.MASKED_NUMBERS_PROVIDERS:
        problems.append(
            Warning(
                "no provider is configured: nothing can be sent",
                hint=(
                    "Set TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN, BIRD_API_KEY, "
                    "MESSAGEBIRD_ACCESS_KEY or FLOWROUTE_ACCESS_KEY/FLOWROUTE_SECRET_KEY."
                ),
                id="providers.W001",
            )
        )
    return problems


@register(deploy=False)
def check_messagebird_key_kind(app_configs=None, **kwargs) -> list:
    """A Bird platform key (`bk_…`) given to the legacy MessageBird backend: the legacy API
    answers it with 401, so nothing could be sent."""
    return [
        Error(
            f"provider {alias!r}: MESSAGEBIRD_ACCESS_KEY is a Bird platform key (bk_…), "
            "which the legacy MessageBird API refuses",
            hint="Set it as BIRD_API_KEY instead: the `bird` backend serves Bird platform keys.",
            id="providers.E003",
        )
        for alias, config in settings.MASKED_NUMBERS_PROVIDERS.items()
        if config["BACKEND"].endswith(".MessageBirdProvider")
        and str(config.get("OPTIONS", {}).get("access_key", "")).startswith("bk_")
    ]


@register(deploy=False)
def check_events_secret(app_configs=None, **kwargs) -> list:
    """Events to the platform are signed: a URL without a usable secret sends nothing."""
    from standardwebhooks import Webhook

    if not settings.MASKED_NUMBERS_EVENTS_URL:
        return []
    secret = settings.MASKED_NUMBERS_EVENTS_SECRET
    try:
        Webhook(secret)
    except Exception:  # noqa: BLE001 - empty or not base64: reported, not raised
        problem = "is not set" if not secret else "is not a whsec_<base64> secret"
        return [
            Error(
                f"MASKED_NUMBERS_EVENTS_URL is set but MASKED_NUMBERS_EVENTS_SECRET {problem}: "
                "events cannot be signed",
                hint="Set MASKED_NUMBERS_EVENTS_SECRET to the platform's whsec_… secret, or "
                "unset MASKED_NUMBERS_EVENTS_URL.",
                id="providers.E010",
            )
        ]
    return []
