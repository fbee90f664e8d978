"""What staff meet across the admin: typed numbers found everywhere, pages that link
to what they name, one masking rule, and confirmation before anyone is texted."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from conversations.models import Conversation, State
from providers.models import Direction, Message, Service, Status
from providers.phone import mask
from rides.models import Ride, RideStatus
from tests import factories
from tests.providers.logs import outbound_row

pytestmark = pytest.mark.django_db

CARLA = "+14155550120"
TYPED = ["415-555-0120", "(415) 555-0120", "+1 415 555 0120", "+14155550120"]


# --- one phone search everywhere ------------------------------------------------------


@pytest.fixture
def carla_everywhere():
    """Carla's number in a ride, the message log, a conversation and the pool."""
    carla = factories.customer(name="Carla", phone=CARLA)
    factories.driver(name="Carla's namesake", phone=CARLA)
    ride = factories.ride(customer=carla, proxy=factories.proxy_number())
    outbound_row(ride.proxy, recipient=CARLA, session=ride.session)
    factories.conversation(starter=CARLA)
    factories.proxy_number(number="+14155550129")
    return ride


@pytest.mark.parametrize("typed", TYPED)
@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("/admin/rides/ride/", "1 ride"),
        ("/admin/rides/customer/", "1 customer"),
        ("/admin/rides/driver/", "1 driver"),
        ("/admin/providers/message/", "1 message"),
        ("/admin/conversations/conversation/", "1 conversation"),
        ("/admin/conversations/participant/", "1 participant"),
    ],
)
def test_a_number_typed_any_usual_way_finds_its_e164_form(
    admin_client, carla_everywhere, path, found, typed
):
    page = admin_client.get(path, {"q": typed}).content.decode()
    assert found in page


@pytest.mark.parametrize("typed", ["(415) 555-0129", "415 555 0129"])
def test_the_number_pool_search_normalises_typed_numbers(admin_client, carla_everywhere, typed):
    page = admin_client.get("/admin/providers/proxynumber/", {"q": typed}).content.decode()
    assert "+14155550129" in page and "1 proxy number" in page


# --- links both ways --------------------------------------------------------------------


def test_a_message_links_to_its_ride_and_the_ride_to_its_messages(admin_client):
    ride = factories.ride(proxy=factories.proxy_number())
    outbound_row(ride.proxy, session=ride.session)

    log = admin_client.get("/admin/providers/message/").content.decode()
    ride_page = admin_client.get(f"/admin/rides/ride/{ride.pk}/change/").content.decode()

    assert f'<a href="/admin/rides/ride/{ride.pk}/change/">{ride.session}</a>' in log
    messages_url = f"/admin/providers/message/?session=ride%3A{ride.pk}"
    assert messages_url in ride_page
    assert admin_client.get(messages_url).status_code == 200


def test_a_message_links_to_its_conversation(admin_client):
    item = factories.conversation()
    outbound_row(item.proxy, session=item.session)
    log = admin_client.get("/admin/providers/message/").content.decode()
    url = f"/admin/conversations/conversation/{item.pk}/change/"
    assert f'<a href="{url}">{item.session}</a>' in log


def test_the_dashboard_session_links_open_filtered_lists(admin_client):
    proxy = factories.proxy_number()
    factories.ride(proxy=proxy)
    factories.conversation()
    for url, found in [
        ("/admin/rides/ride/?status__exact=open", "1 ride"),
        (f"/admin/rides/ride/?status__exact=open&proxy__id__exact={proxy.pk}", "1 ride"),
        ("/admin/conversations/conversation/?state__in=pending%2Cactive", "1 conversation"),
    ]:
        # An unknown filter would redirect to "?e=1"; these are the lists' own filters.
        response = admin_client.get(url)
        assert response.status_code == 200 and found in response.content.decode()


