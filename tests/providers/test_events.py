"""Events to the platform: payloads, signatures, delivery with retries, the admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.core.checks import run_checks
from django.core.management import call_command
from django.utils import timezone

from providers.events import event_deliver, event_emit, message_event_data
from providers.inbound import inbound_call_receive
from providers.models import Event, EventStatus, Message, Status
from providers.outbox import backoff_seconds, message_queue, outbox_sweep
from providers.types import InboundCall
from tests.events import EVENTS_SECRET, EVENTS_URL, emitted, received
from tests.factories import proxy_number
from tests.providers.logs import outbound_row
from tests.providers.routers import PARTNER
from tests.providers.vendors import MESSAGEBIRD_MESSAGES_URL, messagebird_accepts
from tests.texting import text

pytestmark = pytest.mark.django_db

PERSON = "+14155550199"
EVENTS = "/admin/providers/event/"


@pytest.fixture
def endpoint(settings, mocked_responses):
    """Events on; the endpoint answers with the statuses given, the last one for ever."""

    def answers(*statuses: int | Exception) -> None:
        settings.MASKED_NUMBERS_EVENTS_URL = EVENTS_URL
        settings.MASKED_NUMBERS_EVENTS_SECRET = EVENTS_SECRET
        for status in statuses:
            if isinstance(status, Exception):
                mocked_responses.post(EVENTS_URL, body=status)
            else:
                mocked_responses.post(EVENTS_URL, status=status)

    return answers


def queued_event(**data) -> Event:
    """An event written and not yet sent (its delivery runs after a commit no test makes)."""
    event = event_emit("ride.ended", {"session": "ride:1", **data})
    assert event is not None
    return event


def sent_attempt(mocked_responses) -> list[int]:
    return [c.response.status_code for c in mocked_responses.calls if c.request.url == EVENTS_URL]


# --- off ------------------------------------------------------------------------------


def test_without_an_events_url_nothing_is_written_or_sent(settings, mocked_responses):
    settings.MASKED_NUMBERS_EVENTS_URL = ""
    proxy = proxy_number()

    assert event_emit("ride.ended", {"session": "ride:1"}) is None
    text(PERSON, "STOP", to=proxy.number)

    assert Event.objects.count() == 0
    assert len(mocked_responses.calls) == 0


def test_an_events_url_without_a_secret_is_a_system_check_error(settings):
    settings.MASKED_NUMBERS_EVENTS_URL = EVENTS_URL
    settings.MASKED_NUMBERS_EVENTS_SECRET = ""

    assert "providers.E010" in [problem.id for problem in run_checks()]

    settings.MASKED_NUMBERS_EVENTS_SECRET = EVENTS_SECRET
    assert "providers.E010" not in [problem.id for problem in run_checks()]


def test_an_unknown_event_type_is_refused(events_on):
    with pytest.raises(ValueError, match="unknown event type"):
        event_emit("ride.started", {})


# --- payload and signature --------------------------------------------------------------


def test_an_event_is_posted_signed_with_its_stable_id_and_verifies(
    events_on, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = event_emit("pool.exhausted", {"service": "rides", "reason": "in_use"})

    [got] = received(events_on)
    assert got["webhook-id"] == event.event_id == got["payload"]["id"]
    assert event.event_id.startswith("evt_")
    assert got["payload"]["type"] == "pool.exhausted"
    assert got["payload"]["data"] == {"service": "rides", "reason": "in_use"}
    assert got["payload"]["timestamp"].endswith("Z")
    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == (EventStatus.SENT, 1, "")
    assert event.sent_at is not None


def test_a_signature_with_another_secret_does_not_verify(events_on):
    from standardwebhooks import Webhook, WebhookVerificationError

    event_deliver(pk=queued_event().pk)
    [call] = [c for c in events_on.calls if c.request.url == EVENTS_URL]
    other = Webhook("whsec_" + "b3RoZXItc2VjcmV0LW9mLXRoaXJ0eS10d28tYnl0ZXM=")

    with pytest.raises(WebhookVerificationError):
        other.verify(call.request.body, dict(call.request.headers))


def test_message_delivered_payload_has_the_message_and_masked_numbers_but_no_text(events_on):
    # Receipts record the status and emit this through event_emit: the shape is fixed here.
    proxy = proxy_number(number="+14155550100", provider="messagebird")
    message = outbound_row(proxy, status="delivered", session="ride:42", body="at the gate")

    event = event_emit("message.delivered", message_event_data(message))
    event_deliver(pk=event.pk)

    [got] = received(events_on)
    assert got["payload"]["data"] == {
        "session": "ride:42",
        "message_id": message.pk,
        "proxy_number": "+14155550100",
        "direction": "out",
        "kind": "sms",
        "status": "delivered",
        "provider": "messagebird",
        "from": "+14155550100",
        "to": "+14*******99",
    }
    assert "at the gate" not in events_on.calls[0].request.body.decode()


def test_full_numbers_in_events_only_when_the_setting_allows(events_on, settings):
    proxy = proxy_number()
    message = outbound_row(proxy)
    settings.MASKED_NUMBERS_EVENTS_FULL_NUMBERS = True

    assert message_event_data(message)["to"] == PERSON


# --- delivery ---------------------------------------------------------------------------


def test_a_503_is_retried_with_the_texts_backoff_then_sent_with_the_same_id(
    endpoint, mocked_responses
):
    endpoint(503, 503, 200)
    event = queued_event()
    delays = []
    for _ in range(2):
        assert event_deliver(pk=event.pk) == EventStatus.QUEUED
        event.refresh_from_db()
        assert event.last_error == "HTTP 503"
        delays.append(event.next_attempt_at - event.updated_at)

    assert event_deliver(pk=event.pk) == EventStatus.SENT
    event.refresh_from_db()
    assert (event.status, event.attempts) == (EventStatus.SENT, 3)
    assert delays == [
        timedelta(seconds=backoff_seconds(attempts=1)),
        timedelta(seconds=backoff_seconds(attempts=2)),
    ]
    assert len({got["webhook-id"] for got in received(mocked_responses)}) == 1


@pytest.mark.parametrize(
    "answer", [408, 429, 500, 502, requests.ConnectionError("refused"), requests.Timeout()]
)
def test_busy_broken_or_unreachable_endpoints_are_retried(endpoint, answer):
    endpoint(answer)
    event = queued_event()

    assert event_deliver(pk=event.pk) == EventStatus.QUEUED
    event.refresh_from_db()
    assert event.status == EventStatus.QUEUED
    assert event.next_attempt_at > event.updated_at


@pytest.mark.parametrize("status", [400, 401, 404, 410, 301])
def test_other_answers_fail_the_event_at_once(endpoint, status):
    endpoint(status)
    event = queued_event()

    assert event_deliver(pk=event.pk) == EventStatus.FAILED
    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == (
        EventStatus.FAILED,
        1,
        f"HTTP {status}",
    )


def test_an_event_fails_after_the_last_attempt(endpoint, settings, mocked_responses):
    settings.MASKED_NUMBERS_DELIVERY = {**settings.MASKED_NUMBERS_DELIVERY, "MAX_ATTEMPTS": 3}
    endpoint(503)
    event = queued_event()

    results = [event_deliver(pk=event.pk) for _ in range(3)]

    assert results == [EventStatus.QUEUED, EventStatus.QUEUED, EventStatus.FAILED]
    event.refresh_from_db()
    assert (event.status, event.attempts, event.next_attempt_at) == (EventStatus.FAILED, 3, None)
    assert event_deliver(pk=event.pk) == "skipped"
    assert sent_attempt(mocked_responses) == [503, 503, 503]


@pytest.mark.django_db(transaction=True)
def test_an_event_the_platform_received_is_recorded_once_the_database_is_back(endpoint, settings):
    from django.db import OperationalError, connection

    endpoint(200)
    # Kept for the attempt below (this test commits: the immediate backend would send).
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    event = queued_event()
    failed = []

    def down_three_times(execute, sql, params, many, context):
        if sql.lstrip().startswith("UPDATE") and "sent_at" in sql and len(failed) < 3:
            failed.append(sql)
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(down_three_times):
        assert event_deliver(pk=event.pk) == EventStatus.SENT

    event.refresh_from_db()
    assert (len(failed), event.status, event.attempts) == (3, EventStatus.SENT, 1)
    assert outbox_sweep(now=timezone.now() + timedelta(hours=1)) == 0


def test_the_sweep_sends_events_whose_retry_is_due_or_whose_worker_was_lost(
    endpoint, mocked_responses
):
    endpoint(200)
    due = queued_event()
    lost = queued_event()
    Event.objects.filter(pk=due.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    Event.objects.filter(pk=lost.pk).update(
        status=EventStatus.SENDING, attempts=1, next_attempt_at=timezone.now() - timedelta(1)
    )
    later = queued_event()
    Event.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))

    outbox_sweep()

    statuses = dict(Event.objects.values_list("pk", "status"))
    assert statuses == {
        due.pk: EventStatus.SENT,
        lost.pk: EventStatus.SENT,
        later.pk: EventStatus.QUEUED,
    }
    assert sorted(got["webhook-id"] for got in received(mocked_responses)) == sorted(
        [due.event_id, lost.event_id]
    )


# --- emitters in the telephony layer ----------------------------------------------------


def test_an_opt_out_is_told_once(events_on):
    proxy = proxy_number(number="+14155550100")

    text(PERSON, "STOP", to=proxy.number)
    text(PERSON, "stop", to=proxy.number)

    [payload] = emitted("optout.created")
    assert payload["data"] == {
        "proxy_number": "+14155550100",
        "phone": "+14*******99",
        "keyword": "STOP",
        "opted_out_at": payload["data"]["opted_out_at"],
    }
    assert [got["payload"]["type"] for got in received(events_on)] == ["optout.created"]


def test_a_transferred_call_is_told_once_with_the_masked_destination(
    events_on, django_capture_on_commit_callbacks
):
    proxy = proxy_number(number="+14155550100")
    call = InboundCall(provider="console", caller=PERSON, recipient=proxy.number, vendor_id="c1")

    with django_capture_on_commit_callbacks(execute=True):
        inbound_call_receive(inbound=call)
        inbound_call_receive(inbound=call)  # the vendor asking again: one call

    [payload] = emitted()
    log = Message.objects.get(kind="call")
    assert payload["type"] == "call.transferred"
    assert payload["data"] | {"message_id": None} == {
        "session": f"echo:{proxy.pk}",
        "message_id": None,
        "proxy_number": "+14155550100",
        "direction": "in",
        "kind": "call",
        "status": "transferred",
        "provider": "console",
        "from": "+14*******99",
        "to": "+14155550100",
        "transferred_to": "+12*******99",
    }
    assert payload["data"]["message_id"] == log.pk
    assert PARTNER not in str(payload)


def test_a_text_failing_for_good_is_told_once_and_a_retry_is_not(
    events_on, mocked_responses, django_capture_on_commit_callbacks
):
    proxy = proxy_number(number="+14155550100", provider="messagebird")
    mocked_responses.post(MESSAGEBIRD_MESSAGES_URL, status=503, body="busy")
    mocked_responses.post(
        MESSAGEBIRD_MESSAGES_URL,
        status=422,
        json={"errors": [{"code": 21, "description": f"bad recipient {PERSON}"}]},
    )

    with django_capture_on_commit_callbacks(execute=True):
        message = message_queue(proxy=proxy, recipient=PERSON, body="hello", session="ride:9")
    assert emitted("message.failed") == []
    outbox_sweep(now=timezone.now() + timedelta(hours=1))

    message.refresh_from_db()
    assert message.status == Status.FAILED
    [payload] = emitted("message.failed")
    data = payload["data"]
    assert (data["message_id"], data["session"], data["status"]) == (message.pk, "ride:9", "failed")
    assert data["to"] == "+14*******99"
    assert PERSON not in str(payload) and "hello" not in str(payload)


def test_a_text_that_is_sent_tells_nothing(events_on, mocked_responses):
    proxy = proxy_number(provider="messagebird")
    messagebird_accepts(mocked_responses)

    text(PERSON, "hello", to=proxy.number)  # the echo router answers: not a relay

    assert Message.objects.filter(status=Status.SENT).count() == 1
    assert emitted() == []


# --- delivered by the delivery worker ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_delivery_worker_sends_events_written_with_their_task(settings, events_on):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    proxy = proxy_number()

    text(PERSON, "STOP", to=proxy.number)
    assert received(events_on) == []
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    assert [got["payload"]["type"] for got in received(events_on)] == ["optout.created"]
    assert Event.objects.get().status == EventStatus.SENT


# --- admin ------------------------------------------------------------------------------


def test_staff_see_failed_events_and_re_send_them_with_the_same_id(
    admin_client, endpoint, mocked_responses, django_capture_on_commit_callbacks
):
    endpoint(410, 200)
    event = queued_event()
    event_deliver(pk=event.pk)
    sent = queued_event()
    event_deliver(pk=sent.pk)

    listed = admin_client.get(EVENTS, {"status__exact": "failed"}).content.decode()
    assert event.event_id in listed and sent.event_id not in listed
    assert "HTTP 410" in listed
    page = admin_client.get(f"{EVENTS}{event.pk}/change/").content.decode()
    assert "Re-send events" in page
    asking = admin_client.post(EVENTS, {"action": "resend", "_selected_action": [event.pk]})
    assert "Send these events to the platform again?" in asking.content.decode()
    assert Event.objects.get(pk=event.pk).status == EventStatus.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            EVENTS,
            {"action": "resend", "_selected_action": [event.pk, sent.pk], "post": "yes"},
            follow=True,
        )

    text_shown = response.content.decode()
    assert "1 event(s) queued again." in text_shown
    assert "1 event(s) skipped" in text_shown
    event.refresh_from_db()
    assert (event.status, event.attempts) == (EventStatus.SENT, 1)
    ids = [got["webhook-id"] for got in received(mocked_responses)]
    assert ids == [event.event_id, sent.event_id, event.event_id]


def test_the_events_list_filters_by_type_and_staff_cannot_edit_events(admin_client, events_on):
    ride = queued_event()
    pool = event_emit("pool.exhausted", {"service": "rides"})

    listed = admin_client.get(EVENTS, {"type": "pool.exhausted"}).content.decode()

    assert pool.event_id in listed and ride.event_id not in listed
    assert admin_client.post(f"{EVENTS}{ride.pk}/delete/").status_code == 403
    assert admin_client.get(f"{EVENTS}add/").status_code == 403


# --- documentation ----------------------------------------------------------------------


def test_every_event_type_is_a_webhook_of_the_openapi_document_and_in_the_readme(admin_client):
    from pathlib import Path

    from django.conf import settings

    from providers.events import EVENT_TYPES

    schema = admin_client.get("/api/schema/", {"format": "json"}).json()
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()

    assert set(schema["webhooks"]) == EVENT_TYPES
    relayed = schema["webhooks"]["message.relayed"]["post"]["requestBody"]["content"]
    body = relayed["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][body]["properties"]) == {
        "id",
        "type",
        "timestamp",
        "data",
    }
    assert all(f"| `{event_type}` |" in readme for event_type in EVENT_TYPES)
