"""The inbound service: one transaction per event, a replay refused, a redelivery
acknowledged, nothing half written."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

from providers.exceptions import WebhookValidationError
from providers.inbound import inbound_call_receive, inbound_sms_receive
from providers.models import Direction, Message, ProxyNumber, Status
from providers.routing import BaseRouter
from providers.types import CallAction, CallDecision, InboundCall, InboundSms, SmsDecision
from tests.providers.routers import EchoRouter

pytestmark = pytest.mark.django_db

NUMBER = "+14155550100"
SENDER = "+14155550123"
WRITER = "tests.providers.test_inbound.WritingRouter"
_written = itertools.count(1)


class WritingRouter(EchoRouter):
    """Echoes, and writes a row of its own while routing (as conversations do)."""

    def route_sms(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        ProxyNumber.objects.create(number=f"+1206554{next(_written):04d}", provider="console")
        return super().route_sms(proxy=proxy, sender=sender, text=text)

    def route_call(self, *, proxy: ProxyNumber, caller: str) -> CallDecision:
        ProxyNumber.objects.create(number=f"+1206554{next(_written):04d}", provider="console")
        return super().route_call(proxy=proxy, caller=caller)


class BrokenRouter(BaseRouter):
    def route_sms(self, *, proxy: ProxyNumber, sender: str, text: str) -> SmsDecision:
        raise RuntimeError("router bug")


def sms(*, vendor_id: str = "in-1", nonce: str = "", text: str = "hello") -> InboundSms:
    return InboundSms(
        provider="messagebird",
        sender=SENDER,
        recipient=NUMBER,
        text=text,
        vendor_id=vendor_id,
        nonce=nonce,
    )


def call(*, vendor_id: str = "c-1", nonce: str = "") -> InboundCall:
    return InboundCall(
        provider="messagebird", caller=SENDER, recipient=NUMBER, vendor_id=vendor_id, nonce=nonce
    )


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def writing_router(settings):
    settings.MASKED_NUMBERS_ROUTERS = {"rides": WRITER, "conversations": WRITER}


def test_a_text_is_logged_with_its_outcome_and_its_reply_queued_with_its_task(
    mb_proxy, database_tasks
):
    result = inbound_sms_receive(inbound=sms(nonce="jti-1"))

    assert not result.duplicate
    logged = Message.objects.get(direction=Direction.INBOUND)
    assert (logged.pk, logged.status, logged.outcome, logged.nonce) == (
        result.message.pk,
        Status.RECEIVED,
        "echoed",
        "jti-1",
    )
    reply = Message.objects.get(direction=Direction.OUTBOUND)
    assert (reply.status, reply.in_reply_to_id, reply.body) == (
        Status.QUEUED,
        logged.pk,
        "echo: hello",
    )
    assert DBTaskResult.objects.get().args_kwargs == {"args": [reply.pk], "kwargs": {}}


def test_a_redelivered_text_is_acknowledged_with_the_first_and_writes_nothing_more(
    mb_proxy, writing_router, database_tasks
):
    first = inbound_sms_receive(inbound=sms(nonce="jti-1"))
    again = inbound_sms_receive(inbound=sms(nonce="jti-2"))  # same vendor id, new signature

    assert again.duplicate
    assert again.message.pk == first.message.pk
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1
    assert DBTaskResult.objects.count() == 1
    assert ProxyNumber.objects.count() == 2, "the router's write of the redelivery is undone"


def test_a_replayed_signature_is_refused_and_what_its_router_wrote_is_undone(
    mb_proxy, writing_router
):
    inbound_sms_receive(inbound=sms(nonce="jti-1"))

    with pytest.raises(WebhookValidationError, match="replay"):
        inbound_sms_receive(inbound=sms(vendor_id="in-2", nonce="jti-1", text="other"))

    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1
    assert ProxyNumber.objects.count() == 2


def test_a_replayed_request_is_refused_though_its_vendor_id_is_a_redelivery_too(mb_proxy):
    inbound_sms_receive(inbound=sms(nonce="jti-1"))

    with pytest.raises(WebhookValidationError, match="replay"):
        inbound_sms_receive(inbound=sms(nonce="jti-1"))


def test_a_replay_inside_a_callers_transaction_leaves_that_transaction_usable(mb_proxy):
    inbound_sms_receive(inbound=sms(nonce="jti-1"))

    with transaction.atomic():
        with pytest.raises(WebhookValidationError):
            inbound_sms_receive(inbound=sms(vendor_id="in-2", nonce="jti-1"))
        assert Message.objects.count() == 2  # the first text and its reply, readable


def test_a_router_that_fails_leaves_nothing_written(mb_proxy, settings):
    settings.MASKED_NUMBERS_ROUTERS = {"rides": "tests.providers.test_inbound.BrokenRouter"}

    with pytest.raises(RuntimeError, match="router bug"):
        inbound_sms_receive(inbound=sms(nonce="jti-1"))

    assert not Message.objects.exists()
    # Its signature id was not used up: the vendor's retry is taken.
    settings.MASKED_NUMBERS_ROUTERS = {"rides": "tests.providers.routers.EchoRouter"}
    assert not inbound_sms_receive(inbound=sms(nonce="jti-1")).duplicate


def test_a_text_whose_task_cannot_be_written_leaves_no_reply_without_its_task(
    mb_proxy, database_tasks, monkeypatch
):
    from django.db import DatabaseError

    # The task row's INSERT fails in the database, as it would with its table gone.
    monkeypatch.setattr(
        "providers.tasks.DELIVERY_TASK_SQL",
        "INSERT INTO no_such_task_table (id) VALUES (%(id)s)",
    )

    with pytest.raises(DatabaseError):
        inbound_sms_receive(inbound=sms())

    assert not Message.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_a_text_to_a_number_outside_the_pool_is_logged_unrouted(db):
    result = inbound_sms_receive(inbound=sms(nonce="jti-1"))

    assert (result.message.status, result.message.outcome) == (Status.UNROUTED, "not_in_pool")
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()


def test_a_call_asked_again_gets_the_same_answer_logged_once(mb_proxy, writing_router):
    first = inbound_call_receive(inbound=call(nonce="jti-1"))
    again = inbound_call_receive(inbound=call(nonce="jti-2"))

    assert first == again == CallAction.transfer("+12065550999")
    assert Message.objects.get().status == Status.TRANSFERRED
    assert ProxyNumber.objects.count() == 2


def test_a_replayed_call_is_refused_and_writes_nothing(mb_proxy, writing_router):
    inbound_call_receive(inbound=call(nonce="jti-1"))

    with pytest.raises(WebhookValidationError, match="replay"):
        inbound_call_receive(inbound=call(vendor_id="c-2", nonce="jti-1"))

    assert Message.objects.count() == 1
    assert ProxyNumber.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_an_event_is_one_transaction_without_a_savepoint(mb_proxy, database_tasks):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        inbound_sms_receive(inbound=sms(nonce="jti-1"))

    control = [q["sql"] for q in captured.captured_queries if q["sql"].split()[0].isupper()]
    assert not [sql for sql in control if "SAVEPOINT" in sql]
    if connection.vendor == "postgresql":
        assert [sql for sql in control if sql in ("BEGIN", "COMMIT")] == ["BEGIN", "COMMIT"]
