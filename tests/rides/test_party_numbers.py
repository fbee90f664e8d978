"""A ride's parties are people: numbers that bill the sender, or the pool's own, are refused."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from providers.models import Message
from providers.phone import costly_number
from rides.models import Customer, Driver, Ride
from rides.services import ride_book
from tests import factories

pytestmark = pytest.mark.django_db

PREMIUM_US = "+19005550100"
PREMIUM_GB = "+448712345678"
INTERNATIONAL_NETWORK = "+88213456789"
SATELLITE = "+881612345678"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (PREMIUM_US, "premium-rate"),
        (PREMIUM_GB, "premium-rate"),
        (INTERNATIONAL_NETWORK, "international-network"),
        (SATELLITE, "international-network"),
        ("+14155550123", ""),
        ("+447911123456", ""),
        ("+31612345678", ""),
    ],
)
def test_costly_number_names_the_ranges_that_bill_the_sender(number, reason):
    found = costly_number(number)
    assert reason in found
    assert bool(found) == bool(reason)


def book(**overrides):
    values = {
        "customer_name": "Alice",
        "customer_phone": "+14155550123",
        "driver_name": "Bob",
        "driver_phone": "+16505550199",
        "start": "Central Station",
        "destination": "Airport",
        "pickup_at": timezone.now() + timedelta(hours=1),
    }
    values.update(overrides)
    return ride_book(**values)


@pytest.mark.parametrize("number", [PREMIUM_US, INTERNATIONAL_NETWORK, SATELLITE])
def test_a_ride_with_a_costly_party_number_is_refused_and_texts_nobody(number):
    factories.proxy_number()
    with pytest.raises(ValidationError) as refused:
        book(driver_phone=number)
    assert "driver_phone" in refused.value.message_dict
    assert "not a person's phone" in refused.value.message_dict["driver_phone"][0]
    assert (Ride.objects.count(), Driver.objects.count(), Message.objects.count()) == (0, 0, 0)


def test_a_ride_whose_party_is_a_pool_number_is_refused():
    factories.proxy_number(number="+12065550100")
    other = factories.proxy_number(number="+12065550101")
    with pytest.raises(ValidationError) as refused:
        book(customer_phone=other.number)
    assert "a number of the pool" in refused.value.message_dict["customer_phone"][0]
    assert Customer.objects.count() == 0


def test_the_api_refuses_a_costly_party_number_with_the_reason(admin_user):
    factories.proxy_number()
    out = io.StringIO()
    call_command("drf_create_token", admin_user.username, stdout=out)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().split()[2]}")
    response = api.post(
        "/api/rides/",
        {
            "customer": {"name": "Alice", "phone": "(415) 555-0123"},
            "driver": {"name": "Mallory", "phone": PREMIUM_US},
            "start": "Central Station",
            "destination": "Airport",
            "pickup_at": (timezone.now() + timedelta(hours=1)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400
    assert "premium-rate" in response.json()["driver"]["phone"][0]
    assert Ride.objects.count() == 0


def test_staff_cannot_add_a_customer_with_a_premium_rate_number(admin_client):
    response = admin_client.post(
        "/admin/rides/customer/add/", {"name": "Mallory", "phone": PREMIUM_US}
    )
    assert response.status_code == 200  # the form again, with its error
    assert "premium-rate" in response.content.decode()
    assert not Customer.objects.exists()
