"""One error root for the telephony layer."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation, ValidationError


class ProviderError(Exception):
    """Root of every error raised by `providers`."""


class ProviderNotConfigured(ProviderError, ImproperlyConfigured):
    """The alias is not in MASKED_NUMBERS_PROVIDERS (or its credentials are unset)."""


class InvalidPhoneNumber(ProviderError, ValidationError):
    """Something that should be a phone number is not one."""

    def __init__(self, message: str) -> None:
        ValidationError.__init__(self, message)
        self.reason = message

    def __str__(self) -> str:
        return self.reason


class WebhookValidationError(ProviderError, SuspiciousOperation):
    """A webhook whose signature or token does not check out (answered 403)."""

    status_code = 403


class MalformedWebhook(ProviderError, SuspiciousOperation):
    """A webhook we cannot read (answered 400 with the reason)."""

    status_code = 400


class SendError(ProviderError):
    """Sending failed. `transient` says whether trying again later may succeed.

    `detail` is the vendor's own answer: it may echo the recipient or the text, so it
    is kept with the message for staff (it is part of str()) and never logged above
    DEBUG; `summary` is our own words, fit for the log. `opted_out`: the vendor refused
    because the recipient opted out of the sending number (recorded, never retried).
    """

    transient = False

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        detail: str = "",
        opted_out: bool = False,
    ) -> None:
        super().__init__(f"{message}: {detail}" if detail else message)
        self.summary = message
        self.retry_after = retry_after
        self.detail = detail
        self.opted_out = opted_out


class TransientSendError(SendError):
    """Network trouble, a timeout, 5xx or 429: retried with backoff."""

    transient = True


class PermanentSendError(SendError):
    """The vendor refused the message (4xx): retrying will not help."""
