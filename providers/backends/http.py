"""Shared HTTP handling for vendor backends: how a `requests` outcome maps to our errors."""

from __future__ import annotations

import requests

from ..exceptions import PermanentSendError, TransientSendError

# https://developers.messagebird.com/api/#api-errors and
# https://developer.flowroute.com/api/messages/v2.1/ : 429 and 5xx are worth retrying,
# any other 4xx is a refusal of this message.
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def raise_for_response(response: requests.Response, *, vendor: str) -> None:
    """Raise TransientSendError / PermanentSendError for a failed HTTP answer."""
    status = response.status_code
    if status < 400:
        return
    reason = f"{vendor} answered HTTP {status}"
    if status in TRANSIENT_STATUS or status >= 500:
        raise TransientSendError(reason, retry_after=retry_after_seconds(response))
    raise PermanentSendError(reason, detail=response.text[:300])


def transport_error(err: requests.RequestException, *, vendor: str) -> TransientSendError:
    """Timeouts and connection failures: the vendor may be fine again later."""
    return TransientSendError(f"{vendor} unreachable: {type(err).__name__}")
