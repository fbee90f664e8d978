"""Boundary types between vendors, the telephony layer and the service routers.

Numbers are E.164 everywhere. Inbound events keep the raw vendor payload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

# PostgreSQL text cannot hold NUL, and no database driver can encode a lone surrogate
# (JSON's "\ud800" decodes to one): both would turn a vendor's message into a 500.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(value: str) -> str:
    """Text from outside with NUL dropped and lone surrogates replaced by U+FFFD."""
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)


class _Storable:
    """Frozen inbound events clean their free-text fields once, whoever builds them."""

    _text_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in self._text_fields:
            object.__setattr__(self, name, storable_text(getattr(self, name)))


@dataclass(frozen=True)
class InboundSms(_Storable):
    _text_fields = ("text", "vendor_id")

    provider: str
    sender: str
    recipient: str
    text: str
    vendor_id: str
    raw: Any = field(default=None, compare=False, repr=False)
    # The request's one-time id (a MessageBird signature's jti), if the vendor sends
    # one: written with the event's log row, and a request that repeats it is refused.
    nonce: str = field(default="", compare=False)


@dataclass(frozen=True)
class InboundCall(_Storable):
    _text_fields = ("vendor_id",)

    provider: str
    caller: str
    recipient: str
    vendor_id: str = ""
    raw: Any = field(default=None, compare=False, repr=False)
    nonce: str = field(default="", compare=False)  # as InboundSms.nonce


@dataclass(frozen=True)
class DeliveryReceipt(_Storable):
    """A vendor's report on an outbound SMS, in our words (providers/receipts.py).

    The message is named by our `reference` (its id, where the vendor echoes one back)
    and/or the vendor's message id. `status` is ours: sent, delivered, undelivered or
    failed; `vendor_status`, `error_code` and `error_description` are the vendor's
    words, kept. `at` is when the vendor says it happened (None: not said).
    """

    _text_fields = ("vendor_id", "reference", "vendor_status", "error_code", "error_description")

    provider: str
    status: str
    vendor_status: str
    vendor_id: str = ""
    reference: str = ""
    error_code: str = ""
    error_description: str = ""
    at: datetime | None = None
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
    # A reply to someone who is no party (usage, HELP, unknown sender, JOIN errors):
    # bounded per sender, per number and by destination (providers.replies).
    system: bool = False
    # A system reply not sent again to the same person within this time (same outcome).
    once_per: timedelta | None = None


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
