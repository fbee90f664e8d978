"""Numbers at the edge: what vendors and people type, read as E.164."""

from __future__ import annotations

import pytest
from django.test import override_settings

from providers.exceptions import InvalidPhoneNumber
from providers.phone import to_e164


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("31612345678", "+31612345678"),  # MessageBird: no "+"
        ("12065551234", "+12065551234"),  # Flowroute: 11 digits
        ("+1 (206) 555-1234", "+12065551234"),
        ("0044 20 7946 0958", "+442079460958"),
        (12065551234, "+12065551234"),
    ],
)
def test_vendor_and_typed_numbers_read_as_e164(typed, e164):
    assert to_e164(typed) == e164
    assert to_e164(typed) == e164  # read again: the same


def test_a_national_number_is_read_in_the_region_in_force_each_time():
    national = "020 7946 0958"
    with override_settings(PHONENUMBER_DEFAULT_REGION="GB"):
        assert to_e164(national) == "+442079460958"
    with override_settings(PHONENUMBER_DEFAULT_REGION="US"), pytest.raises(InvalidPhoneNumber):
        to_e164(national)
    assert to_e164(national, region="GB") == "+442079460958"


@pytest.mark.parametrize("typed", ["", "   ", "hello", "123", "+1" + "2" * 40, True, None, 1.5])
def test_what_is_not_a_number_is_refused_every_time(typed):
    for _ in range(2):
        with pytest.raises(InvalidPhoneNumber):
            to_e164(typed)
