"""HELP, and the bounds on replies to people who are no party (usage texts, HELP,
unknown-sender replies, JOIN errors): per sender, per number, by destination."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from conversations import replies as conversation_replies
from conversations.router import ConversationsRouter
from maskednumbers.dashboard import pool_health
from providers.models import Direction, Message
from providers.replies import Refusal, numbers_at_reply_limit
from rides.conf import unknown_sender_reply
from rides.router import RidesRouter
from tests import factories
from tests.texting import delivered_to, text

pytestmark = pytest.mark.django_db

RIDES_NUMBER, CONVERSATIONS_NUMBER = "+12065550100", "+12065550110"
CUSTOMER, DRIVER = "+14155550123", "+14155550456"
STRANGER = "+14155550999"
HELP_REPLY = settings.MASKED_NUMBERS_HELP_REPLY
STOP_LINE = settings.MASKED_NUMBERS_HELP_STOP


@pytest.fixture
def ride():
    return factories.ride(
        customer=factories.customer(phone=CUSTOMER),
        driver=factories.driver(phone=DRIVER),
        proxy=factories.proxy_number(number=RIDES_NUMBER),
    )


@pytest.fixture
def conversations_number():
    return factories.conversations_number(number=CONVERSATIONS_NUMBER)


def an_hour_passes() -> None:
    Message.objects.update(created_at=timezone.now() - timedelta(minutes=61))


def system_replies(to: str) -> list[Message]:
    return list(Message.objects.filter(direction=Direction.OUTBOUND, recipient=to, system=True))


# --- HELP ----------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["HELP", "info", " Help! "])
def test_help_from_someone_no_party_of_a_ride_gets_the_help_reply(ride, word):
    inbound = text(STRANGER, word, to=RIDES_NUMBER)
    assert delivered_to(STRANGER) == [HELP_REPLY]
    assert inbound.outcome == "help"
    assert len(system_replies(STRANGER)) == 1
    assert delivered_to(CUSTOMER) == delivered_to(DRIVER) == []


def test_the_help_reply_names_the_service_rates_and_how_to_stop():
    assert "Masked numbers" in HELP_REPLY
    assert "Msg&data rates may apply" in HELP_REPLY
    assert "STOP" in HELP_REPLY


def test_help_from_a_party_of_an_open_ride_is_relayed_like_any_text(ride):
    inbound = text(CUSTOMER, "help", to=RIDES_NUMBER)
    assert delivered_to(DRIVER) == ["help"]
    assert delivered_to(CUSTOMER) == []
    assert (inbound.outcome, inbound.session) == ("relayed", ride.session)
    assert not Message.objects.filter(system=True).exists()


def test_help_keywords_and_reply_are_settings(ride, settings):
    settings.MASKED_NUMBERS_HELP_KEYWORDS = ["AIDE"]
    settings.MASKED_NUMBERS_HELP_REPLY = "Aide: texte STOP pour arreter."
    assert text(STRANGER, "aide", to=RIDES_NUMBER).outcome == "help"
    assert text(STRANGER, "help", to=RIDES_NUMBER).outcome == "unknown_sender"  # no keyword now
    assert delivered_to(STRANGER) == ["Aide: texte STOP pour arreter.", unknown_sender_reply()]


def test_help_on_a_conversations_number_is_the_usage_text_with_how_to_stop(
    conversations_number,
):
    inbound = text(STRANGER, "INFO", to=CONVERSATIONS_NUMBER)
    assert delivered_to(STRANGER) == [f"{conversation_replies.USAGE} {STOP_LINE}"]
    assert inbound.outcome == "help"
    assert len(system_replies(STRANGER)) == 1


def test_help_from_a_connected_party_is_the_protocols_help_and_not_relayed(conversations_number):
    alice, bob = factories.conversations_person(), factories.conversations_person()
    factories.conversation(proxy=conversations_number, starter=alice, joiner=bob)
    text(alice, "help", to=CONVERSATIONS_NUMBER)
    expected = f"{conversation_replies.CONNECTED_HELP} {conversation_replies.USAGE} {STOP_LINE}"
    assert delivered_to(alice) == [expected]
    assert delivered_to(bob) == []
    assert system_replies(alice) == []  # a party's reply is not a stranger's


# --- which replies are system replies --------------------------------------------------


def test_join_errors_and_usage_texts_are_system_replies_relays_are_not(conversations_number):
    alice, bob = factories.conversations_person(), factories.conversations_person()
    text(STRANGER, "JOIN K7Q2XM", to=CONVERSATIONS_NUMBER)
    text(STRANGER, "hello?", to=CONVERSATIONS_NUMBER)
    factories.conversation(proxy=conversations_number, starter=alice, joiner=bob)
    text(alice, "hi Bob", to=CONVERSATIONS_NUMBER)
    assert [m.outcome for m in system_replies(STRANGER)] == ["usage", "join_unknown_code"]
    assert delivered_to(bob) == ["hi Bob"]
    assert not Message.objects.filter(recipient=bob, system=True).exists()


def test_the_unknown_sender_reply_is_a_system_reply(ride):
    text(STRANGER, "where are you?", to=RIDES_NUMBER)
    assert [m.outcome for m in system_replies(STRANGER)] == ["unknown_sender"]


# --- per sender and number -------------------------------------------------------------


def test_a_sender_gets_five_system_replies_an_hour_then_silence(conversations_number, caplog):
    caplog.set_level(logging.INFO, logger="providers")
    outcomes = [text(STRANGER, "HELP", to=CONVERSATIONS_NUMBER).outcome for _ in range(7)]
    assert outcomes == ["help"] * 5 + [Refusal.SENDER_LIMIT] * 2
    assert len(delivered_to(STRANGER)) == 5
    refused = [r.getMessage() for r in caplog.records if "not sent" in r.getMessage()]
    assert len(refused) == 2 and "reply_limited_per_sender" in refused[0]
    assert not any("555" in line for line in refused)  # no number in it, masked or not

    an_hour_passes()
    assert text(STRANGER, "HELP", to=CONVERSATIONS_NUMBER).outcome == "help"
    assert len(delivered_to(STRANGER)) == 6


def test_the_limit_per_sender_counts_every_kind_of_system_reply(conversations_number, settings):
    settings.MASKED_NUMBERS_SYSTEM_REPLIES_PER_SENDER = 2
    text(STRANGER, "HELP", to=CONVERSATIONS_NUMBER)
    text(STRANGER, "JOIN K7Q2XM", to=CONVERSATIONS_NUMBER)
    assert text(STRANGER, "JOIN K7Q2XN", to=CONVERSATIONS_NUMBER).outcome == Refusal.SENDER_LIMIT
    # Another person, or the same one on another number, is counted apart.
    other = factories.conversations_person()
    assert text(other, "HELP", to=CONVERSATIONS_NUMBER).outcome == "help"
    factories.conversations_number(number="+12065550111")
    assert text(STRANGER, "HELP", to="+12065550111").outcome == "help"


def test_a_number_answers_sixty_strangers_an_hour_then_warns_on_the_dashboard(
    conversations_number, settings, admin_client, caplog
):
    settings.MASKED_NUMBERS_SYSTEM_REPLIES_PER_NUMBER = 3
    strangers = [f"+1415555{n:04d}" for n in range(1000, 1005)]
    outcomes = [text(s, "hello?", to=CONVERSATIONS_NUMBER).outcome for s in strangers]
    assert outcomes == ["usage"] * 3 + [Refusal.NUMBER_LIMIT] * 2
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 3
    assert any(
        r.levelno == logging.WARNING and "+12*******10" in r.getMessage() for r in caplog.records
    )

    assert [p.number for p in numbers_at_reply_limit()] == [CONVERSATIONS_NUMBER]
    assert [p.number for p in pool_health().reply_limited] == [CONVERSATIONS_NUMBER]
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "reached their hourly limit" in page and CONVERSATIONS_NUMBER in page
    link = re.search(r'href="([^"]*system__exact=1)"', page).group(1).replace("&amp;", "&")
    listed = admin_client.get(link)
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 3

    an_hour_passes()
    assert numbers_at_reply_limit() == []
    assert (
        "reached their hourly limit"
        not in admin_client.get(reverse("admin:index")).content.decode()
    )


def test_the_per_number_limit_leaves_relays_and_other_numbers_alone(ride, settings):
    settings.MASKED_NUMBERS_SYSTEM_REPLIES_PER_NUMBER = 1
    text(STRANGER, "HELP", to=RIDES_NUMBER)
    assert text("+14155550998", "HELP", to=RIDES_NUMBER).outcome == Refusal.NUMBER_LIMIT
    text(CUSTOMER, "on my way", to=RIDES_NUMBER)
    assert delivered_to(DRIVER) == ["on my way"]
    factories.proxy_number(number="+12065550101")
    assert text("+14155550998", "HELP", to="+12065550101").outcome == "help"


# --- where replies may go --------------------------------------------------------------


def test_system_replies_go_only_to_the_countries_of_the_pool(ride):
    british = "+447400123456"
    assert text(british, "HELP", to=RIDES_NUMBER).outcome == Refusal.COUNTRY
    assert text(british, "who is this?", to=RIDES_NUMBER).outcome == Refusal.COUNTRY
    assert delivered_to(british) == []
    factories.proxy_number(number="+447700900123", country="GB")
    assert text(british, "HELP", to=RIDES_NUMBER).outcome == "help"


def test_the_countries_system_replies_may_go_to_are_a_setting(ride, settings):
    settings.MASKED_NUMBERS_SYSTEM_REPLY_COUNTRIES = ["GB"]
    assert text(STRANGER, "HELP", to=RIDES_NUMBER).outcome == Refusal.COUNTRY
    assert text("+447400123456", "HELP", to=RIDES_NUMBER).outcome == "help"


@pytest.mark.parametrize(
    "number", ["+19005550100", "+882123456789", "+881612345678", "+883510012345"]
)
def test_system_replies_never_go_to_costly_numbers(ride, settings, number):
    settings.MASKED_NUMBERS_SYSTEM_REPLY_COUNTRIES = ["US", "001"]
    assert text(number, "HELP", to=RIDES_NUMBER).outcome == Refusal.COSTLY
    assert text(number, "hello", to=RIDES_NUMBER).outcome == Refusal.COSTLY
    assert delivered_to(number) == []


def test_a_party_is_answered_whatever_the_limits(conversations_number, settings):
    settings.MASKED_NUMBERS_SYSTEM_REPLIES_PER_NUMBER = 0
    alice = factories.conversations_person()
    text(alice, "START", to=CONVERSATIONS_NUMBER)
    assert len(delivered_to(alice)) == 1  # the code: she is a party now
    assert text(STRANGER, "HELP", to=CONVERSATIONS_NUMBER).outcome == Refusal.NUMBER_LIMIT


def test_an_opted_out_stranger_gets_no_system_reply_and_uses_no_budget(ride, settings):
    settings.MASKED_NUMBERS_SYSTEM_REPLIES_PER_NUMBER = 1
    text(STRANGER, "STOP", to=RIDES_NUMBER)
    text(STRANGER, "HELP", to=RIDES_NUMBER)
    assert delivered_to(STRANGER) == [settings.MASKED_NUMBERS_OPT_OUT_CONFIRMATION]
    assert text("+14155550998", "HELP", to=RIDES_NUMBER).outcome == "help"


def test_the_routers_know_who_is_a_party(ride, conversations_number):
    assert RidesRouter().is_party(proxy=ride.proxy, sender=CUSTOMER)
    assert not RidesRouter().is_party(proxy=ride.proxy, sender=STRANGER)
    alice = factories.conversations_person()
    factories.conversation(proxy=conversations_number, starter=alice)
    assert ConversationsRouter().is_party(proxy=conversations_number, sender=alice)
    assert not ConversationsRouter().is_party(proxy=conversations_number, sender=STRANGER)
