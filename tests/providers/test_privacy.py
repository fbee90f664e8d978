"""Logs at INFO and above never carry a full phone number, a message body or a secret."""

from __future__ import annotations

import logging

import pytest

from tests.providers.vendors import MESSAGEBIRD_MESSAGES_URL, fixture_bytes
from tests.signing import FLOWROUTE_WEBHOOK_TOKEN, flowroute_callback_path, messagebird_headers

pytestmark = pytest.mark.django_db

SENDER_DIGITS = "4155550199"
TEXT = "Running 5 min late"


def logged(caplog) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)


def test_receiving_and_failing_to_deliver_logs_no_number_or_body(
    client, mb_proxy, mocked_responses, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    mocked_responses.post(
        MESSAGEBIRD_MESSAGES_URL,
        status=422,
        json={"errors": [{"code": 10, "description": "no route to 14155550199"}]},
    )
    body = fixture_bytes("messagebird/sms_inbound_form.txt")
    path = "/webhooks/messagebird/sms/"
    headers = messagebird_headers(url=f"http://testserver{path}", body=body)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.generic(
            "POST", path, body, content_type="application/x-www-form-urlencoded", **headers
        )

    assert response.status_code == 200
    text = logged(caplog)
    assert "failed after 1 attempts" in text  # the failure is logged ...
    assert SENDER_DIGITS not in text  # ... without the number the vendor quoted
    assert TEXT not in text


def test_refused_callbacks_do_not_log_the_webhook_token(client, fr_proxy, caplog):
    caplog.set_level(logging.INFO)

    response = client.post(flowroute_callback_path(), b"{", content_type="application/json")

    assert response.status_code == 400
    assert "flowroute webhook refused" in logged(caplog)
    assert FLOWROUTE_WEBHOOK_TOKEN not in logged(caplog)
