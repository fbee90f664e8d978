"""Boundary types between vendors, the telephony layer and the service routers.

Numbers are E.164 everywhere. Inbound events keep the raw vendor payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class InboundSms:
    provider: str
    sender: str
    recipient: str
    text: str
    vendor_id: str
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class InboundCall:
    provider: str
    caller: str
    recipient: str
    vendor_id: str = ""
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class SentSms:
    vendor_id: str
    raw: Any = field(default=None, compare=False, repr=False)


class CallActionKind(StrEnum):
    TRANSFER = "transfer"
    SAY = "say"


@dataclass(frozen=True)
class CallAction:
    """What an inbound call does: transfer (caller ID masked as the proxy) or say."""

    kind: CallActionKind
    destination: str = ""
    text: str = ""
    # https://developers.messagebird.com/api/voice-calling/#call-flows (say step options)
    language: str = "en-GB"
    voice: str = "female"

    @classmethod
    def transfer(cls, destination: str) -> CallAction:
        return cls(kind=CallActionKind.TRANSFER, destination=destination)

    @classmethod
    def say(cls, text: str) -> CallAction:
        return cls(kind=CallActionKind.SAY, text=text)


@dataclass(frozen=True)
class OutboundSms:
    """A text a router wants sent from the proxy number."""

    recipient: str
    body: str


@dataclass(frozen=True)
class SmsDecision:
    """A router's answer to an inbound SMS.

    `session` names what the message belongs to (e.g. "ride:42"), so it can be shown
    with its ride or conversation; `outcome` is a short word for the log ("relayed",
    "replied", "unknown_sender", ...).
    """

    messages: tuple[OutboundSms, ...] = ()
    session: str = ""
    outcome: str = ""


@dataclass(frozen=True)
class CallDecision:
    action: CallAction
    session: str = ""
    outcome: str = ""
