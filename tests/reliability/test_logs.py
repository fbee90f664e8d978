"""Secrets and full phone numbers never reach the logs at INFO and above.

A whole day's worth of traffic kinds goes through the real webhooks and the delivery
path, with the vendor failing in every way, while every record at INFO and above is
captured; then nothing in them may carry a number, a body or a secret.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import pytest
import requests
import responses
from django.conf import settings as django_settings

from providers.models import Message
from providers.outbox import message_deliver, message_queue
from tests.signing import FLOWROUTE_WEBHOOK_TOKEN, MESSAGEBIRD_SIGNING_KEY, messagebird_signature

from .conftest import MESSAGEBIRD_API

pytestmark = pytest.mark.django_db

SENDER, PARTNER, STRANGER = "+12065552000", "+12065553000", "+12065559999"
SECRET_TEXT = "meet me at the blue door"
FLOWROUTE_API = django_settings.MASKED_NUMBERS_PROVIDERS["flowroute"]["OPTIONS"]["api_url"]


def _leaks(records: list[logging.LogRecord], *, secrets: list[str]) -> list[str]:
    found = []
    for record in records:
        if record.levelno < logging.INFO:
            continue
        text = record.getMessage() + (
            logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        )
        found += [f"{record.name}: {secret!r} in {text!r}" for secret in secrets if secret in text]
    return found


def _numbers(*e164: str) -> list[str]:
    # As E.164 and as vendors write them (no +); the national part alone too.
    return [form for n in e164 for form in (n, n[1:], n[2:])]


def test_no_number_body_or_secret_is_logged_at_info(
    client, caplog, pairs, mb_proxy, fr_proxy, mocked_responses
):
    caplog.set_level(logging.DEBUG)
    mocked_responses.add(
        responses.POST,
        f"{MESSAGEBIRD_API}/messages",
        json={"id": "mb-out-1", "recipients": {"items": []}},
        status=201,
    )
    sms = "/webhooks/messagebird/sms/"
    for sender, vendor_id in [(SENDER, "m1"), (STRANGER, "m2"), (SENDER, "m1")]:
        body = urlencode(
            {
                "originator": sender[1:],
                "recipient": "12065550100",
                "payload": SECRET_TEXT,
                "id": vendor_id,
            }
        ).encode()
        signature = messagebird_signature(url=f"http://testserver{sms}", body=body)
        client.generic(
            "POST",
            sms,
            body,
            "application/x-www-form-urlencoded",
            headers={"MessageBird-Signature-JWT": signature},
        )
    # Refused: bad signature, a good signature over an unreadable body.
    client.generic(
        "POST",
        sms,
        b"originator=1",
        "application/x-www-form-urlencoded",
        headers={"MessageBird-Signature-JWT": "bad"},
    )
    bad = b"originator=12065552000&recipient=nope&payload=x"
    client.generic(
        "POST",
        sms,
        bad,
        "application/x-www-form-urlencoded",
        headers={
            "MessageBird-Signature-JWT": messagebird_signature(
                url=f"http://testserver{sms}", body=bad
            )
        },
    )
    # Flowroute: the right token with a bad body, a wrong token, an unknown alias.
    client.generic(
        "POST", f"/webhooks/flowroute/sms/{FLOWROUTE_WEBHOOK_TOKEN}/", b"{", "application/json"
    )
    client.generic("POST", "/webhooks/flowroute/sms/guess/", b"{}", "application/json")
    client.generic(
        "POST", f"/webhooks/nope/sms/{FLOWROUTE_WEBHOOK_TOKEN}/", b"{}", "application/json"
    )
    # Calls: known and unknown callers.
    for caller in (SENDER, STRANGER):
        path = "/webhooks/messagebird/voice/?" + urlencode(
            {"source": caller[1:], "destination": "12065550100", "callID": f"c-{caller}"}
        )
        client.get(
            path,
            headers={
                "MessageBird-Signature-JWT": messagebird_signature(url=f"http://testserver{path}")
            },
        )
    # Delivery: accepted, a transport error, a refusal echoing the number, a broken answer.
    for message in Message.objects.filter(direction="out"):
        message_deliver(message_id=message.pk)
    mocked_responses.replace(
        responses.POST,
        f"{MESSAGEBIRD_API}/messages",
        body=requests.ConnectionError(f"refused {PARTNER}"),
    )
    message_deliver(
        message_id=message_queue(proxy=mb_proxy, recipient=PARTNER, body=SECRET_TEXT).pk
    )
    mocked_responses.add(
        responses.POST,
        f"{FLOWROUTE_API}/messages",
        status=400,
        json={"errors": [{"detail": f"invalid to number {PARTNER[1:]}: {SECRET_TEXT}"}]},
    )
    message_deliver(
        message_id=message_queue(proxy=fr_proxy, recipient=PARTNER, body=SECRET_TEXT).pk
    )
    mocked_responses.replace(
        responses.POST, f"{MESSAGEBIRD_API}/messages", body=f"<html>{PARTNER}</html>", status=200
    )
    message_deliver(
        message_id=message_queue(proxy=mb_proxy, recipient=PARTNER, body=SECRET_TEXT).pk
    )

    secrets = [
        *_numbers(SENDER, PARTNER, STRANGER),
        SECRET_TEXT,
        MESSAGEBIRD_SIGNING_KEY,
        FLOWROUTE_WEBHOOK_TOKEN,
        django_settings.MASKED_NUMBERS_PROVIDERS["messagebird"]["OPTIONS"]["access_key"],
        django_settings.MASKED_NUMBERS_PROVIDERS["flowroute"]["OPTIONS"]["secret_key"],
    ]
    records = caplog.records
    assert any(r.levelno >= logging.WARNING for r in records), "the failures were logged"
    assert _leaks(records, secrets=secrets) == []
