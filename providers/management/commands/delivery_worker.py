"""`db_worker` that outlives a database restart."""

from __future__ import annotations

import logging
import time

from django.db import Error as DatabaseFailure
from django.db import connections
from django_tasks_db.management.commands import db_worker

logger = logging.getLogger(__name__)


class ResilientWorker(db_worker.Worker):
    """django-tasks-db's worker exits on the first database error; this one waits and
    goes on. A delivery cut short by the outage is left in `sending` and comes back
    through the outbox sweep when its lease expires."""

    max_pause = 10.0

    def run(self) -> None:
        pause = 0.5
        while self.running:
            try:
                super().run()
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
