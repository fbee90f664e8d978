from __future__ import annotations

import logging

from django.apps import AppConfig

POLL_PATH = "/simulator/api/messages/"


def skip_simulator_polls(record: logging.LogRecord) -> bool:
    """Drop the development server's line for each successful simulator poll.

    The simulator asks for its threads once a second; logged, that would bury the
    start-up banner and every other request. Failed polls are still logged.
    """
    return not (getattr(record, "status_code", None) == 200 and POLL_PATH in record.getMessage())


class SimulatorConfig(AppConfig):
    name = "simulator"
    verbose_name = "Phone simulator"

    def ready(self) -> None:
        logging.getLogger("django.server").addFilter(skip_simulator_polls)
