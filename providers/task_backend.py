"""The task backend of production: django-tasks-db's, with a cheaper enqueue."""

from __future__ import annotations

from django.tasks import Task
from django.tasks.signals import task_enqueued
from django_tasks_db import DatabaseBackend
from django_tasks_db.backend import TaskResult
from django_tasks_db.compat import normalize_json
from django_tasks_db.models import DBTaskResult, get_date_max

from .db import insert_row


class DeliveryTaskBackend(DatabaseBackend):
    """django-tasks-db's `DatabaseBackend`: the same table, rows and workers (`db_worker`,
    `delivery_worker`). Every queued text enqueues a task inside its webhook, where the
    ORM's `create()` was the largest single share of the CPU (13% in py-spy, mostly
    building the INSERT); the row is written here in one prepared INSERT instead (see
    providers/db.py), with the values the library's `enqueue` gives. `_get_id()` is the
    library's own (its `id_function` option).
    """

    def enqueue(self, task: Task, args: tuple, kwargs: dict) -> TaskResult:
        db_result = self.task_row(task, args, kwargs)
        insert_row(db_result)
        return self.enqueued(db_result)

    def task_row(self, task: Task, args: tuple, kwargs: dict) -> DBTaskResult:
        """The row `enqueue` writes, not yet written: for a caller that writes it with
        others in one statement (see providers.services), then calls `enqueued`."""
        self.validate_task(task)
        return DBTaskResult(
            id=self._get_id(),
            args_kwargs=normalize_json({"args": args, "kwargs": kwargs}),
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            # What the library's pre_save receiver does for a task to run at once; no
            # save signals are sent for a row written this way.
            run_after=task.run_after if task.run_after is not None else get_date_max(),
            backend_name=self.alias,
        )

    def enqueued(self, db_result: DBTaskResult) -> TaskResult:
        """What `enqueue` does once the row is written: the signal, the result."""
        result = db_result.task_result
        task_enqueued.send(type(self), task_result=result)
        return result
