from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from providers.outbox import delivery_tasks_prune, outbox_sweep

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Re-enqueue outbound messages the task queue lost (worker killed mid-send, "
        "retries due), and delete finished delivery tasks. "
        "Run with --loop beside the delivery_worker processes."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep sweeping")
        parser.add_argument("--interval", type=float, default=15.0, help="seconds between sweeps")

    def handle(self, *args, loop: bool, interval: float, **options) -> None:
        while True:
            try:
                count = outbox_sweep()
                delivery_tasks_prune()
            except DatabaseError:
                if not loop:
                    raise
                # A database restart must not end the sweeper: try again next round.
                logger.exception("outbox sweep failed; retrying in %s s", interval)
                close_old_connections()
            else:
                if count or options["verbosity"] > 1:
                    self.stdout.write(f"outbox: {count} message(s) enqueued")
            if not loop:
                return
            time.sleep(interval)
