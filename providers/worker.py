"""The delivery worker: django-tasks-db's `db_worker`, surviving database outages and,
on PostgreSQL, claiming several ready tasks in one statement and writing their
successes in another."""

from __future__ import annotations

import json
import logging
import random
import signal
import time
from types import FrameType

from django.db import Error as DatabaseFailure
from django.db import close_old_connections, connections
from django.tasks.signals import task_finished, task_started
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult, get_date_max

logger = logging.getLogger(__name__)

# The library's next ready tasks (`DBTaskResult.objects.ready()`, the worker's queues,
# the model's ordering), locked and marked running as `DBTaskResult.claim()` does, in
# one round trip for up to `limit` tasks where the library takes four per task. The
# statuses are written in so that the partial index of ready tasks matches the
# prepared statement's plan; `= ANY(ARRAY(...))` runs the locking subquery once.
CLAIM_READY_SQL = """
    UPDATE django_tasks_database_dbtaskresult
    SET status = 'RUNNING', started_at = %(now)s, worker_ids = worker_ids || %(worker)s::jsonb
    WHERE id = ANY(ARRAY(
        SELECT id FROM django_tasks_database_dbtaskresult
        WHERE status = 'READY' AND backend_name = %(backend)s
          AND (%(all_queues)s OR queue_name = ANY(%(queues)s))
          AND NOT queue_name = ANY(%(excluded)s)
          AND (run_after = %(date_max)s OR run_after <= %(now)s)
        ORDER BY priority DESC, run_after ASC, enqueued_at ASC
        LIMIT %(limit)s FOR UPDATE SKIP LOCKED
    ))
    RETURNING *
"""


# A claim's successes in one statement, each with its own return value and finish time,
# where the library saves each task on its own: PostgreSQL CPU per text down by a tenth
# to a quarter (bench/HISTORY.md, 2026-12-01).
SUCCEEDED_SQL = """
    UPDATE django_tasks_database_dbtaskresult AS task
    SET status = 'SUCCESSFUL', finished_at = done.finished_at, return_value = done.value,
        exception_class_path = '', traceback = ''
    FROM unnest(%(ids)s::uuid[], %(finished)s::timestamptz[], %(values)s::jsonb[])
        AS done(id, finished_at, value)
    WHERE task.id = done.id AND task.status = 'RUNNING'
"""


def _library_order(task: DBTaskResult) -> tuple:
    """DBTaskResult's ordering (priority first, then due time, then age)."""
    return (-task.priority, task.run_after, task.enqueued_at)


