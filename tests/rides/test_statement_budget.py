"""What a relayed text and a transferred call cost the database, statement by statement.

Statement counts, not timings: they do not depend on the machine, and each statement
is a round trip and a share of the database's CPU on the webhook path (bench/ has the
timings). A change that adds one fails here and says which.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from providers.models import Direction, Message, SeenSignature, Status
from tests.signing import messagebird_signature

from .conftest import get_messagebird_call, post_messagebird_sms
from .test_routing import make_ride

# Real transactions: the webhook's own BEGIN/COMMIT, no test savepoint around it.
pytestmark = pytest.mark.django_db(transaction=True)

SMS = {"originator": "14155550123", "recipient": "12065550100", "payload": "Here", "id": "in-1"}


def statements(captured: CaptureQueriesContext) -> list[str]:
    """Each statement as 'VERB table', transaction control left out; a data-modifying
    WITH as 'INSERT table+table' (the tables it inserts into)."""
    out = []
    for query in captured.captured_queries:
        sql = query["sql"]
        verb = sql.split(None, 1)[0].upper()
        if verb in ("BEGIN", "COMMIT", "ROLLBACK"):
            continue
        if verb == "WITH":
            out.append("INSERT " + "+".join(re.findall(r'INSERT INTO\s+"?(\w+)"?', sql)))
            continue
        table = re.search(r'(?:INTO|FROM|UPDATE)\s+"?(\w+)"?', sql)
        out.append(f"{verb} {table.group(1) if table else ''}".strip())
    return out


def transaction_control(captured: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"] in ("BEGIN", "COMMIT", "ROLLBACK")
    ]


def logged_with_jti(*tables: str, reached: int | None = None) -> list[str]:
    """A signed event's log row, the rows written with it (`tables`, in order) and its
    signature's jti: one statement on PostgreSQL (the jti conflicting stops the rest),
    one per row in a transaction elsewhere, as far as they get (`reached`: the rows
    tried before one conflicted, the jti's not counted)."""
    if connection.vendor == "postgresql":
        return ["INSERT " + "+".join(("providers_seensignature", *tables))]
    return [f"INSERT {table}" for table in ("providers_seensignature", *tables[:reached])]


TASKS = "django_tasks_database_dbtaskresult"


def test_a_relayed_text_is_three_statements_and_its_delivery_two(client, vendor_apis):
    ride = make_ride(provider="messagebird")
    with CaptureQueriesContext(connection) as captured:
        response = post_messagebird_sms(client, SMS)
    assert response.status_code == 200
    assert statements(captured) == [
        "SELECT providers_proxynumber",
        "SELECT rides_ride",  # the sender's open ride on this number, either role
        # Routing only read, so it was asked first: the text, with its outcome, and the
        # relay, queued, are written with the jti. A replay conflicts on the jti, a
        # redelivery on the text; either way the relay is not written.
        *logged_with_jti("providers_message", "providers_message"),
        # delivery (the test settings run tasks at once, after the commit)
        "UPDATE providers_message",  # claimed, and read back in the same statement
        "UPDATE providers_message",  # sent
    ]
    if connection.vendor == "postgresql":
        assert transaction_control(captured) == []  # one write: no BEGIN and COMMIT
    inbound = Message.objects.get(direction=Direction.INBOUND)
    assert (inbound.outcome, inbound.session) == ("relayed", ride.session)
    relay = Message.objects.get(direction=Direction.OUTBOUND)
    assert (relay.status, relay.in_reply_to_id, relay.session) == (
        Status.SENT,
        inbound.pk,
        ride.session,
    )


def test_with_the_production_task_backend_the_relays_task_is_written_with_it(
    client, vendor_apis, settings
):
    """The webhook's whole write, task included, is that one statement; the task takes
    the relay's key, and a worker delivers it."""
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "providers.task_backend.DeliveryTaskBackend"}}
    make_ride(provider="messagebird")
    with CaptureQueriesContext(connection) as captured:
        response = post_messagebird_sms(client, SMS)
    assert response.status_code == 200
    assert statements(captured) == [
        "SELECT providers_proxynumber",
        "SELECT rides_ride",
        *logged_with_jti("providers_message", "providers_message", TASKS),
    ]
    if connection.vendor == "postgresql":
        assert transaction_control(captured) == []
    relay = Message.objects.get(direction=Direction.OUTBOUND)
    task = DBTaskResult.objects.get()
    assert task.args_kwargs == {"args": [relay.pk], "kwargs": {}}
    assert (task.status, task.task_path) == ("READY", "providers.tasks.deliver_message")

    call_command("delivery_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    relay.refresh_from_db()
    assert relay.status == Status.SENT
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_with_the_librarys_own_database_backend_a_text_is_logged_then_routed_in_a_transaction(
    client, vendor_apis, settings
):
    """Its tasks cannot be written with the text (they are enqueued one by one), so the
    text takes the transaction of a router that writes: all of it, or none."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    make_ride(provider="messagebird")
    with CaptureQueriesContext(connection) as captured:
        response = post_messagebird_sms(client, SMS)
    assert response.status_code == 200
    assert statements(captured)[-3:] == [
        "UPDATE providers_message",  # the text's outcome, once routed
        "INSERT providers_message",  # the relay
        f"INSERT {TASKS}",  # its task, in the same transaction
    ]
    if connection.vendor == "postgresql":
        assert transaction_control(captured) == ["BEGIN", "COMMIT"]
    relay = Message.objects.get(direction=Direction.OUTBOUND)
    assert DBTaskResult.objects.get().args_kwargs == {"args": [relay.pk], "kwargs": {}}


def test_a_transferred_call_is_three_statements_without_a_transaction(client):
    make_ride(provider="messagebird")
    with CaptureQueriesContext(connection) as captured:
        response = get_messagebird_call(client, source="14155550123", destination="12065550100")
    assert response.status_code == 200
    assert statements(captured) == [
        "SELECT providers_proxynumber",
        "SELECT rides_ride",
        *logged_with_jti("providers_message"),  # the call's log row, with the jti
    ]
    if connection.vendor == "postgresql":
        # The one write is one statement: no BEGIN and COMMIT around it.
        assert transaction_control(captured) == []
    assert Message.objects.get().status == Status.TRANSFERRED


def test_a_redelivered_text_stops_at_its_insert_without_a_savepoint(client, vendor_apis):
    make_ride(provider="messagebird")
    assert post_messagebird_sms(client, SMS).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = post_messagebird_sms(client, SMS)  # same vendor id, new signature
    assert response.status_code == 200
    assert statements(captured) == [
        "SELECT rides_ride",  # routed again (a read; the number is kept from the first)
        # The text conflicts: only the jti is new, the relay is not written.
        *logged_with_jti("providers_message", "providers_message", reached=1),
        "SELECT providers_message",  # the first one, for the log line and the caller
    ]
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1
    assert SeenSignature.objects.count() == 2


def test_a_replayed_call_is_refused_at_its_one_write_and_leaves_nothing(client):
    make_ride(provider="messagebird")
    query = "source=14155550123&destination=12065550100&callID=c1"
    url = f"http://testserver/webhooks/messagebird/voice/?{query}"
    signature = messagebird_signature(url=url)
    assert client.get(url, HTTP_MESSAGEBIRD_SIGNATURE_JWT=signature).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, HTTP_MESSAGEBIRD_SIGNATURE_JWT=signature)
    assert response.status_code == 403
    assert b"replay" in response.content
    # Routed again (a read only; the number is kept from the first call), then refused
    # where its jti would be written.
    assert statements(captured) == [
        "SELECT rides_ride",
        *logged_with_jti("providers_message")[:1],
    ]
    assert SeenSignature.objects.count() == 1
    assert Message.objects.count() == 1


def test_a_replayed_text_is_refused_at_its_first_write_and_leaves_nothing(client, vendor_apis):
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
    # Routed again (a read), then refused where its jti would be written.
    jti_and_after = logged_with_jti("providers_message", "providers_message")[:1]
    assert statements(captured) == ["SELECT rides_ride", *jti_and_after]
    if connection.vendor == "postgresql":
        assert transaction_control(captured) == []  # that one statement wrote nothing
    assert SeenSignature.objects.count() == 1
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1
