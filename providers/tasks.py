from __future__ import annotations

from collections.abc import Callable

from django.db import connections, transaction
from django.tasks import task
from django.utils import timezone


@task()
def deliver_message(message_id: int) -> str:
    """Background delivery of one queued outbound SMS (see outbox.message_deliver)."""
    from .outbox import message_deliver

    return message_deliver(message_id=message_id)


@task()
def deliver_event(pk: int) -> str:
    """Background delivery of one queued event for the platform (see events.event_deliver)."""
    from .events import event_deliver

    return event_deliver(pk=pk)


def tasks_in_this_database() -> bool:
    """Whether delivery tasks are rows of our own database (django-tasks-db's backend)."""
    from django.tasks import task_backends
    from django_tasks_db import DatabaseBackend

    return isinstance(task_backends[deliver_message.backend], DatabaseBackend)


def enqueue_with_transaction(enqueue: Callable[[], None]) -> None:
    """Enqueue in the caller's transaction where tasks are rows of this database, so
    the row and its task commit or roll back together; else once it commits."""
    if tasks_in_this_database():
        enqueue()
    else:
        transaction.on_commit(enqueue)


# A text's delivery task row as django-tasks-db's `enqueue` writes it (a test holds the
# two equal), in one literal INSERT: beside the library's ORM save, a text's CPU is down
# by an eighth (bench/HISTORY.md, 2026-12-01).
DELIVERY_TASK_SQL = """
    INSERT INTO django_tasks_database_dbtaskresult
        (id, status, enqueued_at, args_kwargs, priority, task_path, worker_ids, queue_name,
         backend_name, run_after, return_value, exception_class_path, traceback)
    VALUES (%(id)s, 'READY', %(now)s, %(args_kwargs)s, %(priority)s, %(task_path)s, '[]',
            %(queue_name)s, %(backend_name)s, %(run_after)s, NULL, '', '')
"""


def delivery_task_write(*, message_id: int) -> None:
    """A message's delivery task, to run at once, in the caller's transaction if there
    is one; only where tasks are rows of this database (`tasks_in_this_database`)."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    connection = connections[DBTaskResult.objects.db]
    at = connection.ops.adapt_datetimefield_value
    fields = DBTaskResult._meta
    params = {
        "id": fields.pk.get_db_prep_value(fields.pk.default(), connection),
        "now": at(timezone.now()),
        "args_kwargs": fields.get_field("args_kwargs").get_db_prep_value(
            {"args": [message_id], "kwargs": {}}, connection
        ),
        "priority": deliver_message.priority,
        "task_path": deliver_message.module_path,
        "queue_name": deliver_message.queue_name,
        "backend_name": deliver_message.backend,
        # What the library writes for a task to run at once.
        "run_after": at(get_date_max()),
    }
    with connection.cursor() as cursor:
        cursor.execute(DELIVERY_TASK_SQL, params)
