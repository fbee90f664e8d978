"""End to end with the production task backend: the webhook answers, a worker delivers."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.tasks import task as background_task

from providers.models import Direction, Message, Status
from tests.factories import proxy_number
from tests.providers.vendors import fixture_bytes, flowroute_accepts
from tests.reliability.conftest import requires_postgres
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

    from providers.outbox import delivery_tasks_prune, message_queue

    flowroute_accepts(mocked_responses)
    proxy = proxy_number(number="+12065550150", provider="flowroute", voice=False)
    for _ in range(3):
        message_queue(proxy=proxy, recipient="+14155550123", body="hi")
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    waiting = message_queue(proxy=proxy, recipient="+14155550123", body="not sent yet")
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
    from providers.outbox import delivery_tasks_prune

    assert delivery_tasks_prune() == 0


@pytest.fixture
def restore_health_checks():
    from django.db import connections

    saved = [
        (c, dict(c.settings_dict), c.health_check_enabled)
        for c in connections.all(initialized_only=False)
    ]
    yield
    for conn, settings_dict, enabled in saved:
        conn.settings_dict.update(settings_dict)
        conn.health_check_enabled = enabled
        conn.close()


@requires_postgres
def test_the_worker_skips_the_health_check_and_survives_a_connection_the_server_killed(
    mocked_responses, database_tasks, restore_health_checks, settings
):
    """No SELECT 1 before each task; a dead connection is an error the worker waits out."""
    import psycopg
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from providers.outbox import message_queue

    flowroute_accepts(mocked_responses)
    proxy = proxy_number(number="+12065550150", provider="flowroute", voice=False)
    message = message_queue(proxy=proxy, recipient="+14155550123", body="hi")
    # A persistent connection, as in production (the test settings close it each time).
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 600
    connection.settings_dict["CONN_HEALTH_CHECKS"] = True
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    killer = psycopg.connect(
        **{k: v for k, v in params.items() if k in ("dbname", "user", "host", "port")}
    )
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()

    with CaptureQueriesContext(connection) as captured:
        call_command("delivery_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    assert connection.health_check_enabled is False
    assert not [q for q in captured.captured_queries if q["sql"].strip() == "SELECT 1"]
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 1)


@requires_postgres
def test_the_delivery_worker_claims_tasks_in_the_librarys_order_in_one_statement(
    mocked_responses, database_tasks, restore_health_checks
):
    """One UPDATE … RETURNING finds and claims the next task: the one django-tasks-db's
    own query would pick (priority, then due time, then age), never one of another
    queue or one not yet due, marked running by this worker as the library does."""
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from providers.outbox import message_queue

    flowroute_accepts(mocked_responses)
    proxy = proxy_number(number="+12065550150", provider="flowroute", voice=False)
    for n in range(4):
        message_queue(proxy=proxy, recipient="+14155550123", body=f"text {n}")
    oldest, urgent, elsewhere, later = DBTaskResult.objects.order_by("enqueued_at", "pk")
    DBTaskResult.objects.filter(pk=urgent.pk).update(priority=10)
    DBTaskResult.objects.filter(pk=elsewhere.pk).update(queue_name="other")
    DBTaskResult.objects.filter(pk=later.pk).update(run_after=timezone.now() + timedelta(hours=1))
    librarys_pick = DBTaskResult.objects.ready().filter(queue_name__in=["default"]).first()

    def work(*limits: str) -> None:
        call_command(
            "delivery_worker",
            "--batch",
            "--no-startup-delay",
            "--no-reload",
            "--worker-id",
            "w-test",
            *limits,
            verbosity=0,
        )

    with CaptureQueriesContext(connection) as captured:
        work("--max-tasks", "1")

    task_statements = [q["sql"] for q in captured.captured_queries if "dbtaskresult" in q["sql"]]
    assert len(task_statements) == 2, task_statements  # the claim, the result
    assert task_statements[0].lstrip().startswith("UPDATE")
    assert "FOR UPDATE SKIP LOCKED" in task_statements[0]
    # The result: one UPDATE of the fields the library's set_successful() saves.
    assert task_statements[1].lstrip().startswith("UPDATE")
    for column in ("status", "return_value", "finished_at", "exception_class_path", "traceback"):
        assert f"{column} = " in task_statements[1]
    states = {t.pk: t for t in DBTaskResult.objects.all()}
    assert librarys_pick.pk == urgent.pk
    assert states[urgent.pk].status == "SUCCESSFUL"
    assert states[oldest.pk].status == "READY"

    work()

    states = {t.pk: t for t in DBTaskResult.objects.all()}
    for done in (urgent, oldest):
        assert states[done.pk].status == "SUCCESSFUL"
        assert states[done.pk].worker_ids == ["w-test"]
        assert states[done.pk].started_at is not None
        # The result as the library reads it back: the task's return value, a finish time.
        result = states[done.pk].task_result
        assert result.return_value == "sent"
        assert result.finished_at >= result.started_at
        assert not result.errors
    assert states[elsewhere.pk].status == "READY"
    assert states[later.pk].status == "READY"
    assert len(mocked_responses.calls) == 2


def _worker(**options):
    from providers.worker import ResilientWorker

    defaults = {
        "queue_names": ["default"],
        "interval": 0,
        "batch": True,  # the library's "until the queue is empty"
        "backend_name": "default",
        "startup_delay": False,
        "max_tasks": None,
        "worker_id": "w-batch",
        "excluded_queue_names": [],
    }
    return ResilientWorker(**{**defaults, **options})


def _queued_texts(count: int) -> list[Message]:
    from providers.models import ProxyNumber
    from providers.outbox import message_queue

    proxy = ProxyNumber.objects.filter(number="+12065550150").first() or proxy_number(
        number="+12065550150", provider="flowroute", voice=False
    )
    return [
        message_queue(proxy=proxy, recipient="+14155550123", body=f"text {n}") for n in range(count)
    ]


def _sent_body(call) -> str:
    return json.loads(call.request.body)["data"]["attributes"]["body"]


def _task_statements(captured) -> list[str]:
    """The worker's statements on the task table, as 'claim', 'successes' (all of a
    claim's, in one statement) or 'release'."""
    kinds = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if "dbtaskresult" not in sql:
            continue
        if "SKIP LOCKED" in sql:
            kinds.append("claim")
        elif "SET status = 'SUCCESSFUL'" in sql:
            kinds.append("successes")
        elif '"started_at" = NULL' in sql:
            kinds.append("release")
        else:
            kinds.append(sql)
    return kinds


