"""End to end with the production task backend: the webhook answers, a worker delivers."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from providers.models import Direction, Message, Status
from tests.factories import proxy_number
from tests.providers.vendors import fixture_bytes, flowroute_accepts
from tests.signing import flowroute_callback_path

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_webhook_answers_without_calling_the_vendor_and_a_worker_delivers_the_reply(
    client, mocked_responses, database_tasks
):
    proxy_number(number="+12065550150", provider="flowroute", voice=False)

    response = client.post(
        flowroute_callback_path(),
        fixture_bytes("flowroute/sms_inbound_v21.json"),
        content_type="application/vnd.api+json",
    )

    assert response.status_code == 200
    assert len(mocked_responses.calls) == 0
    reply = Message.objects.get(direction=Direction.OUTBOUND)
    assert reply.status == Status.QUEUED

    flowroute_accepts(mocked_responses)
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    reply.refresh_from_db()
    assert (reply.status, reply.attempts) == (Status.SENT, 1)
    assert len(mocked_responses.calls) == 1


def test_the_sweep_deletes_finished_delivery_tasks_after_a_day_and_keeps_the_rest(
    mocked_responses, database_tasks
):
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from providers.services import delivery_tasks_prune, sms_queue

    flowroute_accepts(mocked_responses)
    proxy = proxy_number(number="+12065550150", provider="flowroute", voice=False)
    for _ in range(3):
        sms_queue(proxy=proxy, recipient="+14155550123", body="hi")
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    waiting = sms_queue(proxy=proxy, recipient="+14155550123", body="not sent yet")
    finished = list(DBTaskResult.objects.finished().order_by("finished_at"))
    assert len(finished) == 3
    # One finished two days ago, one an hour ago, one just now.
    now = timezone.now()
    DBTaskResult.objects.filter(pk=finished[0].pk).update(finished_at=now - timedelta(days=2))
    DBTaskResult.objects.filter(pk=finished[1].pk).update(finished_at=now - timedelta(hours=1))

    assert delivery_tasks_prune() == 1

    assert set(DBTaskResult.objects.finished().values_list("pk", flat=True)) == {
        finished[1].pk,
        finished[2].pk,
    }
    assert DBTaskResult.objects.ready().count() == 1, "a task still to run is kept"
    assert Message.objects.filter(status=Status.SENT).count() == 3, "the log keeps all"
    assert Message.objects.get(pk=waiting.pk).status == Status.QUEUED
    # The sweep command does it too, and a day later the rest goes.
    DBTaskResult.objects.filter(finished_at__isnull=False).update(
        finished_at=now - timedelta(days=3)
    )
    call_command("outbox_sweep")
    assert not DBTaskResult.objects.finished().exists()


def test_pruning_does_nothing_without_database_tasks():
    from providers.services import delivery_tasks_prune

    assert delivery_tasks_prune() == 0
