from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from providers.outbox import delivery_tasks_prune, outbox_sweep
from providers.retention import RETENTION_BATCH, retention_sweep

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Re-enqueue outbound messages the task queue lost (worker killed mid-send, "
        "retries due), delete finished delivery tasks, and erase personal data past "
        "MASKED_NUMBERS_RETENTION_DAYS. "
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
            self._retention(loop=loop, interval=interval)
            if not loop:
                return
            time.sleep(interval)

    def _retention(self, *, loop: bool, interval: float) -> None:
        """Bounded retention runs: one, or in a loop while full batches say more is
        waiting, for up to `interval` seconds. Its failure never stops the outbox sweep."""
        until = time.monotonic() + interval
        try:
            while any(n >= RETENTION_BATCH for n in retention_sweep().values()):
                if not loop or time.monotonic() >= until:
                    return
        except Exception as err:
            if not loop:
                raise
            logger.exception("retention sweep failed; retrying next round")
            if isinstance(err, DatabaseError):
                close_old_connections()
