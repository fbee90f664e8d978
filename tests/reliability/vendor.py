"""A fake MessageBird `POST /messages`: records what it accepted, fails when told to.

Used in-process through `responses` and, by the process-level runs, behind a real
HTTP server (see harness.py). A fault is one of:
"refused" (connection refused), "500", "429" (with Retry-After), "timeout" (no answer
in time; nothing is accepted), "ok".
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field

FAULTS = ("refused", "500", "429", "timeout")


@dataclass
class Ledger:
    """What the vendor accepted: (originator, recipient, body) per message id."""

    accepted: list[tuple[str, str, str]] = field(default_factory=list)
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def accept(self, params: dict) -> dict:
        with self.lock:
            self.accepted.append(
                (str(params["originator"]), str(params["recipients"]), str(params["body"]))
            )
        return {
            "id": uuid.uuid4().hex,
            "originator": params["originator"],
            "body": params["body"],
            "recipients": {"totalCount": 1, "totalSentCount": 1, "items": []},
        }

    def bodies(self) -> Counter[str]:
        with self.lock:
            return Counter(body for _, _, body in self.accepted)


def messagebird_request_params(body: bytes | str) -> dict:
    """The SDK posts JSON: {"originator", "body", "recipients"}."""
    return json.loads(body)
