"""Shared HTTP handling for vendor backends: the session to a vendor, and how a
`requests` outcome maps to our errors."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import requests
from django.utils.dateparse import parse_datetime

from ..exceptions import MalformedWebhook, PermanentSendError, TransientSendError

# https://developers.messagebird.com/api/#api-errors and
# https://developer.flowroute.com/api/messages/v2.1/ : 429 and 5xx are worth retrying,
# any other 4xx is a refusal of this message.
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def vendor_session(base_url: str) -> requests.Session:
    """A keep-alive session to one vendor's API, the environment read once, here.

    A session that trusts the environment reads it again on every request: the proxy
    variables (all of `os.environ`, twice), the CA bundle variables and `~/.netrc` (a
    file lookup each time), about 5% of a delivery's CPU. All requests of a backend go
    to one base URL, so what the environment says for it is settled here: its proxy
    (`HTTPS_PROXY`, `NO_PROXY`, ...) and a CA bundle (`REQUESTS_CA_BUNDLE`,
    `CURL_CA_BUNDLE`) apply as before. `~/.netrc` no longer does: the backends send
    their own credentials, which a netrc entry for the vendor's host would replace.
    """
    session = requests.Session()
    session.trust_env = False
    session.proxies = requests.utils.get_environ_proxies(base_url)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return session


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


def json_object(body: bytes) -> dict[str, Any]:
    """A webhook's JSON body as a dict, or MalformedWebhook with the reason.

    Nesting deeper than the interpreter's recursion limit makes the decoder raise
    RecursionError, which is the sender's fault like any other unreadable body.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise MalformedWebhook("body is not valid JSON") from err
    except RecursionError as err:
        raise MalformedWebhook("body is nested too deeply") from err
    if not isinstance(data, dict):
        raise MalformedWebhook("body must be a JSON object")
    return data


def receipt_time(value: object, name: str) -> datetime | None:
    """A receipt's ISO 8601 time (UTC when it names no zone); None when absent,
    MalformedWebhook when it is not one."""
    if value in (None, ""):
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise MalformedWebhook(f"{name} is not a date and time")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def text_field(data: dict[str, Any], name: str, *, required: bool = False) -> str:
    """A webhook field that must be text (a number is taken as its digits)."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise MalformedWebhook(f"{name} is missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedWebhook(f"{name} must be a string")
    return str(value)
