"""Recorded vendor payloads and the vendor answers the tests play back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

MESSAGEBIRD_MESSAGES_URL = "https://rest.messagebird.test/messages"
FLOWROUTE_MESSAGES_URL = "https://api.flowroute.test/v2.1/messages"
TWILIO_ACCOUNT_SID = "AC00000000000000000000000000000001"
TWILIO_MESSAGES_URL = (
    f"https://api.twilio.test/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json"
)
BIRD_MESSAGES_URL = "https://api.bird.test/v1/sms/messages"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def messagebird_accepts(rsps, *, status: int = 201) -> None:
    rsps.post(
        MESSAGEBIRD_MESSAGES_URL, json=fixture_json("messagebird/sms_sent.json"), status=status
    )


def flowroute_accepts(rsps, *, status: int = 202) -> None:
    rsps.post(FLOWROUTE_MESSAGES_URL, json=fixture_json("flowroute/sms_sent.json"), status=status)


def twilio_accepts(rsps, *, status: int = 201) -> None:
    rsps.post(TWILIO_MESSAGES_URL, json=fixture_json("twilio/sms_sent.json"), status=status)


def bird_accepts(rsps, *, status: int = 202) -> None:
    rsps.post(BIRD_MESSAGES_URL, json=fixture_json("bird/sms_sent.json"), status=status)


def set_provider_options(settings, alias: str, **options: Any) -> None:
    """Change some OPTIONS of one configured provider for this test (pytest `settings`)."""
    providers = dict(settings.MASKED_NUMBERS_PROVIDERS)
    config = providers[alias]
    providers[alias] = {**config, "OPTIONS": {**config.get("OPTIONS", {}), **options}}
    settings.MASKED_NUMBERS_PROVIDERS = providers
