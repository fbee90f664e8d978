"""Vendor transports and webhooks for the rides tests, as the vendors speak them."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
import responses

from tests.signing import FLOWROUTE_WEBHOOK_TOKEN, messagebird_signature

MESSAGEBIRD_MESSAGES = "https://rest.messagebird.test/messages"
FLOWROUTE_MESSAGES = "https://api.flowroute.test/v2.1/messages"


@pytest.fixture
def vendor_apis(mocked_responses):
    """MessageBird and Flowroute accept every SMS; `sent(vendor)` lists what they got."""
    mocked_responses.add(responses.POST, MESSAGEBIRD_MESSAGES, json={"id": "mb-out-1"}, status=201)
    mocked_responses.add(
        responses.POST, FLOWROUTE_MESSAGES, json={"data": {"id": "mdr2-out-1"}}, status=202
    )

    def sent(vendor: str) -> list[dict]:
        url = {"messagebird": MESSAGEBIRD_MESSAGES, "flowroute": FLOWROUTE_MESSAGES}[vendor]
        return [
            json.loads(call.request.body)
            for call in mocked_responses.calls
            if call.request.url == url
        ]

    mocked_responses.sent = sent
    return mocked_responses


def post_messagebird_sms(client, fields: dict, *, as_json: bool = False):
    url = "http://testserver/webhooks/messagebird/sms/"
    if as_json:
        body, content_type = json.dumps(fields).encode(), "application/json"
    else:
        body, content_type = urlencode(fields).encode(), "application/x-www-form-urlencoded"
    return client.post(
        url,
        data=body,
        content_type=content_type,
        HTTP_MESSAGEBIRD_SIGNATURE_JWT=messagebird_signature(url=url, body=body),
    )


def get_messagebird_call(client, *, source: str, destination: str, call_id: str = "call-1"):
    query = urlencode({"source": source, "destination": destination, "callID": call_id})
    url = f"http://testserver/webhooks/messagebird/voice/?{query}"
    return client.get(url, HTTP_MESSAGEBIRD_SIGNATURE_JWT=messagebird_signature(url=url))


def post_flowroute_sms(client, payload: dict):
    return client.post(
        f"/webhooks/flowroute/sms/{FLOWROUTE_WEBHOOK_TOKEN}/",
        data=json.dumps(payload),
        content_type="application/json",
    )
