"""One rule for what staff see: pool numbers in full; people's numbers and message
texts masked unless the user holds the `providers.view_full_numbers` permission."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .phone import is_erased, mask

FULL_NUMBERS_PERMISSION = "providers.view_full_numbers"
HIDDEN_TEXT = "(text hidden)"


def sees_full_numbers(user: Any) -> bool:
    """Whether this user may read people's own numbers and message texts."""
    return bool(user is not None and user.has_perm(FULL_NUMBERS_PERMISSION))


def person_number(number: str, *, full: bool) -> str:
    """A person's own number as this viewer may see it (an erased one as the marker)."""
    return number if full and not is_erased(number) else mask(number)


def message_text(body: str, *, full: bool) -> str:
    """A message text as this viewer may see it (an empty text stays empty)."""
    return body if full or not body else HIDDEN_TEXT


def request_sees_full(context: Mapping[str, Any]) -> bool:
    """For serializers: whether the request's user may see full numbers (no request: no)."""
    request = context.get("request")
    return sees_full_numbers(getattr(request, "user", None))
