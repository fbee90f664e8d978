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