def test_pool_exhausted_names_the_ride_and_links_to_adding_a_number(admin_client):
    alice = factories.customer(name="Alice Rider")
    bob = factories.driver(name="Bob Driver")
    factories.ride(customer=alice, proxy=factories.proxy_number())
    pickup = timezone.localtime(timezone.now() + timedelta(hours=2))

    page = admin_client.post(
        "/admin/rides/ride/add/",
        {
            "customer": alice.pk,
            "driver": bob.pk,
            "start": "Central Station",
            "destination": "Airport",
            "pickup_at_0": pickup.strftime("%Y-%m-%d"),
            "pickup_at_1": pickup.strftime("%H:%M:%S"),
        },
    ).content.decode()

    assert "The ride of Alice Rider with Bob Driver (Central Station to Airport)" in page
    assert '<a href="/admin/providers/proxynumber/add/?service=rides">' in page
    assert Ride.objects.count() == 1


# --- one masking rule -------------------------------------------------------------------


@pytest.fixture
def ride_with_a_relay():
    ride = factories.ride(
        customer=factories.customer(phone="+14155550123"),
        driver=factories.driver(phone="+16505550199"),
        proxy=factories.proxy_number(number="+14155550100"),
    )
    Message.objects.create(
        direction=Direction.INBOUND,
        provider="console",
        proxy=ride.proxy,
        sender=ride.customer.phone,
        recipient=ride.proxy.number,
        body="I am at the gate",
        status=Status.RECEIVED,
        session=ride.session,
    )
    return ride


def test_ride_pages_mask_people_and_texts_without_the_permission(masked_client, ride_with_a_relay):
    ride = ride_with_a_relay
    pages = [
        masked_client.get(f"/admin/rides/ride/{ride.pk}/change/").content.decode(),
        masked_client.get("/admin/rides/customer/").content.decode(),
        masked_client.get(f"/admin/rides/customer/{ride.customer.pk}/change/").content.decode(),
        masked_client.get("/admin/providers/message/").content.decode(),
    ]
    for page in pages:
        assert "+14155550123" not in page and "+16505550199" not in page
        assert "I am at the gate" not in page
    assert mask("+14155550123") in pages[1] and mask("+14155550123") in pages[2]
    assert "(text hidden)" in pages[0]
    assert "+14155550100" in pages[0] and "+14155550100" in pages[3]


def test_ride_pages_show_people_and_texts_with_the_permission(admin_client, ride_with_a_relay):
    ride = ride_with_a_relay
    ride_page = admin_client.get(f"/admin/rides/ride/{ride.pk}/change/").content.decode()
    customers = admin_client.get("/admin/rides/customer/").content.decode()
    assert "I am at the gate" in ride_page
    assert "+14155550123" in customers


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_rides_api_masks_people_without_the_permission(masked_staff, ride_with_a_relay):
    ride = ride_with_a_relay
    one = api_client(masked_staff).get(f"/api/rides/{ride.pk}/").json()
    assert one["customer"]["phone"] == mask("+14155550123")
    assert one["driver"]["phone"] == mask("+16505550199")
    assert one["proxy_number"] == "+14155550100"


def test_rides_api_shows_people_in_full_with_the_permission(admin_user, ride_with_a_relay):
    ride = ride_with_a_relay
    client = api_client(admin_user)
    one = client.get(f"/api/rides/{ride.pk}/").json()
    assert (one["customer"]["phone"], one["driver"]["phone"]) == ("+14155550123", "+16505550199")
    closed = client.post(f"/api/rides/{ride.pk}/close/").json()
    assert closed["customer"]["phone"] == "+14155550123"


def test_booking_through_the_api_answers_with_the_same_masking(masked_staff):
    factories.proxy_number()
    pickup = (timezone.now() + timedelta(hours=1)).isoformat()
    body = {
        "customer": {"name": "Alice", "phone": "+14155550123"},
        "driver": {"name": "Bob", "phone": "+16505550199"},
        "start": "Central Station",
        "destination": "Airport",
        "pickup_at": pickup,
    }
    created = api_client(masked_staff).post("/api/rides/", body, format="json").json()
    assert created["customer"]["phone"] == mask("+14155550123")
    assert created["status"] == RideStatus.OPEN


def test_numbers_api_shows_pool_numbers_in_full_to_everyone(masked_staff):
    factories.proxy_number(number="+14155550100")
    listed = api_client(masked_staff).get("/api/numbers/").json()
    assert [row["number"] for row in listed["results"]] == ["+14155550100"]


# --- confirmation before texting ------------------------------------------------------------