@requires_postgres
def test_the_worker_claims_several_tasks_at_once_and_runs_them_in_the_librarys_order(
    mocked_responses, database_tasks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_tasks_db.models import DBTaskResult

    flowroute_accepts(mocked_responses)
    texts = _queued_texts(5)
    # The last one queued is urgent: it goes first, as in the library's order.
    urgent = DBTaskResult.objects.order_by("-enqueued_at")[0]
    DBTaskResult.objects.filter(pk=urgent.pk).update(priority=10)

    with CaptureQueriesContext(connection) as captured:
        _worker(claim_at_once=3).run()

    # Three, then the last two, then none: the queue is empty. Each claim's successes
    # are written together.
    assert _task_statements(captured) == ["claim", "successes", "claim", "successes", "claim"]
    sent_bodies = [_sent_body(call) for call in mocked_responses.calls]
    assert sent_bodies[0] == "text 4"
    assert sorted(sent_bodies) == sorted(text.body for text in texts)
    for text in texts:
        text.refresh_from_db()
        assert (text.status, text.attempts) == (Status.SENT, 1)
    for task in DBTaskResult.objects.all():
        result = task.task_result
        assert (task.status, task.worker_ids, result.return_value) == (
            "SUCCESSFUL",
            ["w-batch"],
            "sent",
        )
        assert result.started_at <= result.finished_at
        assert not result.errors
    finish_times = {task.finished_at for task in DBTaskResult.objects.all()}
    assert len(finish_times) == 5, "each task keeps its own finish time"


@background_task()
def explodes() -> str:
    raise RuntimeError("boom")


@requires_postgres
def test_a_failing_task_of_a_claim_is_saved_failed_and_the_others_succeed_together(
    mocked_responses, database_tasks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_tasks_db.models import DBTaskResult

    flowroute_accepts(mocked_responses)
    texts = _queued_texts(2)
    failing = explodes.enqueue()

    with CaptureQueriesContext(connection) as captured:
        _worker(claim_at_once=3).run()

    assert _task_statements(captured).count("successes") == 1
    failed = DBTaskResult.objects.get(pk=failing.id)
    assert failed.status == "FAILED"
    assert failed.exception_class_path == "builtins.RuntimeError"
    assert "boom" in failed.traceback
    succeeded = DBTaskResult.objects.exclude(pk=failing.id)
    assert sorted(succeeded.values_list("status", flat=True)) == ["SUCCESSFUL", "SUCCESSFUL"]
    for text in texts:
        text.refresh_from_db()
        assert text.status == Status.SENT


@requires_postgres
def test_a_stop_during_a_claim_finishes_the_task_under_way_and_puts_the_rest_back(
    mocked_responses, database_tasks
):
    import signal

    import responses
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_tasks_db.models import DBTaskResult

    from tests.providers.vendors import FLOWROUTE_MESSAGES_URL, fixture_json

    worker = _worker(claim_at_once=3)

    def stop_then_accept(request):
        worker.shutdown(signal.SIGTERM, None)  # as the signal handler is called
        return 202, {}, json.dumps(fixture_json("flowroute/sms_sent.json"))

    mocked_responses.add_callback(responses.POST, FLOWROUTE_MESSAGES_URL, stop_then_accept)
    texts = _queued_texts(3)

    with CaptureQueriesContext(connection) as captured:
        worker.run()

    assert _task_statements(captured) == ["claim", "successes", "release"]
    assert len(mocked_responses.calls) == 1
    statuses = sorted(Message.objects.filter(pk__in=[t.pk for t in texts]).values_list("status"))
    assert statuses == [(Status.QUEUED,), (Status.QUEUED,), (Status.SENT,)]
    assert sorted(DBTaskResult.objects.values_list("status", flat=True)) == [
        "READY",
        "READY",
        "SUCCESSFUL",
    ]
    assert not DBTaskResult.objects.filter(status="READY", started_at__isnull=False).exists()

    # The next worker delivers what was put back.
    mocked_responses.reset()
    flowroute_accepts(mocked_responses)
    _worker(claim_at_once=3).run()
    assert Message.objects.filter(status=Status.SENT).count() == 3
    assert len(mocked_responses.calls) == 2


@requires_postgres
def test_after_a_slow_claim_the_worker_claims_one_task_at_a_time(mocked_responses, database_tasks):
    """A slow vendor holds every task of a claim; the others are left to other workers."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    flowroute_accepts(mocked_responses)
    _queued_texts(5)
    fast, slow = _worker(claim_at_once=3), _worker(claim_at_once=3)
    slow.slow_task_seconds = 0  # every task counts as slow

    with CaptureQueriesContext(connection) as captured:
        slow.run()
    # 3, then 1, 1 (and an empty claim): one at a time after the first claim.
    assert _task_statements(captured).count("claim") == 4

    _queued_texts(5)
    with CaptureQueriesContext(connection) as captured:
        fast.run()
    assert _task_statements(captured).count("claim") == 3  # 3, 2, and the empty one
