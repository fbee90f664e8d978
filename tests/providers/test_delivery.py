"""Delivery through the outbox: retries, backoff, lost workers, staff re-sends."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone

from providers.models import Message, Status
from providers.outbox import message_deliver, message_queue, outbox_sweep
from tests.providers.logs import outbound_row
from tests.providers.vendors import (
    FLOWROUTE_MESSAGES_URL,
    MESSAGEBIRD_MESSAGES_URL,
    fixture_json,
    flowroute_accepts,
    messagebird_accepts,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(django_capture_on_commit_callbacks):
    """Queue an SMS as a router decision would, and run what happens after the commit."""

    def _queue(proxy, body: str = "hello") -> Message:
        with django_capture_on_commit_callbacks(execute=True):
            message = message_queue(proxy=proxy, recipient="+14155550199", body=body)
        message.refresh_from_db()
        return message

    return _queue


def later(hours: float = 1) -> timezone.datetime:
    return timezone.now() + timedelta(hours=hours)


def in_flight(proxy, *, lease_left: timedelta) -> Message:
    """A message a worker claimed (`sending`) whose lease ends after `lease_left`."""
    return outbound_row(
        proxy, status=Status.SENDING, attempts=1, next_attempt_at=timezone.now() + lease_left
    )


def delay_of(message: Message) -> timedelta:
    # Both are written by the same update, from the same clock reading.
    return message.next_attempt_at - message.updated_at


def test_delivery_survives_a_vendor_outage_and_sends_once(mocked_responses, queue, mb_proxy):
    for _ in range(3):
        mocked_responses.post(MESSAGEBIRD_MESSAGES_URL, status=503, body="down for maintenance")
    messagebird_accepts(mocked_responses)

    message = queue(mb_proxy)
    assert (message.status, message.attempts) == (Status.QUEUED, 1)
    assert "HTTP 503" in message.last_error
    delays = [delay_of(message)]
    for _ in range(3):
        outbox_sweep(now=later())
        message.refresh_from_db()
        if message.status == Status.QUEUED:
            delays.append(delay_of(message))

    assert message.status == Status.SENT
    assert message.attempts == 4
    assert message.vendor_id == "cd5bd37a34fb4fd9b8f5e2a3c49d1b7e"
    assert message.sent_at is not None
    assert [c.response.status_code for c in mocked_responses.calls] == [503, 503, 503, 201]
    # Exponential: 1 s, 2 s, 4 s with the test settings' 1 s base.
    assert delays == [timedelta(seconds=1), timedelta(seconds=2), timedelta(seconds=4)]
    outbox_sweep(now=later(2))
    assert len(mocked_responses.calls) == 4


def test_429_retry_after_is_honoured_in_the_backoff(mocked_responses, queue, fr_proxy):
    mocked_responses.post(FLOWROUTE_MESSAGES_URL, status=429, headers={"Retry-After": "30"})

    message = queue(fr_proxy)

    assert (message.status, message.attempts) == (Status.QUEUED, 1)
    assert delay_of(message) == timedelta(seconds=30)


def test_retry_after_longer_than_the_backoff_cap_is_capped(mocked_responses, queue, fr_proxy):
    mocked_responses.post(FLOWROUTE_MESSAGES_URL, status=429, headers={"Retry-After": "86400"})

    message = queue(fr_proxy)

    assert delay_of(message) == timedelta(seconds=60)


def test_vendor_refusal_fails_at_once_without_retrying(mocked_responses, queue, mb_proxy):
    mocked_responses.post(
        MESSAGEBIRD_MESSAGES_URL, json=fixture_json("messagebird/sms_send_error.json"), status=422
    )

    message = queue(mb_proxy)
    outbox_sweep(now=later())
    message.refresh_from_db()

    assert (message.status, message.attempts) == (Status.FAILED, 1)
    assert "recipients is invalid" in message.last_error
    assert message.next_attempt_at is None
    assert len(mocked_responses.calls) == 1


@pytest.mark.parametrize("failure", [requests.ConnectionError("reset"), requests.ConnectTimeout()])
def test_connection_errors_and_timeouts_are_retried(mocked_responses, queue, fr_proxy, failure):
    mocked_responses.post(FLOWROUTE_MESSAGES_URL, body=failure)
    flowroute_accepts(mocked_responses)

    message = queue(fr_proxy)
    assert message.status == Status.QUEUED
    assert "Flowroute unreachable" in message.last_error

    outbox_sweep(now=later())
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 2)


def test_gives_up_after_the_maximum_number_of_attempts(mocked_responses, queue, mb_proxy, settings):
    settings.MASKED_NUMBERS_DELIVERY = {**settings.MASKED_NUMBERS_DELIVERY, "MAX_ATTEMPTS": 3}
    mocked_responses.post(MESSAGEBIRD_MESSAGES_URL, status=500, body="oops")

    message = queue(mb_proxy)
    for hours in (1, 2, 3):
        outbox_sweep(now=later(hours))
    message.refresh_from_db()

    assert (message.status, message.attempts) == (Status.FAILED, 3)
    assert len(mocked_responses.calls) == 3


def test_a_message_left_in_sending_by_a_dead_worker_is_revived_by_the_sweep(
    mocked_responses, mb_proxy
):
    messagebird_accepts(mocked_responses)
    message = in_flight(mb_proxy, lease_left=timedelta(minutes=-10))

    enqueued = outbox_sweep()
    message.refresh_from_db()

    assert enqueued == 1
    assert (message.status, message.attempts) == (Status.SENT, 2)
    assert len(mocked_responses.calls) == 1


def test_a_message_still_within_its_sending_lease_is_left_alone(mocked_responses, mb_proxy):
    message = in_flight(mb_proxy, lease_left=timedelta(minutes=1))

    assert outbox_sweep() == 0
    message.refresh_from_db()
    assert message.status == Status.SENDING
    assert len(mocked_responses.calls) == 0


def test_a_message_is_sent_once_however_often_it_is_enqueued(mocked_responses, queue, mb_proxy):
    messagebird_accepts(mocked_responses)
    message = queue(mb_proxy)

    assert message_deliver(message_id=message.pk) == "skipped"
    assert outbox_sweep(now=later()) == 0
    assert len(mocked_responses.calls) == 1


def test_a_just_queued_message_is_not_swept_before_its_own_task_runs(mb_proxy):
    message_queue(proxy=mb_proxy, recipient="+14155550199", body="hi")

    assert outbox_sweep() == 0


def test_message_for_a_provider_no_longer_configured_waits_and_is_retried(
    mocked_responses, queue, mb_proxy, settings
):
    settings.MASKED_NUMBERS_PROVIDERS = {
        k: v for k, v in settings.MASKED_NUMBERS_PROVIDERS.items() if k != "messagebird"
    }

    message = queue(mb_proxy)

    assert message.status == Status.QUEUED
    assert "not configured" in message.last_error


def test_sweep_command_delivers_a_message_whose_lease_lapsed(mocked_responses, mb_proxy):
    messagebird_accepts(mocked_responses)
    message = in_flight(mb_proxy, lease_left=timedelta(minutes=-5))

    call_command("outbox_sweep")

    message.refresh_from_db()
    assert message.status == Status.SENT


def test_a_queued_message_whose_task_was_lost_is_sent_by_the_sweep(mocked_responses, mb_proxy):
    messagebird_accepts(mocked_responses)
    message = outbound_row(mb_proxy, next_attempt_at=timezone.now() - timedelta(minutes=5))

    assert outbox_sweep() == 1

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 1)


class DatabaseDown:
    """A database outage seen by the statement that records a send: the first `times`
    tries fail as a dropped connection does (Django's execute wrapper, around the real
    statement). `meanwhile` runs at the first failure: what other processes do while
    this one cannot write."""

    def __init__(self, times: int, meanwhile=None) -> None:
        self.times, self.meanwhile, self.failed = times, meanwhile, 0

    def __call__(self, execute, sql, params, many, context):
        if sql.lstrip().startswith("UPDATE") and "vendor_id" in sql and self.failed < self.times:
            self.failed += 1
            if self.failed == 1 and self.meanwhile is not None:
                self.meanwhile()
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


@pytest.mark.django_db(transaction=True)
def test_a_send_the_vendor_accepted_is_recorded_once_the_database_is_back(
    mocked_responses, mb_proxy, caplog
):
    messagebird_accepts(mocked_responses)
    message = outbound_row(mb_proxy)
    outage = DatabaseDown(times=3)

    with connection.execute_wrapper(outage):
        assert message_deliver(message_id=message.pk) == Status.SENT

    message.refresh_from_db()
    assert outage.failed == 3
    assert (message.status, message.attempts) == (Status.SENT, 1)
    assert message.vendor_id == "cd5bd37a34fb4fd9b8f5e2a3c49d1b7e"
    # Sent once, and not again by the sweep: the lease was not left to lapse.
    assert outbox_sweep(now=later()) == 0
    assert len(mocked_responses.calls) == 1
    retries = [r.getMessage() for r in caplog.records if "recording it failed" in r.getMessage()]
    assert len(retries) == 3
    assert not any(message.recipient in line or message.body in line for line in retries)


@pytest.mark.django_db(transaction=True)
def test_a_send_recorded_after_the_sweep_took_back_its_lease_is_not_sent_again(
    mocked_responses, mb_proxy
):
    messagebird_accepts(mocked_responses)
    message = outbound_row(mb_proxy)

    def sweep_takes_it_back() -> None:
        # The lease lapsed while the database was away: the sweep queued the message
        # again, and its new task has not run yet.
        Message.objects.filter(pk=message.pk).update(status=Status.QUEUED)

    with connection.execute_wrapper(DatabaseDown(times=1, meanwhile=sweep_takes_it_back)):
        assert message_deliver(message_id=message.pk) == Status.SENT

    # The sweep's task comes too late: the message is sent.
    assert message_deliver(message_id=message.pk) == "skipped"
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert len(mocked_responses.calls) == 1


@pytest.mark.django_db(transaction=True)
def test_a_send_still_unrecorded_after_twice_its_lease_is_left_to_the_sweep(
    mocked_responses, mb_proxy, settings
):
    settings.MASKED_NUMBERS_DELIVERY = {
        **settings.MASKED_NUMBERS_DELIVERY,
        "SENDING_LEASE_SECONDS": 0.5,
    }
    messagebird_accepts(mocked_responses)
    message = outbound_row(mb_proxy)
    outage = DatabaseDown(times=1000)

    with connection.execute_wrapper(outage), pytest.raises(OperationalError):
        message_deliver(message_id=message.pk)

    # Tried for the lease twice over (1 s, pauses from 0.1 s doubling to 1 s: about 5
    # tries, at least 3 however slow the claim and the send), then given up.
    assert 3 <= outage.failed <= 6
    message.refresh_from_db()
    assert message.status == Status.SENDING
    # The sweep sends it again: at least once, never lost.
    messagebird_accepts(mocked_responses)
    assert outbox_sweep(now=later()) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 2)
    assert len(mocked_responses.calls) == 2
