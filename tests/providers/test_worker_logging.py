"""The delivery worker logs as LOGGING says at its default verbosity."""

from __future__ import annotations

import logging

import pytest

from providers.management.commands.delivery_worker import Command


@pytest.fixture
def tasks_logger():
    logger = logging.getLogger("django.tasks")
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    logger.setLevel(level)
    logger.handlers[:] = handlers


def test_the_default_verbosity_keeps_the_task_lines_out_of_the_log(settings, tasks_logger):
    assert settings.LOGGING["loggers"]["django.tasks"]["level"] == "WARNING"
    tasks_logger.setLevel(logging.WARNING)
    Command().configure_logging(1)
    assert not tasks_logger.isEnabledFor(logging.INFO)


def test_verbosity_two_shows_each_task(tasks_logger):
    Command().configure_logging(2)
    assert tasks_logger.isEnabledFor(logging.DEBUG)
