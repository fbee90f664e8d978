"""Property-based fuzzing of the receipt webhooks: signed as each vendor signs, with odd
fields, a receipt is answered 200, 400 or 403 (never a 5xx), a refused one writes
nothing, and a message only ever holds one of our statuses."""

from __future__ import annotations

import json
import os
from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from providers.models import MessageStatusChange, Status
from tests import factories
from tests.providers.logs import outbound_row
from tests.reliability.test_webhook_fuzz import METACHARACTERS, json_values
from tests.signing import (
    FLOWROUTE_WEBHOOK_TOKEN,
    bird_headers,
    messagebird_signature,
    twilio_headers,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("count_answers")]

FUZZ = settings(
    max_examples=int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ANSWERS = {200, 400, 403}
OURS = {Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.FAILED}
FIELDS = {
    "messagebird": ["id", "reference", "status", "statusDatetime", "statusErrorCode"],
    "twilio": ["MessageSid", "MessageStatus", "SmsStatus", "ErrorCode", "ErrorMessage", "ref"],
    "flowroute": ["status", "level", "status_code", "status_code_description", "timestamp"],
    "bird": ["sms_id", "metadata", "error", "type", "timestamp"],
}
plausible = st.sampled_from(
    ["v1", "1", "2", "delivered", "delivery_failed", "undelivered", "failed", "sms.delivered",
     "sms.failed", "2026-11-22T20:58:14Z", "2026-13-45T99:00:00", "yesterday", "", "0"]
)  # fmt: skip
form_values = st.one_of(plausible, st.text(max_size=40), st.sampled_from(METACHARACTERS))


@st.composite
def receipts(draw, vendor: str) -> dict:
    names = draw(st.lists(st.sampled_from(FIELDS[vendor]), unique=True))
    values = form_values if vendor in ("messagebird", "twilio") else plausible | json_values
    return {name: draw(values) for name in names}


def request(client, vendor: str, fields: dict, message_id: int):
    if vendor == "messagebird":
        path = "/webhooks/messagebird/receipts/?" + urlencode(fields)
        signature = messagebird_signature(url=f"http://testserver{path}")
        return client.get(path, headers={"MessageBird-Signature-JWT": signature})
    if vendor == "twilio":
        path = "/webhooks/twilio/receipts/"
        body = urlencode(fields).encode()
        params = QueryDict(body).dict()
        headers = twilio_headers(url=f"http://testserver{path}", params=params)
        form = "application/x-www-form-urlencoded"
        return client.generic("POST", path, body, content_type=form, **headers)
    if vendor == "flowroute":
        attributes = {k: v for k, v in fields.items()}
        body = json.dumps(
            {"data": {"type": "delivery_receipt", "id": "v1", "attributes": attributes}}
        )
        path = f"/webhooks/flowroute/receipts/{FLOWROUTE_WEBHOOK_TOKEN}/?ref={message_id}"
        return client.generic("POST", path, body.encode(), content_type="application/json")
    event = {"type": fields.pop("type", "sms.delivered"), "timestamp": fields.pop("timestamp", "")}
    body = json.dumps({**event, "data": fields}).encode()
    headers = bird_headers(body=body)
    return client.generic(
        "POST", "/webhooks/bird/", body, content_type="application/json", **headers
    )


def fuzz(client, vendor: str, fields: dict) -> None:
    proxy = factories.proxy_number(provider=vendor, voice=False)
    message = outbound_row(proxy, status=Status.SENT, vendor_id="v1")
    before = MessageStatusChange.objects.count()
    response = request(client, vendor, fields, message.pk)
    assert response.status_code in ANSWERS
    if response.status_code >= 400:
        assert MessageStatusChange.objects.count() == before
    message.refresh_from_db()
    assert message.status in OURS


@FUZZ
@given(fields=receipts("messagebird"))
@example(fields={"id": "v1", "status": "delivered", "statusDatetime": "2026-13-45T99:00:00"})
def test_messagebird_status_reports_never_fail(client, fields):
    fuzz(client, "messagebird", fields)


@FUZZ
@given(fields=receipts("twilio"))
@example(fields={"MessageSid": "v1", "MessageStatus": "delivered", "ref": "9" * 30})
def test_twilio_status_callbacks_never_fail(client, fields):
    fuzz(client, "twilio", fields)


@FUZZ
@given(fields=receipts("flowroute"))
@example(fields={"status": "delivered", "level": 2.5})
@example(fields={"status": ["delivered"], "level": 2})
def test_flowroute_delivery_receipts_never_fail(client, fields):
    fuzz(client, "flowroute", fields)


@FUZZ
@given(fields=receipts("bird"))
@example(fields={"sms_id": "v1", "type": "sms.failed", "error": {"code": ["x"]}})
@example(fields={"sms_id": "v1", "metadata": {"reference": 10**30}})
def test_bird_delivery_events_never_fail(client, fields):
    fuzz(client, "bird", fields)
