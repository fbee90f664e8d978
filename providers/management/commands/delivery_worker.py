"""`db_worker` that outlives a database restart and claims a task in one statement."""

from __future__ import annotations

import json
import logging
import random
import signal
import time
from argparse import ArgumentTypeError
from functools import cache
from types import FrameType

from django.db import Error as DatabaseFailure
from django.db import close_old_connections, connections
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult, get_date_max

from providers.db import fetch_instances, quoted_names
from providers.models import DeliveryTask

logger = logging.getLogger(__name__)

# django-tasks-db's next ready tasks (`DBTaskResult.objects.ready()`, its queue filters,
# the model's ordering), locked and marked running as `DBTaskResult.claim()` does, in
# one statement, as many as the worker asks for. The statuses are written in so that
# the partial index of ready tasks (`tasks_db_new_ordering_idx`) matches the prepared
# statement's plan.
# `= ANY(ARRAY(…))` runs the locking subquery once (`IN (…)` may run it again in a join).
_CLAIM_READY_SQL = """
    UPDATE {table} SET {status} = '{running}', {started_at} = %s,
        {worker_ids} = {worker_ids} || %s::jsonb
    WHERE {id} = ANY(ARRAY(
        SELECT {id} FROM {table}
        WHERE {status} = '{ready}' AND {backend_name} = %s{queues}
          AND ({run_after} = %s OR {run_after} <= %s)
        ORDER BY {priority} DESC, {run_after} ASC, {enqueued_at} ASC
        LIMIT %s FOR UPDATE SKIP LOCKED
    ))
    RETURNING *
"""

# The successes of a claim's tasks, each with its own finish time and return value: the
# fields DBTaskResult.set_successful() saves, for all of them in one statement.
_SUCCESSES_SQL = """
    UPDATE {table} SET {status} = '{successful}', {finished_at} = done.finished_at,
        {return_value} = done.return_value, {exception_class_path} = '', {traceback} = ''
    FROM unnest(%s::uuid[], %s::timestamptz[], %s::jsonb[]) AS done(id, finished_at, return_value)
    WHERE {table}.{id} = done.id
"""

# Claimed tasks this worker did not start (it was asked to stop): ready again.
_RELEASE_SQL = """
    UPDATE {table} SET {status} = '{ready}', {started_at} = NULL
    WHERE {id} = ANY(%s::uuid[]) AND {status} = '{running}'
"""

_COLUMNS = (
    "id",
    "status",
    "started_at",
    "finished_at",
    "worker_ids",
    "backend_name",
    "queue_name",
    "run_after",
    "priority",
    "enqueued_at",
    "return_value",
    "exception_class_path",
    "traceback",
)


@cache
def _statements(alias: str, *, only_queues: bool, except_queues: bool) -> dict[str, str]:
    names = quoted_names(
        alias, table=DBTaskResult, **{name: (DBTaskResult, name) for name in _COLUMNS}
    )
    queues = ""
    if only_queues:
        queues += f" AND {names['queue_name']} = ANY(%s)"
    if except_queues:
        queues += f" AND NOT ({names['queue_name']} = ANY(%s))"
    statuses = {
        "running": TaskResultStatus.RUNNING.value,
        "ready": TaskResultStatus.READY.value,
        "successful": TaskResultStatus.SUCCESSFUL.value,
    }
    return {
        "claim": _CLAIM_READY_SQL.format(queues=queues, **statuses, **names),
        "successes": _SUCCESSES_SQL.format(**statuses, **names),
        "release": _RELEASE_SQL.format(**statuses, **names),
    }


def _library_order(task: DBTaskResult) -> tuple:
    """DBTaskResult's ordering (priority first, then due time, then age)."""
    return (-task.priority, task.run_after, task.enqueued_at)