def test_end_masking_asks_first_and_ends_only_once_confirmed(admin_client):
    ride = factories.ride(proxy=factories.proxy_number())
    selected = {"action": "end_masking", "_selected_action": [ride.pk]}

    asked = admin_client.post("/admin/rides/ride/", selected).content.decode()
    ride.refresh_from_db()
    assert "End masking now for these rides?" in asked and ride.status == RideStatus.OPEN

    done = admin_client.post("/admin/rides/ride/", selected | {"post": "yes"}, follow=True)
    ride.refresh_from_db()
    assert "Masking ended for 1 ride(s)." in done.content.decode()
    assert ride.status == RideStatus.CLOSED


def test_the_ride_page_has_an_end_masking_button_leading_to_the_confirmation(admin_client):
    ride = factories.ride(proxy=factories.proxy_number())
    page = admin_client.get(f"/admin/rides/ride/{ride.pk}/change/").content.decode()
    button = re.search(r'<a href="([^"]+)" class="object-action">End masking</a>', page)
    assert button is not None
    assert 'name="_save"' not in page

    asked = admin_client.get(button.group(1)).content.decode()
    ride.refresh_from_db()
    assert "End masking now for these rides?" in asked and str(ride) in asked
    assert ride.status == RideStatus.OPEN


def test_an_ended_ride_offers_no_end_masking_and_unknown_ids_are_404(admin_client):
    ride = factories.ride(proxy=factories.proxy_number())
    ride.status, ride.ended_at = RideStatus.CLOSED, timezone.now()
    ride.save()
    page = admin_client.get(f"/admin/rides/ride/{ride.pk}/change/").content.decode()
    assert "object-action" not in page
    assert admin_client.get("/admin/rides/ride/abc/do/end_masking/").status_code == 404
    assert admin_client.get("/admin/rides/ride/999999/do/end_masking/").status_code == 404


def test_the_conversation_page_has_an_end_conversation_button(admin_client):
    item = factories.conversation(joiner=factories.conversations_person())
    page = admin_client.get(f"/admin/conversations/conversation/{item.pk}/change/").content.decode()
    button = re.search(r'<a href="([^"]+)" class="object-action">End conversation</a>', page)
    assert button is not None

    asked = admin_client.get(button.group(1)).content.decode()
    assert "End these conversations?" in asked
    assert 'name="action" value="end"' in asked
    item.refresh_from_db()
    assert item.state == State.ACTIVE
    assert Conversation.objects.get().state == State.ACTIVE


def test_the_object_buttons_refuse_staff_who_may_not_act(client, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="pw-1234567", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    client.force_login(viewer)
    item = factories.conversation()
    page = client.get(f"/admin/conversations/conversation/{item.pk}/change/").content.decode()
    assert "End conversation" not in page
    url = f"/admin/conversations/conversation/{item.pk}/do/end/"
    assert client.get(url).status_code == 403


# --- words and getting started --------------------------------------------------------


def test_ride_states_read_the_same_in_the_admin_and_the_api(admin_client, admin_user):
    proxy = factories.proxy_number()
    factories.ride(proxy=proxy, pickup_at=timezone.now() - timedelta(hours=30))
    page = admin_client.get("/admin/rides/ride/").content.decode()
    listed = api_client(admin_user).get("/api/rides/").json()
    assert listed["results"][0]["status"] == "expired"
    assert '<td class="field-status">Expired</td>' in page
    assert [label.lower() for _, label in RideStatus.choices] == list(RideStatus.values)


@pytest.mark.parametrize(
    ("path", "help_text"),
    [
        ("/admin/conversations/conversation/", "texts START to a conversations number"),
        ("/admin/providers/proxynumber/", "“Add proxy number”"),
        ("/admin/rides/ride/", "“Add ride” books one"),
    ],
)
def test_empty_lists_say_how_to_get_started(admin_client, path, help_text):
    assert help_text in admin_client.get(path).content.decode()


def test_a_list_with_rows_shows_no_getting_started_help(admin_client):
    factories.proxy_number(service=Service.RIDES)
    assert "empty-help" not in admin_client.get("/admin/providers/proxynumber/").content.decode()
