from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from providers.models import Direction, Message, Status

from .routers import ALICE, BOB, NOT_IN_SESSION

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_simulate_sms_relays_and_prints_what_was_queued_to_whom_masked(
    rides_number, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        out = run("simulate_sms", "--sender", ALICE, "--to", "+1 415 555 0100", "On", "my", "way")
    assert out.splitlines() == [
        f"SMS from +14*******20 to {rides_number.number} (rides): relayed [pair:1]",
        f"  queued from {rides_number.number} to +14*******30: 'On my way'",
    ]
    assert BOB not in out
    relay = Message.objects.get(direction=Direction.OUTBOUND)
    assert (relay.recipient, relay.body, relay.status) == (BOB, "On my way", Status.SENT)


def test_simulate_sms_from_a_stranger_prints_the_reply(rides_number):
    out = run("simulate_sms", "--sender", "+14155550199", "--to", rides_number.number, "hi")
    assert "unknown_sender" in out
    assert f"to +14*******99: {NOT_IN_SESSION!r}" in out


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--sender", "nope", "--to", "+14155550100", "hi"], "from: "),
        (["--sender", ALICE, "--to", "+14155550177", "hi"], "not an active number of the pool"),
    ],
    ids=["bad-sender", "not-in-pool"],
)
def test_simulate_sms_refuses_bad_input_with_the_reason(rides_number, args, reason):
    with pytest.raises(CommandError, match=reason):
        run("simulate_sms", *args)
    assert not Message.objects.exists()


def test_simulate_call_prints_the_transfer_with_the_masked_caller_id(rides_number):
    out = run("simulate_call", "--sender", ALICE, "--to", rides_number.number)
    assert out.strip() == (
        f"Call to {rides_number.number} (rides): transferred to +14*******30, "
        f"who sees the call from {rides_number.number}"
    )


def test_simulate_call_prints_what_the_caller_hears(rides_number):
    out = run("simulate_call", "--sender", "+14155550199", "--to", rides_number.number)
    assert (
        out.strip() == f"Call to {rides_number.number} (rides): the caller hears {NOT_IN_SESSION!r}"
    )


def test_simulate_call_refuses_an_sms_only_number(sms_only_number):
    with pytest.raises(CommandError, match="takes no calls"):
        run("simulate_call", "--sender", ALICE, "--to", sms_only_number.number)


def test_simulate_sms_without_the_console_provider_says_so(rides_number, settings):
    settings.MASKED_NUMBERS_PROVIDERS = {}
    with pytest.raises(CommandError, match="console provider is not configured"):
        run("simulate_sms", "--sender", ALICE, "--to", rides_number.number, "hi")
    assert not Message.objects.exists()
