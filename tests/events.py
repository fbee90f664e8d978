"""The platform's event endpoint, intercepted at the transport, for tests of events."""

from __future__ import annotations

import json
from typing import Any

from standardwebhooks import Webhook

from providers.models import Event

EVENTS_URL = "https://platform.test/masked-numbers/events"
EVENTS_SECRET = "whsec_dGVzdC1wbGF0Zm9ybS1ldmVudHMtc2VjcmV0LTMyYnl0ZXM="


def received(rsps) -> list[dict[str, Any]]:
    """The events the endpoint was sent, each verified with standardwebhooks' own verify
    (an unsigned or wrongly signed one raises), with its headers."""
    out = []
    for call in rsps.calls:
        if call.request.url != EVENTS_URL:
            continue
        headers = dict(call.request.headers)
        payload = Webhook(EVENTS_SECRET).verify(call.request.body, headers)
        out.append({"payload": payload, "webhook-id": headers["webhook-id"]})
    return out


def emitted(type: str | None = None) -> list[dict[str, Any]]:  # noqa: A002
    """The payloads of the events written, oldest first (of one type if given)."""
    rows = Event.objects.order_by("pk")
    if type is not None:
        rows = rows.filter(type=type)
    return [json.loads(json.dumps(row.payload)) for row in rows]
