"""A vendor's own opt-out refusal: failed for good, recorded, never retried."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from providers.consent import is_opted_out, opt_in_record
from providers.models import Message, OptOut, Status
from providers.outbox import message_queue, message_resend, outbox_sweep
from tests.factories import proxy_number
from tests.providers.vendors import (
    BIRD_MESSAGES_URL,
    FLOWROUTE_MESSAGES_URL,
    MESSAGEBIRD_MESSAGES_URL,
    TWILIO_MESSAGES_URL,
    fixture_json,
)

pytestmark = pytest.mark.django_db

PERSON = "+14155550199"

# Each vendor's answer to a send to a person who texted STOP to the number:
# - Twilio: 400, error 21610 (https://www.twilio.com/docs/api/errors/21610).
# - Flowroute: 400 "with error code 1110" (support.flowroute.com, "How to stop unwanted
#   messages on your Flowroute number"); where the code stands is not documented.
# - Bird: the message, `rejected` with `last_error.code` "recipient_opted_out" (the
#   SDK's SMSMessage and SMSErrorCode); an error answer naming that code is read alike.
OPTED_OUT = [
    ("twilio", TWILIO_MESSAGES_URL, "twilio/sms_send_error_21610.json", 400),
    ("flowroute", FLOWROUTE_MESSAGES_URL, "flowroute/sms_send_error_opted_out.json", 400),
    (
        "flowroute",
        FLOWROUTE_MESSAGES_URL,
        "flowroute/sms_send_error_opted_out_in_detail.json",
        400,
    ),
    ("bird", BIRD_MESSAGES_URL, "bird/sms_sent_rejected_opted_out.json", 202),
    ("bird", BIRD_MESSAGES_URL, "bird/sms_send_error_opted_out.json", 422),
]


def queue(proxy, captured) -> Message:
    with captured(execute=True):
        message = message_queue(proxy=proxy, recipient=PERSON, body="hello")
    message.refresh_from_db()
    return message


@pytest.mark.parametrize(("alias", "url", "fixture", "status"), OPTED_OUT)
def test_a_vendors_opt_out_refusal_is_recorded_and_not_retried(
    mocked_responses, django_capture_on_commit_callbacks, alias, url, fixture, status
):
    proxy = proxy_number(number="+14155550100", provider=alias, voice=False)
    mocked_responses.post(url, json=fixture_json(fixture), status=status)

    message = queue(proxy, django_capture_on_commit_callbacks)
    outbox_sweep(now=timezone.now() + timedelta(hours=1))
    message.refresh_from_db()

    assert (message.status, message.attempts) == (Status.FAILED, 1)
    assert message.last_error.startswith("opted out")
    assert len(mocked_responses.calls) == 1
    assert is_opted_out(proxy=proxy, phone=PERSON)
    assert OptOut.objects.get().keyword == f"{alias}: refused"

    # Nothing more is handed to the vendor, and staff cannot send it again.
    later = queue(proxy, django_capture_on_commit_callbacks)
    assert later.status == Status.SUPPRESSED
    assert not message_resend(message=message)
    assert len(mocked_responses.calls) == 1

    # Once the person opts in, texts and re-sends go out again.
    opt_in_record(proxy=proxy, phone=PERSON)
    with django_capture_on_commit_callbacks(execute=True):
        assert message_resend(message=message)
    assert len(mocked_responses.calls) == 2


@pytest.mark.parametrize(
    ("alias", "url", "fixture", "status"),
    [
        ("flowroute", FLOWROUTE_MESSAGES_URL, "flowroute/sms_send_error.json", 403),
        ("bird", BIRD_MESSAGES_URL, "bird/sms_send_error.json", 422),
        ("twilio", TWILIO_MESSAGES_URL, "twilio/sms_send_error_21211.json", 400),
        ("messagebird", MESSAGEBIRD_MESSAGES_URL, "messagebird/sms_send_error.json", 422),
    ],
)
def test_other_refusals_record_no_opt_out(
    mocked_responses, django_capture_on_commit_callbacks, alias, url, fixture, status
):
    proxy = proxy_number(number="+14155550100", provider=alias, voice=False)
    mocked_responses.post(url, json=fixture_json(fixture), status=status)

    message = queue(proxy, django_capture_on_commit_callbacks)

    assert message.status == Status.FAILED
    assert not message.last_error.startswith("opted out")
    assert not OptOut.objects.exists()


def test_a_bird_message_rejected_for_another_reason_fails_without_an_opt_out(
    mocked_responses, django_capture_on_commit_callbacks
):
    proxy = proxy_number(number="+14155550100", provider="bird", voice=False)
    rejected = fixture_json("bird/sms_sent_rejected_opted_out.json")
    rejected["last_error"] = {**rejected["last_error"], "code": "blocked_by_carrier"}
    mocked_responses.post(BIRD_MESSAGES_URL, json=rejected, status=202)

    message = queue(proxy, django_capture_on_commit_callbacks)

    assert (message.status, message.attempts) == (Status.FAILED, 1)
    assert message.last_error.startswith("Bird refused the message: rejected blocked_by_carrier")
    assert not OptOut.objects.exists()


def test_a_flowroute_refusal_naming_another_code_records_no_opt_out(
    mocked_responses, django_capture_on_commit_callbacks
):
    proxy = proxy_number(number="+14155550100", provider="flowroute", voice=False)
    refusal = fixture_json("flowroute/sms_send_error_opted_out_in_detail.json")
    refusal["errors"][0]["detail"] = "Error 11100: the destination is not reachable"
    mocked_responses.post(FLOWROUTE_MESSAGES_URL, json=refusal, status=400)

    assert queue(proxy, django_capture_on_commit_callbacks).status == Status.FAILED
    assert not OptOut.objects.exists()
