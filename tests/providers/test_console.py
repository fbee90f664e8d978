from __future__ import annotations

from providers.backends.console import ConsoleProvider, outbox


def test_console_prints_each_sms_with_its_text_when_echo_is_on(capsys):
    ConsoleProvider(alias="console", echo=True).send_sms(
        sender="+14155550100", recipient="+14155550120", body="Dana will pick you up at 14:30."
    )
    printed = capsys.readouterr().out
    assert printed == "SMS from +14155550100 to +14*******20: Dana will pick you up at 14:30.\n"
    assert outbox[-1]["body"] == "Dana will pick you up at 14:30."


def test_console_prints_nothing_without_echo(capsys):
    ConsoleProvider(alias="console").send_sms(
        sender="+14155550100", recipient="+14155550120", body="hello"
    )
    assert capsys.readouterr().out == ""


def test_console_logs_one_masked_line_without_echo(caplog):
    with caplog.at_level("INFO", logger="providers.backends.console"):
        ConsoleProvider(alias="console").send_sms(
            sender="+14155550100", recipient="+14155550120", body="hello"
        )
    info = [r.getMessage() for r in caplog.records if r.levelname == "INFO"]
    assert len(info) == 1 and "+14*******20" in info[0] and "hello" not in info[0]


def test_the_django_logger_adds_no_second_copy_of_its_records():
    import logging

    # Django's default console handler on "django" printed every django.* record again,
    # beside the root handler's line.
    assert logging.getLogger("django").handlers == []
