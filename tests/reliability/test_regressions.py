"""Regressions found by the reliability suite, one test per fix."""

from __future__ import annotations

import pytest
from django.db import InterfaceError, OperationalError

from providers.models import Message
from tests.signing import messagebird_signature

pytestmark = pytest.mark.django_db

SMS = "/webhooks/messagebird/sms/"


def _signed_post(client, body: bytes, content_type: str, *, jti: str | None = None):
    signature = messagebird_signature(url=f"http://testserver{SMS}", body=body, jti=jti)
    return client.generic(
        "POST",
        SMS,
        body,
        content_type=content_type,
        headers={"MessageBird-Signature-JWT": signature},
    )


def test_a_refused_webhook_does_not_use_up_its_signature(client, pairs, mb_proxy):
    response = _signed_post(client, b"payload=hi", "application/x-www-form-urlencoded", jti="j1")
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_multipart_without_boundary_is_a_bad_request_that_writes_nothing(client, pairs, mb_proxy):
    response = _signed_post(client, b"--x\r\n", "multipart/form-data")
    assert response.status_code == 400
    assert b"not a valid form" in response.content
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("escaped", "stored"),
    [("a\\u0000b", "ab"), ("\\ud800!", "\ufffd!"), ("\\ud83d\\ude00", "\U0001f600")],
)
def test_nul_and_lone_surrogates_in_a_json_body_are_stored_not_a_500(
    client, pairs, mb_proxy, escaped, stored
):
    body = (
        '{"originator": "12065552000", "recipient": "12065550100", '
        f'"payload": "{escaped}", "id": "id-{escaped}"}}'
    ).encode()
    response = _signed_post(client, body, "application/json")
    assert response.status_code == 200
    inbound = Message.objects.get(direction="in")
    assert inbound.body == stored
    assert Message.objects.get(direction="out").body == stored


def test_nul_in_a_flowroute_body_is_stored_without_it(client, pairs, fr_proxy):
    body = b'{"from": "12065552000", "to": "12065550101", "body": "x\\u0000y", "id": "f\\u0000"}'
    response = client.generic(
        "POST",
        "/webhooks/flowroute/sms/test-flowroute-webhook-token/",
        body,
        content_type="application/json",
    )
    assert response.status_code == 200
    assert Message.objects.get(direction="in", vendor_id="f").body == "xy"


def test_call_flow_xml_drops_characters_xml_forbids():
    from xml.etree import ElementTree

    from providers.backends.messagebird import call_flow_xml
    from providers.types import CallAction

    xml = call_flow_xml(CallAction.say("one\x00two\x0bthree\ufffe & <four>"))
    assert ElementTree.fromstring(xml.encode()).text == "onetwothree & <four>"  # noqa: S314


def test_the_default_retry_budget_outlasts_a_long_vendor_outage(settings):
    from maskednumbers import settings as defaults
    from providers.outbox import backoff_seconds

    settings.MASKED_NUMBERS_DELIVERY = defaults.MASKED_NUMBERS_DELIVERY
    attempts = defaults.MASKED_NUMBERS_DELIVERY["MAX_ATTEMPTS"]
    waited = sum(backoff_seconds(attempts=n) for n in range(1, attempts))
    assert waited >= 2 * 3600


def test_the_flowroute_token_in_a_refused_path_is_not_logged(client, caplog, fr_proxy):
    token = "test-flowroute-webhook-token"
    assert (
        client.generic(
            "POST", f"/webhooks/flowroute/sms/{token}/", b"{", "application/json"
        ).status_code
        == 400
    )
    # An unknown alias is a 404 that Django logs with its path.
    assert (
        client.generic(
            "POST", f"/webhooks/nope/sms/{token}/", b"{}", "application/json"
        ).status_code
        == 404
    )
    assert not [r for r in caplog.records if token in r.getMessage()]
    logged = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert logged == ["Not Found: /webhooks/nope/sms/***/"]


def test_a_vendor_refusal_is_stored_for_staff_but_not_logged(caplog, fr_proxy, mocked_responses):
    import logging

    from providers.outbox import message_deliver, message_queue

    mocked_responses.add(
        "POST",
        "https://api.flowroute.test/v2.1/messages",
        status=400,
        json={"errors": [{"detail": "bad to 12065553000"}]},
    )
    caplog.set_level(logging.INFO)
    message = message_queue(proxy=fr_proxy, recipient="+12065553000", body="x")
    assert message_deliver(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert "bad to 12065553000" in message.last_error
    assert not [r for r in caplog.records if "12065553000" in r.getMessage()]


class _StopLoop(Exception):
    pass


# Outside a test transaction: the sweeper drops its connection after an error, which
# would end the transaction a plain django_db test runs in.
@pytest.mark.django_db(transaction=True)
def test_the_sweep_loop_outlives_a_database_error(monkeypatch, capsys):
    from django.core.management import call_command
    from django.db import OperationalError

    from providers.management.commands import outbox_sweep as command

    outcomes = iter([OperationalError("server closed the connection"), 2, _StopLoop()])

    def sweep():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(command, "outbox_sweep", sweep)
    with pytest.raises(_StopLoop):
        call_command("outbox_sweep", "--loop", "--interval", "0")
    assert "outbox: 2 message(s) enqueued" in capsys.readouterr().out


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("the database system is shutting down"),
        # What psycopg raises on the next use of a connection the server dropped.
        InterfaceError("connection already closed"),
    ],
    ids=["operational", "interface"],
)
def test_the_delivery_worker_outlives_a_database_error(monkeypatch, error):
    from providers.worker import ResilientWorker

    runs = []

    def serve_once(self):
        runs.append(self.worker_id)
        if len(runs) == 1:
            raise error

    monkeypatch.setattr(ResilientWorker, "serve", serve_once)
    ResilientWorker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="w1",
        excluded_queue_names=[],
    ).run()
    assert runs == ["w1", "w1"]
