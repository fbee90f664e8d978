"""The production task backend writes the rows django-tasks-db's own would write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.tasks import task_backends
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from providers.tasks import deliver_message

pytestmark = pytest.mark.django_db

COMPARED = ("status", "args_kwargs", "priority", "task_path", "queue_name", "run_after")


@pytest.fixture
def both_backends(settings):
    settings.TASKS = {
        "default": {"BACKEND": "providers.task_backend.DeliveryTaskBackend"},
        "library": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    }


def _row(result) -> dict:
    row = DBTaskResult.objects.get(pk=result.id)
    return {name: getattr(row, name) for name in COMPARED}


@pytest.mark.parametrize("deferred", [False, True], ids=["at-once", "deferred"])
def test_enqueue_writes_the_row_the_librarys_enqueue_writes(both_backends, deferred):
    later = timezone.now() + timedelta(minutes=5)
    task = deliver_message.using(run_after=later) if deferred else deliver_message

    ours = task.using(backend="default").enqueue(41)
    librarys = task.using(backend="library").enqueue(41)

    assert _row(ours) == _row(librarys)
    assert _row(ours)["run_after"] == (later if deferred else get_date_max())
    assert DBTaskResult.objects.get(pk=ours.id).backend_name == "default"
    assert DBTaskResult.objects.get(pk=ours.id).enqueued_at is not None
    # What enqueue() hands back reads the same as the library's result.
    assert (ours.status, ours.args, ours.kwargs, ours.backend) == (
        librarys.status,
        librarys.args,
        librarys.kwargs,
        "default",
    )
    assert ours.task.run_after == librarys.task.run_after
    assert task_backends["default"].get_result(ours.id).args == [41]


def test_enqueue_refuses_what_the_library_refuses(both_backends):
    from django.tasks.exceptions import InvalidTask

    with pytest.raises(InvalidTask):
        deliver_message.using(backend="default", priority=1000).enqueue(41)
    assert not DBTaskResult.objects.exists()
