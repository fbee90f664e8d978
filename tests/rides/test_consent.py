"""Opt-outs on a rides number: STOP is never relayed, and nothing more reaches them."""

from __future__ import annotations

import pytest

from providers.consent import is_opted_out, opt_out_record
from providers.inbound import inbound_call_receive
from providers.models import Direction, Message, OptOut, Status
from providers.types import CallActionKind, InboundCall
from tests import factories
from tests.texting import delivered_to
from tests.texting import text as text_to

pytestmark = pytest.mark.django_db

CUSTOMER, DRIVER = "+14155550123", "+14155550456"
CONFIRMATION = "You will no longer receive texts from this number. Reply START to resume."


@pytest.fixture
def ride():
    proxy = factories.proxy_number(number="+12065550100")
    return factories.ride(
        customer=factories.customer(phone=CUSTOMER),
        driver=factories.driver(phone=DRIVER),
        proxy=proxy,
    )


@pytest.fixture
def text():
    """Text the ride's number (or `to`)."""

    def send(sender: str, body: str, *, to: str = "+12065550100") -> Message:
        return text_to(sender, body, to=to)

    return send


def outbound(to: str) -> list[Message]:
    return list(Message.objects.filter(direction=Direction.OUTBOUND, recipient=to).order_by("id"))


def test_stop_is_recorded_confirmed_once_and_never_relayed(ride, text):
    inbound = text(CUSTOMER, "Stop!")
    assert (inbound.outcome, inbound.session) == ("opted_out", ride.session)
    assert is_opted_out(proxy=ride.proxy, phone=CUSTOMER)
    assert OptOut.objects.get().keyword == "Stop!"
    assert outbound(DRIVER) == []
    assert delivered_to(CUSTOMER) == [CONFIRMATION]

    again = text(CUSTOMER, "STOP")
    assert again.outcome == "opted_out_again"
    assert delivered_to(CUSTOMER) == [CONFIRMATION]
    assert outbound(DRIVER) == []


def test_the_other_partys_texts_to_an_opted_out_person_are_logged_not_sent(ride, text):
    text(CUSTOMER, "STOP")
    text(DRIVER, "I'm outside")
    text(DRIVER, "Blue car")

    suppressed = outbound(CUSTOMER)[1:]
    assert [(m.body, m.status, m.last_error) for m in suppressed] == [
        ("I'm outside", Status.SUPPRESSED, "opted out"),
        ("Blue car", Status.SUPPRESSED, "opted out"),
    ]
    assert Message(status=Status.SUPPRESSED).get_status_display() == "Not sent: opted out"
    assert delivered_to(CUSTOMER) == [CONFIRMATION]


def test_the_other_party_is_told_once_per_ride_that_texts_cannot_be_delivered(ride, text, settings):
    settings.MASKED_NUMBERS_RECIPIENT_OPTED_OUT_NOTICE = "Texts cannot be delivered."
    text(CUSTOMER, "STOP")
    text(DRIVER, "I'm outside")
    text(DRIVER, "Blue car")
    assert delivered_to(DRIVER) == ["Texts cannot be delivered."]
    notice = outbound(DRIVER)[0]
    assert (notice.session, notice.outcome) == (ride.session, "recipient_opted_out")
    assert CUSTOMER not in notice.body

    # Another ride between other people on the same number: its own notice.
    other = factories.ride(proxy=ride.proxy)
    opt_out_record(proxy=ride.proxy, phone=other.customer.phone, keyword="STOP")
    text(other.driver.phone, "Hello")
    assert delivered_to(other.driver.phone) == ["Texts cannot be delivered."]


def test_nothing_else_is_sent_from_that_number_until_they_opt_in(ride, text):
    text(CUSTOMER, "STOP")
    text(DRIVER, "Where are you?")
    inbound = text(CUSTOMER, "unstop")
    assert inbound.outcome == "opted_in"
    assert not is_opted_out(proxy=ride.proxy, phone=CUSTOMER)
    text(DRIVER, "Here now")
    assert delivered_to(CUSTOMER) == [
        CONFIRMATION,
        "You will receive texts from this number again. Reply STOP to stop.",
        "Here now",
    ]
    # The opt-in keyword itself is not relayed.
    assert [m.body for m in outbound(DRIVER) if m.outcome != "recipient_opted_out"] == []


def test_an_opt_out_is_per_number(ride, text):
    text(CUSTOMER, "STOP")
    elsewhere = factories.ride(
        customer=ride.customer,
        driver=factories.driver(),
        proxy=factories.proxy_number(number="+12065550177"),
    )
    text(elsewhere.driver.phone, "On my way", to=elsewhere.proxy.number)
    assert delivered_to(CUSTOMER)[-1] == "On my way"


def test_yes_between_ride_parties_who_never_opted_out_is_relayed(ride, text):
    inbound = text(DRIVER, "Yes")
    assert inbound.outcome == "relayed"
    assert delivered_to(CUSTOMER) == ["Yes"]


def test_a_keyword_inside_a_sentence_is_relayed(ride, text):
    text(CUSTOMER, "please stop at the gate")
    assert delivered_to(DRIVER) == ["please stop at the gate"]
    assert not OptOut.objects.exists()


def test_a_stop_from_a_stranger_is_recorded_and_confirmed(ride, text):
    stranger = "+14155550999"
    inbound = text(stranger, "STOP")
    assert (inbound.outcome, inbound.session) == ("opted_out", "")
    assert delivered_to(stranger) == [CONFIRMATION]


def call(caller: str) -> InboundCall:
    return InboundCall(provider="console", caller=caller, recipient="+12065550100")


def test_calls_still_reach_an_opted_out_person_by_default(ride, text):
    text(CUSTOMER, "STOP")
    action = inbound_call_receive(inbound=call(DRIVER))
    assert (action.kind, action.destination) == (CallActionKind.TRANSFER, CUSTOMER)


def test_calls_to_an_opted_out_person_are_refused_when_the_setting_says_so(ride, text, settings):
    settings.MASKED_NUMBERS_OPT_OUT_BLOCKS_CALLS = True
    text(CUSTOMER, "STOP")
    action = inbound_call_receive(inbound=call(DRIVER))
    assert action.kind == CallActionKind.SAY
    assert CUSTOMER not in action.text
    log = Message.objects.get(direction=Direction.INBOUND, kind="call")
    assert (log.status, log.outcome) == (Status.ANSWERED, "recipient_opted_out")
    # The opted-out person can still call the other party.
    assert inbound_call_receive(inbound=call(CUSTOMER)).kind == CallActionKind.TRANSFER


def test_a_text_to_an_opted_out_person_gets_no_delivery_task(ride, text, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    opt_out_record(proxy=ride.proxy, phone=CUSTOMER, keyword="STOP")
    text(DRIVER, "I'm outside")
    suppressed = Message.objects.get(direction=Direction.OUTBOUND, recipient=CUSTOMER)
    assert suppressed.status == Status.SUPPRESSED
    # One task only: the notice to the driver that the text was not delivered.
    assert DBTaskResult.objects.count() == 1
    assert Message.objects.get(recipient=DRIVER).outcome == "recipient_opted_out"