class ResilientWorker(db_worker.Worker):
    """django-tasks-db's worker, with two changes.

    - It waits out a database error instead of exiting. A delivery the outage cut short
      before the vendor accepted it stays in `sending` until the outbox sweep takes its
      lease back; one the vendor accepted is recorded once the database is back.
    - On PostgreSQL it claims up to `claim_at_once` ready tasks in one statement, runs
      them in the library's order as the library's `run_task` does, and writes their
      successes in one statement after the claim. After a slow claim (a slow vendor
      holds the rest of it) it claims one at a time until tasks are quick again. Asked
      to stop, it finishes the task under way and puts the rest back.
    """

    max_pause = 10.0
    claim_at_once = 8
    slow_task_seconds = 0.25

    def __init__(self, *, claim_at_once: int | None = None, **options) -> None:
        super().__init__(**options)
        if claim_at_once is not None:
            self.claim_at_once = claim_at_once
        self._holding = False  # claimed tasks not yet run or put back

    def run(self) -> None:
        pause = 0.5
        while self.running:
            try:
                self.serve()
                return
            # django.db.Error, not DatabaseError: a connection the server dropped surfaces
            # as InterfaceError ("connection already closed"), a sibling class.
            except DatabaseFailure as err:
                logger.warning(
                    "database unavailable (%s); retrying in %.1fs", type(err).__name__, pause
                )
                connections.close_all()
                time.sleep(pause)
                pause = min(pause * 2, self.max_pause)

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        if self.running and self._holding:
            # The library exits at once between two tasks; with claimed tasks in hand,
            # finish the one under way and put the rest back first.
            logger.warning("Received %s - stopping after this task", signal.strsignal(signum))
            self.running = False
            return
        super().shutdown(signum, frame)

    def serve(self) -> None:
        """The library's loop, claiming several tasks at once; elsewhere (SQLite: one
        writer at a time, no SKIP LOCKED) the library's own loop."""
        if connections[DBTaskResult.objects.db].vendor != "postgresql":
            super().run()
            return
        logger.info("worker %s started, queues %s", self.worker_id, ",".join(self.queue_names))
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # noqa: S311 - spreads workers started together
        at_once = self.claim_at_once
        while self.running:
            close_old_connections()
            limit = at_once
            if self.max_tasks is not None:
                limit = min(limit, self.max_tasks - self._run_tasks)
            tasks = self.claim_ready(limit)
            if tasks:
                started = time.monotonic()
                ran = self.run_claimed(tasks)
                slow = time.monotonic() - started > self.slow_task_seconds * max(ran, 1)
                at_once = 1 if slow else self.claim_at_once
            elif self.batch:
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                return
            close_old_connections()
            if self.running and not tasks:
                time.sleep(self.interval)

    def claim_ready(self, limit: int = 1) -> list[DBTaskResult]:
        """Up to `limit` ready tasks of this worker's queues, marked running by it, in
        the library's order (none if every ready one is being claimed elsewhere)."""
        now = timezone.now()
        params = {
            "now": now,
            "worker": json.dumps([self.worker_id]),
            "backend": self.backend_name,
            "all_queues": self.process_all_queues,
            "queues": self.queue_names,
            "excluded": self.excluded_queue_names,
            "date_max": get_date_max(),
            "limit": limit,
        }
        tasks = list(DBTaskResult.objects.raw(CLAIM_READY_SQL, params))
        return sorted(tasks, key=_library_order)

    def run_claimed(self, tasks: list[DBTaskResult]) -> int:
        """Run claimed tasks in turn, write their successes together, then put back
        those not started (a stop was asked for). Returns how many ran."""
        ran = 0
        succeeded: list[tuple[DBTaskResult, type, str]] = []
        self._holding = True
        try:
            for task in tasks:
                if not self.running:
                    break
                success = self.run_keeping_success(task)
                if success is not None:
                    succeeded.append((task, *success))
                ran += 1
        finally:
            try:
                self.record_successes(succeeded)
            finally:
                try:
                    self.release(tasks[ran:])
                finally:
                    self._holding = False
        return ran

    def run_keeping_success(self, db_task: DBTaskResult) -> tuple[type, str] | None:
        """The library's `run_task`, except that a success is only set on the task, and
        its signals' sender and return value's JSON returned, for `record_successes` to
        write; a failure is saved at once, as the library does (None)."""
        try:
            task = db_task.task
        except Exception:
            self.run_task(db_task)  # the library's own handling of a task it cannot load
            return None
        if task.takes_context:
            self.run_task(db_task)
            return None
        try:
            self.running_task = True
            sender = type(task.get_backend())
            started = db_task.task_result
            task_started.send(sender=sender, task_result=started)
            value = task.call(*started.args, **started.kwargs)
            encoded = json.dumps(value)  # a value the library could not save fails here
        except BaseException as err:
            db_task.set_failed(err)
            task_finished.send(sender=type(task.get_backend()), task_result=db_task.task_result)
            return None
        else:
            db_task.status = TaskResultStatus.SUCCESSFUL
            db_task.finished_at = timezone.now()
            db_task.return_value = value
            return sender, encoded
        finally:
            self.running_task = False
            self._run_tasks += 1

    def record_successes(self, succeeded: list[tuple[DBTaskResult, type, str]]) -> None:
        """Write the successes `run_keeping_success` kept (each task with its signals'
        sender and its return value's JSON), then tell the signal's receivers."""
        if not succeeded:
            return
        params = {
            "ids": [task.pk for task, _, _ in succeeded],
            "finished": [task.finished_at for task, _, _ in succeeded],
            "values": [encoded for _, _, encoded in succeeded],
        }
        with connections[DBTaskResult.objects.db].cursor() as cursor:
            cursor.execute(SUCCEEDED_SQL, params)
        for task, sender, _ in succeeded:
            task_finished.send(sender=sender, task_result=task.task_result)

    def release(self, tasks: list[DBTaskResult]) -> None:
        """Claimed tasks this worker did not start: ready again."""
        if not tasks:
            return
        DBTaskResult.objects.filter(
            pk__in=[task.pk for task in tasks], status=TaskResultStatus.RUNNING
        ).update(status=TaskResultStatus.READY, started_at=None)
        logger.info("%d claimed task(s) put back in the queue", len(tasks))


def without_health_checks() -> None:
    """No `SELECT 1` before every task: the worker loop closes its connections after
    each one (as a request would); a dead connection surfaces as a database error
    instead, which ResilientWorker waits out with a new connection."""
    for connection in connections.all(initialized_only=False):
        connection.settings_dict["CONN_HEALTH_CHECKS"] = False
        connection.health_check_enabled = False  # type: ignore[attr-defined]
