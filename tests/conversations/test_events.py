"""`conversation.ended`: told once however a conversation ends."""

from __future__ import annotations

import pytest

from conversations.models import Conversation, EndReason
from conversations.services import conversation_expire_due, conversation_staff_end
from providers.models import Event
from tests import factories
from tests.events import emitted
from tests.texting import text

pytestmark = pytest.mark.django_db


@pytest.fixture
def talking():
    proxy = factories.conversations_number()
    starter, joiner = factories.conversations_person(), factories.conversations_person()
    conversation = factories.conversation(proxy=proxy, starter=starter, joiner=joiner)
    return conversation, starter, joiner


def test_a_relay_then_a_party_ending_it_are_told_once_each(events_on, talking):
    conversation, starter, joiner = talking

    text(starter, "see you at six", to=conversation.proxy.number)
    text(starter, "END", to=conversation.proxy.number)
    text(joiner, "END", to=conversation.proxy.number)

    # END alone is also an opt-out keyword: each party's is one optout.created.
    assert sorted(p["type"] for p in emitted()) == [
        "conversation.ended",
        "message.relayed",
        "optout.created",
        "optout.created",
    ]
    [payload] = emitted("conversation.ended")
    assert payload["data"] | {"ended_at": None} == {
        "session": conversation.session,
        "conversation_id": conversation.pk,
        "proxy_number": conversation.proxy.number,
        "reason": EndReason.PARTY,
        "ended_at": None,
        "parties": [
            {"role": "starter", "phone": f"+13*******{starter[-2:]}"},
            {"role": "joiner", "phone": f"+13*******{joiner[-2:]}"},
        ],
    }


def test_staff_ending_it_is_told_once(events_on, talking):
    conversation, _, _ = talking

    assert conversation_staff_end(conversation=conversation)
    assert not conversation_staff_end(conversation=conversation)

    assert [p["data"]["reason"] for p in emitted("conversation.ended")] == [EndReason.STAFF]


def test_a_lapsed_code_is_told_once_when_it_is_closed(events_on, clock):
    pending = factories.conversation()
    clock.advance(hours=2)

    assert conversation_expire_due(now=clock()) == 1
    assert conversation_expire_due(now=clock()) == 0

    [payload] = emitted("conversation.ended")
    assert (payload["data"]["conversation_id"], payload["data"]["reason"]) == (
        pending.pk,
        EndReason.CODE_EXPIRED,
    )


def test_without_an_events_url_nothing_is_told(settings, talking):
    settings.MASKED_NUMBERS_EVENTS_URL = ""
    conversation, starter, joiner = talking

    text(starter, "hello", to=conversation.proxy.number)
    text(starter, "END", to=conversation.proxy.number)

    assert Conversation.objects.get().end_reason == EndReason.PARTY
    assert Event.objects.count() == 0
