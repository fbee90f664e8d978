"""Logging filters: what must never reach a log line."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

# /webhooks/<alias>/sms/<token>/ and .../receipts/<token>/: Flowroute's secret travels
# in the callback URLs.
_WEBHOOK_TOKEN = re.compile(r"(/webhooks/[^/\s]+/(?:sms|receipts)/)[^/\s?]+")
# A query value with this many digits may be a phone number (the voice webhooks' source
# and destination, an API filter): it is not logged.
_NUMBER_DIGITS = 6


class RedactWebhookTokens(logging.Filter):
    """Django logs the path of every 4xx (`django.request`): the token in a callback
    path is replaced by `***`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _WEBHOOK_TOKEN.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def redact_query(query: str) -> str:
    """A query string with every value that may hold a phone number replaced by `***`."""
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if equals and sum(c.isdigit() for c in unquote_plus(value)) >= _NUMBER_DIGITS:
            value = "***"
        parts.append(name + equals + value)
    return "&".join(parts)


def redact_target(target: str) -> str:
    """A request's path and query as an access log may show them: no webhook token in
    the path, no phone number in the query."""
    path, question, query = target.partition("?")
    return _WEBHOOK_TOKEN.sub(r"\1***", path) + question + redact_query(query)
