"""A text's delivery task row, written by one literal INSERT, is the row django-tasks-db's
own `enqueue` writes: the library's workers, admin and pruning read it as their own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_tasks_db.models import DBTaskResult

from providers.tasks import deliver_message, delivery_task_write

pytestmark = pytest.mark.django_db

# Every column but the two that differ from row to row.
COMPARED = [
    field.attname
    for field in DBTaskResult._meta.concrete_fields
    if field.attname not in ("id", "enqueued_at")
]


@pytest.fixture(autouse=True)
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_the_delivery_task_row_is_the_one_the_library_writes():
    library = DBTaskResult.objects.get(pk=deliver_message.enqueue(41).id)
    delivery_task_write(message_id=41)
    ours = DBTaskResult.objects.exclude(pk=library.pk).get()

    assert {name: getattr(ours, name) for name in COMPARED} == {
        name: getattr(library, name) for name in COMPARED
    }
    assert abs(ours.enqueued_at - library.enqueued_at) < timedelta(seconds=5)
    assert ours.pk != library.pk
    # The library reads it back as the same task, ready to run at once.
    task_result = ours.task_result
    assert task_result.task == library.task_result.task
    assert (task_result.args, task_result.kwargs) == ([41], {})
    assert DBTaskResult.objects.ready().filter(pk=ours.pk).exists()
