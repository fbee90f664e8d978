"""`manage.py delivery_worker`: runs providers.worker.ResilientWorker."""

from __future__ import annotations

from argparse import ArgumentTypeError
from typing import Any

from django_tasks_db.management.commands import db_worker

from providers.worker import ResilientWorker, without_health_checks


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

    def configure_logging(self, verbosity: int) -> None:
        # At the default verbosity LOGGING's levels hold: a delivery logs its one line,
        # not the library's two task lines besides; -v 0 and -v 2 keep their meaning.
        if verbosity != 1:
            super().configure_logging(verbosity)

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options: Any,
    ) -> None:
        self.configure_logging(verbosity)
        without_health_checks()
        worker = ResilientWorker(
            queue_names=queue_name.split(","),
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=exclude_queues.split(",") if exclude_queues else [],
            claim_at_once=options.get("claim_at_once", ResilientWorker.claim_at_once),
        )
        worker.configure_signals()
        worker.run()
