from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.tasks import task


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
