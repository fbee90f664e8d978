"""Logging filters: what must never reach a log line."""

from __future__ import annotations

import logging
import re

# /webhooks/<alias>/sms/<token>/: Flowroute's secret travels in the callback URL.
_WEBHOOK_TOKEN = re.compile(r"(/webhooks/[^/\s]+/sms/)[^/\s?]+")


class RedactWebhookTokens(logging.Filter):
    """Django logs the path of every 4xx (`django.request`): the token in a callback
    path is replaced by `***`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _WEBHOOK_TOKEN.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
