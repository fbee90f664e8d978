"""Texting a pool number as a person would, through the inbound path (console vendor)."""

from __future__ import annotations

import itertools

from django.test import TestCase

from providers.backends import console
from providers.inbound import inbound_sms_receive
from providers.models import Message
from providers.types import InboundSms

_ids = itertools.count(1)


def text(sender: str, body: str, *, to: str) -> Message:
    """Text `to` from `sender`; what it queues is delivered (console) before it returns."""
    event = InboundSms(
        provider="console", sender=sender, recipient=to, text=body, vendor_id=f"t{next(_ids)}"
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        return inbound_sms_receive(inbound=event).message


def delivered_to(phone: str) -> list[str]:
    """What the console vendor was handed for this person, oldest first."""
    return [sent["body"] for sent in console.outbox if sent["to"] == phone]
