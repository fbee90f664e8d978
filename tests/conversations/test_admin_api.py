from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from conversations import replies
from conversations.models import Conversation, EndReason, State
from conversations.services import conversation_sms_receive
from providers.backends.console import inbound_sms
from providers.inbound import inbound_sms_receive
from providers.models import Message
from providers.phone import mask
from tests.factories import conversation, conversations_number
from tests.factories import conversations_person as person

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/conversations/conversation/"


@pytest.fixture
def talk():
    """A joined conversation with one relayed message, through the real inbound path."""
    proxy = conversations_number()
    alice, bob = person(), person()
    item = conversation(proxy=proxy, starter=alice)
    for sender, text in [(bob, f"JOIN {item.code}"), (alice, "meet at the north door")]:
        inbound_sms_receive(inbound=inbound_sms(sender=sender, recipient=proxy.number, text=text))
    item.refresh_from_db()
    return item, alice, bob


# --- admin ----------------------------------------------------------------------------------


def test_admin_list_shows_code_number_state_and_masked_parties(masked_client, talk):
    item, alice, bob = talk
    page = masked_client.get(CHANGELIST).content.decode()
    assert item.code in page and item.proxy.number in page
    assert mask(alice) in page and mask(bob) in page
    assert alice not in page and bob not in page


def test_admin_list_shows_full_parties_to_staff_allowed_to_see_them(admin_client, talk):
    item, alice, bob = talk
    page = admin_client.get(CHANGELIST).content.decode()
    assert alice in page and bob in page


def test_admin_finds_a_persons_conversations_by_full_number_without_showing_it(admin_client, talk):
    item, alice, _ = talk
    other = conversation()
    page = admin_client.get(CHANGELIST, {"q": alice}).content.decode()
    assert item.code in page and other.code not in page
    assert "1 conversation" in page


def test_admin_detail_shows_the_messages_of_the_conversation(admin_client, talk):
    item, alice, bob = talk
    page = admin_client.get(f"{CHANGELIST}{item.pk}/change/").content.decode()
    assert "meet at the north door" in page
    assert "You are connected." in page
    assert alice in page and bob in page
    assert f"/admin/providers/message/?session=conversation%3A{item.pk}" in page


def test_admin_detail_masks_numbers_and_texts_without_the_permission(masked_client, talk):
    item, alice, bob = talk
    page = masked_client.get(f"{CHANGELIST}{item.pk}/change/").content.decode()
    assert "meet at the north door" not in page and "(text hidden)" in page
    assert mask(alice) in page and item.proxy.number in page
    assert alice not in page and bob not in page


def test_admin_filters_by_state(admin_client, talk):
    item, _, _ = talk
    pending = conversation()
    page = admin_client.get(CHANGELIST, {"state__exact": "pending"}).content.decode()
    assert pending.code in page and item.code not in page


def test_admin_action_ends_a_conversation_and_tells_both_parties(admin_client, talk):
    item, alice, bob = talk
    response = admin_client.post(
        CHANGELIST, {"action": "end", "_selected_action": [item.pk], "post": "yes"}, follow=True
    )
    assert "1 conversation(s) ended." in response.content.decode()
    item.refresh_from_db()
    assert (item.state, item.end_reason) == (State.ENDED, EndReason.STAFF)
    told = Message.objects.filter(session=item.session, body=replies.ENDED_BY_STAFF)
    assert sorted(told.values_list("recipient", flat=True)) == sorted([alice, bob])
    # Both can start afresh on the number.
    assert conversation_sms_receive(proxy=item.proxy, sender=bob, text="START").outcome == (
        "started"
    )


def test_staff_without_change_permission_see_but_cannot_end(client, django_user_model, talk):
    item, _, _ = talk
    viewer = django_user_model.objects.create_user("viewer", password="pw-123456789", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    client.force_login(viewer)
    page = client.get(CHANGELIST).content.decode()
    assert item.code in page
    client.post(CHANGELIST, {"action": "end", "_selected_action": [item.pk], "post": "yes"})
    item.refresh_from_db()
    assert item.state == State.ACTIVE


@pytest.mark.parametrize(
    "path",
    ["/admin/conversations/participant/", "/admin/conversations/joinfailure/"],
)
def test_other_admin_lists_mask_numbers(masked_client, path):
    proxy = conversations_number()
    guesser = person()
    conversation(proxy=proxy, starter=guesser)
    conversation_sms_receive(proxy=proxy, sender=guesser, text="END")
    conversation_sms_receive(proxy=proxy, sender=guesser, text="JOIN ZZZZZZ")
    page = masked_client.get(path).content.decode()
    assert mask(guesser) in page
    assert guesser not in page


# --- API ------------------------------------------------------------------------------------


def test_api_lists_conversations_with_masked_parties(masked_client, talk):
    item, alice, bob = talk
    data = masked_client.get("/api/conversations/").json()
    assert data["count"] == 1
    [row] = data["results"]
    assert row["id"] == item.pk and row["code"] == item.code
    assert row["number"] == item.proxy.number
    assert row["state"] == "active"
    assert row["session"] == f"conversation:{item.pk}"
    assert [(p["role"], p["phone"]) for p in row["parties"]] == [
        ("starter", mask(alice)),
        ("joiner", mask(bob)),
    ]
    body = masked_client.get("/api/conversations/").content.decode()
    assert alice not in body and bob not in body


def test_api_detail(admin_client, talk):
    item, alice, _ = talk
    row = admin_client.get(f"/api/conversations/{item.pk}/").json()
    assert row["code"] == item.code and row["parties"][0]["phone"] == alice
    assert admin_client.get("/api/conversations/999999/").status_code == 404


def test_api_filters_by_state_and_number(admin_client, talk):
    item, _, _ = talk
    pending = conversation()
    by_state = admin_client.get("/api/conversations/", {"state": "pending"}).json()
    assert [r["id"] for r in by_state["results"]] == [pending.pk]
    by_number = admin_client.get("/api/conversations/", {"number": item.proxy.number}).json()
    assert [r["id"] for r in by_number["results"]] == [item.pk]


@pytest.mark.parametrize(
    ("params", "field"), [({"state": "open"}, "state"), ({"number": "not-a-number"}, "number")]
)
def test_api_refuses_bad_filters_with_a_reason(admin_client, params, field):
    response = admin_client.get("/api/conversations/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_api_is_read_only(admin_client, talk):
    item, _, _ = talk
    assert admin_client.post("/api/conversations/", {}).status_code == 405
    assert admin_client.delete(f"/api/conversations/{item.pk}/").status_code == 405
    assert Conversation.objects.filter(pk=item.pk).exists()


def test_api_is_for_staff_only(client, django_user_model):
    assert client.get("/api/conversations/").status_code in {401, 403}
    client.force_login(django_user_model.objects.create_user("someone", password="pw-123456789"))
    assert client.get("/api/conversations/").status_code == 403


def test_openapi_schema_describes_the_conversations_api(admin_client):
    schema = admin_client.get("/api/schema/", {"format": "json"}).json()
    listing = schema["paths"]["/api/conversations/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"state", "number", "limit", "offset"}
    assert "/api/conversations/{id}/" in schema["paths"]
    assert set(schema["paths"]["/api/conversations/"]) == {"get"}
    component = schema["components"]["schemas"]["Conversation"]
    assert {"code", "number", "state", "parties", "expires_at"} <= set(component["properties"])
    party = schema["components"]["schemas"]["Party"]["properties"]
    assert party["phone"]["type"] == "string"