class ResilientWorker(db_worker.Worker):
    """django-tasks-db's worker, with two changes.

    - It exits on the first database error; this one waits and goes on. A delivery cut
      short by the outage before the vendor accepted it is left in `sending` and comes
      back through the outbox sweep when its lease expires; one the vendor accepted is
      recorded once the database is back (`message_deliver` keeps trying), so it is not
      sent again.
    - On PostgreSQL it claims up to `claim_at_once` ready tasks in one `UPDATE …
      RETURNING` instead of one at a time in a transaction of an ORM `SELECT … FOR
      UPDATE SKIP LOCKED` and an ORM save, and records their successes together in one
      UPDATE: two statements per claim of up to 8 texts where there were two per text,
      and four round trips before that (`python -m bench.profile worker` measures it).
      Running each task stays the library's (`Worker.run_task`), one after the other,
      in the library's order; a failure is recorded at once by the library's save.
      Tasks that take long (a slow vendor) hold the others of their claim, so after
      such a claim the worker claims one task at a time, leaving the rest to other
      workers, until tasks are quick again. Asked to stop, it finishes the task under
      way and puts the claimed tasks it did not start back in the queue.
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
        """The library's loop (`Worker.run`), claiming several tasks at once; elsewhere
        (SQLite: one writer at a time, no SKIP LOCKED) the library's own loop."""
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

    def _statement(self, name: str) -> tuple[str, str]:
        alias = DBTaskResult.objects.db
        sql = _statements(
            alias,
            only_queues=not self.process_all_queues,
            except_queues=bool(self.excluded_queue_names),
        )[name]
        return alias, sql

    def claim_ready(self, limit: int = 1) -> list[DeliveryTask]:
        """Up to `limit` ready tasks of this worker's queues, marked running by it, in
        the library's order; none if there are none (or every ready one is being
        claimed by another worker)."""
        alias, sql = self._statement("claim")
        adapt = connections[alias].ops.adapt_datetimefield_value
        now = adapt(timezone.now())
        params: list = [now, json.dumps([self.worker_id]), self.backend_name]
        if not self.process_all_queues:
            params.append(self.queue_names)
        if self.excluded_queue_names:
            params.append(self.excluded_queue_names)
        params += [adapt(get_date_max()), now, limit]
        # As DeliveryTask: the library's rows, their successes recorded by this worker.
        tasks = fetch_instances(DeliveryTask, sql, params, alias=alias)
        return sorted(tasks, key=_library_order)

    def run_claimed(self, tasks: list[DeliveryTask]) -> int:
        """Run claimed tasks in turn, then record their successes in one statement and
        put back those not started (a stop was asked for). Returns how many ran."""
        finished: list[DeliveryTask] = []
        ran = 0
        self._holding = True
        try:
            for task in tasks:
                if not self.running:
                    break
                task.finished_into = finished
                self.run_task(task)
                ran += 1
        finally:
            # Still holding: a signal while these are written stops after them.
            try:
                self.record_successes(finished)
            finally:
                try:
                    self.release(tasks[ran:])
                finally:
                    self._holding = False
        return ran

    def record_successes(self, tasks: list[DeliveryTask]) -> None:
        if not tasks:
            return
        alias, sql = self._statement("successes")
        connection = connections[alias]
        finished_at = DBTaskResult._meta.get_field("finished_at")
        return_value = DBTaskResult._meta.get_field("return_value")
        params = [
            [task.pk for task in tasks],
            [finished_at.get_db_prep_save(task.finished_at, connection) for task in tasks],
            [return_value.get_db_prep_save(task.return_value, connection) for task in tasks],
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    def release(self, tasks: list[DeliveryTask]) -> None:
        if not tasks:
            return
        alias, sql = self._statement("release")
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, [[task.pk for task in tasks]])
        logger.info("%d claimed task(s) put back in the queue", len(tasks))


def _without_health_checks() -> None:
    """No `SELECT 1` before every task: the worker loop closes its connections after
    each one (as a request would), so with CONN_HEALTH_CHECKS each task cost one more
    round trip. A dead connection surfaces as a database error instead, which
    ResilientWorker already waits out with a new connection."""
    for connection in connections.all(initialized_only=False):
        connection.settings_dict["CONN_HEALTH_CHECKS"] = False
        connection.health_check_enabled = False


def _at_least_one(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ArgumentTypeError("must be 1 or more")
    return number


class Command(db_worker.Command):
    help = "Run the delivery worker (db_worker that survives database restarts)."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--claim-at-once",
            type=_at_least_one,
            default=ResilientWorker.claim_at_once,
            help="ready tasks claimed in one statement (PostgreSQL; default %(default)s)",
        )

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        claim_at_once: int = ResilientWorker.claim_at_once,
        **options,
    ) -> None:
        self.configure_logging(verbosity)
        _without_health_checks()
        worker = ResilientWorker(
            queue_names=queue_name.split(","),
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=exclude_queues.split(",") if exclude_queues else [],
            claim_at_once=claim_at_once,
        )
        worker.configure_signals()
        worker.run()
