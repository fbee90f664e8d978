"""`db_worker` that outlives a database restart and claims a task in one statement."""

from __future__ import annotations

import json
import logging
import random
import time
from functools import cache

from django.db import Error as DatabaseFailure
from django.db import close_old_connections, connections
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult, get_date_max

from providers.db import fetch_instance, quoted_names
from providers.models import DeliveryTask

logger = logging.getLogger(__name__)

# django-tasks-db's next ready task (`DBTaskResult.objects.ready()`, its queue filters,
# the model's ordering), locked and marked running as `DBTaskResult.claim()` does, in
# one statement. The statuses are written in so that the partial index of ready tasks
# (`tasks_db_new_ordering_idx`) matches the prepared statement's plan.
_CLAIM_NEXT_SQL = """
    UPDATE {table} SET {status} = '{running}', {started_at} = %s,
        {worker_ids} = {worker_ids} || %s::jsonb
    WHERE {id} = (
        SELECT {id} FROM {table}
        WHERE {status} = '{ready}' AND {backend_name} = %s{queues}
          AND ({run_after} = %s OR {run_after} <= %s)
        ORDER BY {priority} DESC, {run_after} ASC, {enqueued_at} ASC
        LIMIT 1 FOR UPDATE SKIP LOCKED
    )
    RETURNING *
"""


@cache
def _claim_next_sql(alias: str, *, only_queues: bool, except_queues: bool) -> str:
    names = quoted_names(
        alias,
        table=DBTaskResult,
        **{
            name: (DBTaskResult, name)
            for name in (
                "id",
                "status",
                "started_at",
                "worker_ids",
                "backend_name",
                "queue_name",
                "run_after",
                "priority",
                "enqueued_at",
            )
        },
    )
    queues = ""
    if only_queues:
        queues += f" AND {names['queue_name']} = ANY(%s)"
    if except_queues:
        queues += f" AND NOT ({names['queue_name']} = ANY(%s))"
    return _CLAIM_NEXT_SQL.format(
        running=TaskResultStatus.RUNNING.value,
        ready=TaskResultStatus.READY.value,
        queues=queues,
        **names,
    )


class ResilientWorker(db_worker.Worker):
    """django-tasks-db's worker, with two changes.

    - It exits on the first database error; this one waits and goes on. A delivery cut
      short by the outage is left in `sending` and comes back through the outbox sweep
      when its lease expires.
    - On PostgreSQL the next task is found and claimed in one `UPDATE … RETURNING`
      instead of a transaction of an ORM `SELECT … FOR UPDATE SKIP LOCKED` and an ORM
      save: one statement and one commit instead of four round trips, and no query
      building for every task (`python -m bench.profile worker` measures it). Running
      the task stays the library's (`Worker.run_task`); a success is recorded by
      `DeliveryTask` in one prepared UPDATE, a failure by the library's save.
    """

    max_pause = 10.0

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

    def serve(self) -> None:
        """The library's loop (`Worker.run`), with the one-statement claim; elsewhere
        (SQLite: one writer at a time, no SKIP LOCKED) the library's own loop."""
        if connections[DBTaskResult.objects.db].vendor != "postgresql":
            super().run()
            return
        logger.info("worker %s started, queues %s", self.worker_id, ",".join(self.queue_names))
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # noqa: S311 - spreads workers started together
        while self.running:
            close_old_connections()
            task_result = self.claim_next()
            if task_result is not None:
                self.run_task(task_result)
            elif self.batch:
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                return
            close_old_connections()
            if self.running and task_result is None:
                time.sleep(self.interval)

    def claim_next(self) -> DeliveryTask | None:
        """The next ready task of this worker's queues, marked running by it; None if
        there is none (or every ready one is being claimed by another worker)."""
        connection = connections[DBTaskResult.objects.db]
        adapt = connection.ops.adapt_datetimefield_value
        now = adapt(timezone.now())
        params: list = [now, json.dumps([self.worker_id]), self.backend_name]
        only_queues = not self.process_all_queues
        if only_queues:
            params.append(self.queue_names)
        if self.excluded_queue_names:
            params.append(self.excluded_queue_names)
        params += [adapt(get_date_max()), now]
        sql = _claim_next_sql(
            connection.alias,
            only_queues=only_queues,
            except_queues=bool(self.excluded_queue_names),
        )
        # As DeliveryTask: the library's row, its success saved in one prepared UPDATE.
        return fetch_instance(DeliveryTask, sql, params, alias=connection.alias)


def _without_health_checks() -> None:
    """No `SELECT 1` before every task: the worker loop closes its connections after
    each one (as a request would), so with CONN_HEALTH_CHECKS each task cost one more
    round trip. A dead connection surfaces as a database error instead, which
    ResilientWorker already waits out with a new connection."""
    for connection in connections.all(initialized_only=False):
        connection.settings_dict["CONN_HEALTH_CHECKS"] = False
        connection.health_check_enabled = False


class Command(db_worker.Command):
    help = "Run the delivery worker (db_worker that survives database restarts)."

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
        )
        worker.configure_signals()
        worker.run()
