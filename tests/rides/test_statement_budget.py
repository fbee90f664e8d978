"""What a relayed text and a transferred call may cost the database, at most.

Statement counts, not timings: they do not depend on the machine, and each statement
is a round trip and a share of the database's CPU on the webhook path (bench/ has the
timings). Upper bounds, and the kinds that matter (one write transaction, no
savepoint), so that any change which stays within them is free to.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from providers.models import Direction, Message, Status
from tests.signing import messagebird_signature

from .conftest import get_messagebird_call, post_messagebird_sms
from .test_routing import make_ride

# Real transactions: the webhook's own BEGIN/COMMIT, no test savepoint around it.
pytestmark = pytest.mark.django_db(transaction=True)

SMS = {"originator": "14155550123", "recipient": "12065550100", "payload": "Here", "id": "in-1"}
TASKS = "django_tasks_database_dbtaskresult"
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


def statements(captured: CaptureQueriesContext) -> list[str]:
    """Each statement as 'VERB table', transaction control left out."""
    out = []
    for query in captured.captured_queries:
        sql = query["sql"]
        verb = sql.split(None, 1)[0].upper()
        if verb in CONTROL:
            continue
        table = re.search(r'(?:INTO|FROM|UPDATE)\s+"?(\w+)"?', sql)
        out.append(f"{verb} {table.group(1) if table else ''}".strip())
    return out


def transactions(captured: CaptureQueriesContext) -> int:
    """How many transactions were opened (PostgreSQL logs BEGIN; SQLite does not)."""
    return sum(query["sql"] == "BEGIN" for query in captured.captured_queries)


def writes(found: list[str]) -> list[str]:
    return [s for s in found if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]


def assert_one_transaction_at_most(captured: CaptureQueriesContext) -> None:
    assert transactions(captured) <= 1
    assert not [s for s in statements(captured) if "SAVEPOINT" in s or "RELEASE" in s]


def test_a_relayed_text_and_its_task_are_a_few_statements_in_one_transaction(
    client, vendor_apis, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    ride = make_ride(provider="messagebird")
    with CaptureQueriesContext(connection) as captured:
        response = post_messagebird_sms(client, SMS)
    assert response.status_code == 200
    found = statements(captured)
    # The number (kept by the process after this), the ride, the party's turn and its
    # relays in the window (the loop limit), the text, the relay, its task.
    assert len(found) <= 7, found
    assert len(writes(found)) <= 3, found
    assert f"INSERT {TASKS}" in found
    assert_one_transaction_at_most(captured)
    inbound = Message.objects.get(direction=Direction.INBOUND)
    assert (inbound.outcome, inbound.session) == ("relayed", ride.session)
    relay = Message.objects.get(direction=Direction.OUTBOUND)
    assert (relay.status, relay.in_reply_to_id) == (Status.QUEUED, inbound.pk)


def test_a_relayed_texts_delivery_is_three_statements_at_most(client, vendor_apis):
    make_ride(provider="messagebird")
    post_messagebird_sms(client, {**SMS, "id": "warm-up"})  # the number, kept
    relay = Message.objects.get(direction=Direction.OUTBOUND)
    Message.objects.filter(pk=relay.pk).update(status=Status.QUEUED)
    from providers.outbox import message_deliver

    with CaptureQueriesContext(connection) as captured:
        assert message_deliver(message_id=relay.pk) == Status.SENT
    found = statements(captured)
    assert len(found) <= 3, found  # claimed, read, recorded as sent
    assert transactions(captured) == 0


def test_a_transferred_call_is_three_statements_at_most_in_one_transaction(client):
    make_ride(provider="messagebird")
    with CaptureQueriesContext(connection) as captured:
        response = get_messagebird_call(client, source="14155550123", destination="12065550100")
    assert response.status_code == 200
    found = statements(captured)
    assert len(found) <= 3, found  # the number, the ride, the call's log row
    assert writes(found) == ["INSERT providers_message"]
    assert_one_transaction_at_most(captured)
    assert Message.objects.get().status == Status.TRANSFERRED


def test_a_redelivered_text_writes_nothing_more_in_a_few_statements(client, vendor_apis):
    make_ride(provider="messagebird")
    assert post_messagebird_sms(client, SMS).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = post_messagebird_sms(client, SMS)  # same vendor id, new signature
    assert response.status_code == 200
    found = statements(captured)
    # The ride, the loop limit's turn and count, the text that collides, then which it
    # collided with: the signature id, the first text.
    assert len(found) <= 6, found
    assert writes(found) == ["INSERT providers_message"]
    assert_one_transaction_at_most(captured)
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1


def test_a_replayed_call_is_refused_and_leaves_nothing(client):
    make_ride(provider="messagebird")
    query = "source=14155550123&destination=12065550100&callID=c1"
    url = f"http://testserver/webhooks/messagebird/voice/?{query}"
    signature = messagebird_signature(url=url)
    assert client.get(url, HTTP_MESSAGEBIRD_SIGNATURE_JWT=signature).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, HTTP_MESSAGEBIRD_SIGNATURE_JWT=signature)
    assert response.status_code == 403
    assert b"replay" in response.content
    assert len(statements(captured)) <= 3  # the ride, the call that collides, its jti
    assert_one_transaction_at_most(captured)
    assert Message.objects.count() == 1


def test_a_replayed_text_is_refused_and_leaves_nothing(client, vendor_apis):
    make_ride(provider="messagebird")
    url = "http://testserver/webhooks/messagebird/sms/"
    signature = messagebird_signature(url=url, body=urlencode(SMS).encode())
    for expected in (200, 403):
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                url,
                data=urlencode(SMS),
                content_type="application/x-www-form-urlencoded",
                HTTP_MESSAGEBIRD_SIGNATURE_JWT=signature,
            )
        assert response.status_code == expected
    # The ride, the loop limit's turn and count, the text that collides, its jti.
    assert len(statements(captured)) <= 5
    assert_one_transaction_at_most(captured)
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1
