"""Phone numbers at the edge: everything inside the project is E.164."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from django.conf import settings

from .exceptions import InvalidPhoneNumber

_DIGIT_RUN = re.compile(r"\+?\d{7,}")


def to_e164(raw: object, *, region: str | None = None) -> str:
    """Parse what a vendor or a person typed into E.164, or raise InvalidPhoneNumber.

    Vendors send numbers without the `+` (MessageBird `31612345678`, Flowroute
    `12065551234`); those are read as international when they are all digits, long
    enough to carry a country code and do not begin with 0 (which no country code
    does: `020 7946 0958` is a national number). `00` is read as the `+` it stands for.
    """
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise InvalidPhoneNumber("a phone number must be a string")
    return _to_e164(str(raw), region or settings.PHONENUMBER_DEFAULT_REGION)


# Every text and call parses two numbers, one of them always a number of the pool, so
# answers are kept. The answer depends on the text and the region only; a refusal (an
# exception) is not kept.
@lru_cache(maxsize=4096)
def _to_e164(raw: str, region: str) -> str:
    text = raw.strip()
    if not text or len(text) > 32:
        raise InvalidPhoneNumber("not a phone number")
    digits = text.replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
    if digits.startswith("00") and digits[2:].isdigit():
        text = "+" + digits[2:]  # the international prefix
    elif digits.isdigit() and len(digits) >= 11 and not digits.startswith("0"):
        # No country code begins with 0; a leading 0 is a national trunk prefix.
        text = "+" + digits
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as err:
        raise InvalidPhoneNumber("not a phone number") from err
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber("not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def country_of(e164: str) -> str:
    """ISO country code of an E.164 number, '' if unknown."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or ""
    except phonenumbers.NumberParseException:
        return ""


# Ranges that bill the sender or go to satellite and international networks: an SMS
# pumping fraud's targets, never a person's own phone here (FCC/CTIA SMS pumping guidance).
COSTLY_TYPES = {
    phonenumbers.PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    phonenumbers.PhoneNumberType.SHARED_COST: "a shared-cost number",
}
INTERNATIONAL_NETWORKS = {881, 882, 883}


def costly_number(e164: str) -> str:
    """Why texting this E.164 number costs the sender more than a phone would ('' if not)."""
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return ""
    if parsed.country_code in INTERNATIONAL_NETWORKS:
        return "an international-network number"
    return COSTLY_TYPES.get(phonenumbers.number_type(parsed), "")


# What retention leaves of a person's number: no digits, so it never parses, matches a
# sender or reaches a vendor. A unique field gets the row's id too: "(erased 12)".
ERASED = "(erased)"


def erased_unique(pk: int) -> str:
    """The erased value of a unique number field (customers' and drivers' phones)."""
    return f"(erased {pk})"


def is_erased(number: str) -> bool:
    return number.startswith("(erased")


def mask(number: str | None) -> str:
    """A number fit for logs and lists: country code and the last two digits only."""
    if not number:
        return "-"
    number = str(number)
    if is_erased(number):
        return ERASED
    if len(number) <= 4:
        return "*" * len(number)
    head = number[:3] if number.startswith("+") else number[:2]
    return f"{head}{'*' * (len(number) - len(head) - 2)}{number[-2:]}"


def redact(text: str) -> str:
    """Text fit for logs: every run of 7 or more digits (a phone number, perhaps) masked."""
    return _DIGIT_RUN.sub(lambda match: mask(match.group()), text)


def digits_only(e164: str) -> str:
    """E.164 without the `+`, as MessageBird and Flowroute want it."""
    return e164.lstrip("+")


def edge_number(value: object, field: str) -> str:
    """A number from a webhook field in E.164, or MalformedWebhook naming the field."""
    from .exceptions import MalformedWebhook

    if value in (None, ""):
        raise MalformedWebhook(f"{field} is missing")
    try:
        return to_e164(value)
    except InvalidPhoneNumber as err:
        raise MalformedWebhook(f"{field} is not a phone number") from err
