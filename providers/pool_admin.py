"""Pool administration: numbers are checked, added to the pool and retired."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .exceptions import InvalidPhoneNumber
from .models import ProxyNumber
from .phone import country_of, to_e164
from .pool import pool_changed
from .registry import get_provider


def proxy_number_clean(
    *, number: str, provider: str, sms: bool, voice: bool, exclude_pk: int | None = None
) -> str:
    """Check a pool number's settings; return the number in E.164.

    Raises ValidationError with the reason per field: not a number, already in the pool,
    provider not configured, a number its provider does not serve, or a capability the
    provider's numbers do not have here.
    """
    try:
        e164 = to_e164(number)
    except InvalidPhoneNumber as err:
        raise ValidationError(
            {"number": f"{str(number)[:40]!r} is not a valid phone number."}
        ) from err
    if provider not in settings.MASKED_NUMBERS_PROVIDERS:
        configured = ", ".join(settings.MASKED_NUMBERS_PROVIDERS) or "none"
        raise ValidationError(
            {"provider": f"provider {provider!r} is not configured (configured: {configured})."}
        )
    if problems := get_provider(provider).number_problems(number=e164, sms=sms, voice=voice):
        raise ValidationError(problems)
    others = ProxyNumber.objects.filter(number=e164)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if others.exists():
        raise _already_in_pool(e164)
    return e164


def _already_in_pool(e164: str) -> ValidationError:
    return ValidationError({"number": f"{e164} is already in the pool."})


def proxy_number_create(
    *, number: str, provider: str, service: str, sms: bool = True, voice: bool = False
) -> ProxyNumber:
    """Add a rented number to the pool (see proxy_number_clean for what is refused)."""
    e164 = proxy_number_clean(number=number, provider=provider, sms=sms, voice=voice)
    try:
        with transaction.atomic():
            return ProxyNumber.objects.create(
                number=e164,
                provider=provider,
                service=service,
                sms=sms,
                voice=voice,
                country=country_of(e164),
            )
    except IntegrityError as err:
        # Another request added the same number between the check and the insert.
        raise _already_in_pool(e164) from err


def proxy_number_retire(*, proxy: ProxyNumber) -> bool:
    """Take a number out of the pool; its history stays. False if it was retired already."""
    now = timezone.now()
    retired = ProxyNumber.objects.filter(pk=proxy.pk, active=True).update(
        active=False, retired_at=now
    )
    if retired:
        proxy.active, proxy.retired_at = False, now
        pool_changed()  # an update, not a save: no signal empties the cache
    return bool(retired)
