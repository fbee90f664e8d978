from __future__ import annotations

import logging

import pytest

from simulator.apps import skip_simulator_polls


def request_line(path: str, status: int) -> logging.LogRecord:
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        (f"POST {path} HTTP/1.1", status, 12),
        None,
    )
    record.status_code = status
    return record


@pytest.mark.parametrize(
    ("path", "status", "kept"),
    [
        ("/simulator/api/messages/", 200, False),
        ("/simulator/api/messages/", 403, True),
        ("/simulator/api/sms/", 201, True),
        ("/admin/", 200, True),
    ],
)
def test_only_successful_simulator_polls_are_left_out_of_the_server_log(path, status, kept):
    assert skip_simulator_polls(request_line(path, status)) is kept
    assert logging.getLogger("django.server").filters.count(skip_simulator_polls) == 1
