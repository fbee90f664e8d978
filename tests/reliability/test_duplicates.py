"""The same webhook delivered many times, also at once, relays exactly once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client, override_settings

from providers.models import Direction, Kind, Message, Status
from tests.signing import messagebird_signature

from .conftest import requires_postgres

SMS = "/webhooks/messagebird/sms/"
SENDER, PROXY = "+12065552000", "+12065550100"


def _sms_body(vendor_id: str, text: str = "see you at the corner") -> bytes:
    return urlencode(
        {"originator": SENDER[1:], "recipient": PROXY[1:], "payload": text, "id": vendor_id}
    ).encode()


def _deliver(client: Client, body: bytes, *, jti: str | None = None):
    signature = messagebird_signature(url=f"http://testserver{SMS}", body=body, jti=jti)
    return client.generic(
        "POST",
        SMS,
        body,
        content_type="application/x-www-form-urlencoded",
        headers={"MessageBird-Signature-JWT": signature},
    )


def _in_threads(count: int, work) -> list:
    """Run `work()` in `count` threads released together; each closes its connection."""
    barrier = threading.Barrier(count)

    def run():
        barrier.wait(timeout=30)
        try:
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(run) for _ in range(count)]
        return [f.result(timeout=60) for f in futures]


@pytest.mark.django_db
def test_a_webhook_delivered_ten_times_relays_once(client, pairs, mb_proxy):
    statuses = [_deliver(client, _sms_body("mb-1")).status_code for _ in range(10)]
    assert statuses == [200] * 10
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    relayed = Message.objects.get(direction=Direction.OUTBOUND)
    assert relayed.recipient == pairs[SENDER]
    assert Message.objects.exclude(nonce="").count() == 1  # the first signature's id


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_webhook_delivered_concurrently_relays_once(pairs, mb_proxy, messagebird_api):
    body = _sms_body("mb-concurrent", text="concurrent hello")
    statuses = _in_threads(8, lambda: _deliver(Client(), body).status_code)
    assert statuses == [200] * 8
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    relayed = Message.objects.get(direction=Direction.OUTBOUND)
    assert relayed.status == Status.SENT
    assert messagebird_api.bodies() == {"concurrent hello": 1}


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_replayed_signature_sent_concurrently_is_accepted_once(pairs, mb_proxy, messagebird_api):
    body = _sms_body("mb-replay")
    signature = messagebird_signature(url=f"http://testserver{SMS}", body=body)

    def replay():
        return (
            Client()
            .generic(
                "POST",
                SMS,
                body,
                content_type="application/x-www-form-urlencoded",
                headers={"MessageBird-Signature-JWT": signature},
            )
            .status_code
        )

    statuses = sorted(_in_threads(6, replay))
    assert statuses == [200] + [403] * 5
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_call_asked_concurrently_is_logged_once_with_one_answer(pairs, mb_proxy):
    path = "/webhooks/messagebird/voice/?" + urlencode(
        {"source": SENDER[1:], "destination": PROXY[1:], "callID": "call-1"}
    )

    def ask():
        signature = messagebird_signature(url=f"http://testserver{path}")
        response = Client().get(path, headers={"MessageBird-Signature-JWT": signature})
        return response.status_code, response.content

    answers = _in_threads(6, ask)
    assert {status for status, _ in answers} == {200}
    assert len({content for _, content in answers}) == 1
    assert Message.objects.filter(kind=Kind.CALL).count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
@override_settings(MASKED_NUMBERS_LOOP_MAX_TEXTS=100)  # 24 texts of one party at once
def test_many_different_webhooks_at_once_each_relay_once(pairs, mb_proxy, messagebird_api):
    bodies = [_sms_body(f"mb-{i}", text=f"message {i}") for i in range(24)]
    lock = threading.Lock()

    def next_body_twice():
        with lock:
            body = bodies.pop()
        # Each webhook arrives twice, the second time while the first may still run.
        return [_deliver(Client(), body).status_code for _ in range(2)]

    statuses = _in_threads(24, next_body_twice)
    assert all(s == [200, 200] for s in statuses)
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 24
    assert messagebird_api.bodies() == {f"message {i}": 1 for i in range(24)}
