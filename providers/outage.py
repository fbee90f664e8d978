"""Writing what a vendor or the platform has already accepted through a database outage."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

FIRST_PAUSE, MAX_PAUSE = 0.1, 1.0


def write_through_outage(write: Callable[[], object], *, claimed: float, what: str) -> None:
    """Run `write`, trying again on a new connection while the database is unreachable,
    for up to twice the sending lease after `claimed` (monotonic): within the lease the
    sweep would send it again. Then, or inside a transaction, the error is raised."""
    deadline = claimed + 2 * settings.MASKED_NUMBERS_DELIVERY["SENDING_LEASE_SECONDS"]
    pause = FIRST_PAUSE
    while True:
        try:
            write()
            return
        except (OperationalError, InterfaceError) as err:
            left = deadline - time.monotonic()
            if connection.in_atomic_block or left <= 0:
                raise
            logger.warning("%s; recording it failed (%s), trying again", what, type(err).__name__)
            connection.close()
            time.sleep(min(pause, left))
            pause = min(pause * 2, MAX_PAUSE)
