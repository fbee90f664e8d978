"""Abuse traffic for the load run: an auto-responder pair and a JOIN flood.

- The pair: both parties of a ride answer every text they get (the ride's
  notifications first) with one canned text each. The relay loop limit must stop them:
  at most `MASKED_NUMBERS_LOOP_MAX_REPEATS` relays of each per window.
- The flood: many senders guess codes on a conversations number while a real joiner,
  told the code by its starter, joins in the middle of it. The joiner must get in; no
  guesser may fail more often than its per-sender limit.

Everything these people send is signed like the load's texts and retried on a 5xx;
their vendor ids start with `abuse-` and their numbers are +120655560xx/61xx, so the
load run's own counts leave them out (`people`, `VENDOR_IDS`).
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import requests
from django.conf import settings

from conversations.codes import ALPHABET, LENGTH
from conversations.conf import join_limits

from . import harness

VENDOR_IDS = "abuse-%"  # a LIKE pattern
CONVERSATIONS_NUMBER = "+12065550111"
CUSTOMER, DRIVER = "+12065556000", "+12065556001"
STARTER, JOINER = "+12065556002", "+12065556003"
FLOOD = [f"+120655561{i:02d}" for i in range(40)]
GUESSES_EACH = 6
ANSWERS = {
    CUSTOMER: "Auto-reply: I am driving and will answer later.",
    DRIVER: "Auto-reply: I am busy right now.",
}
LEAKS = re.compile(r"2065556[01]\d\d")
CODE = re.compile(rf"Your code is ([{ALPHABET}]{{{LENGTH}}})\.")

Post = Callable[[str, str, str, str], "int | None"]  # vendor id, sender, number, text


def configure(service: harness.Service) -> None:
    """The load's senders text far more often than people do, each text different: the
    count limit is raised above them. The pair is held by the repeat limit."""
    service.env["MASKED_NUMBERS_LOOP_MAX_TEXTS"] = "100000"


class Abuse:
    def __init__(
        self, service: harness.Service, vendor: harness.FakeVendor, post: Post, *, seconds: float
    ) -> None:
        self.service, self.vendor, self.post = service, vendor, post
        self.seconds = seconds
        self.ids = itertools.count()
        self.people = {CUSTOMER, DRIVER, STARTER, JOINER, *FLOOD}
        self.ride_number = ""
        self.sent: Counter[str] = Counter()
        self.errors: list[str] = []

    # --- setup ---------------------------------------------------------------------------
    def setup(self) -> None:
        """The conversations number and the pair's ride, through the API (after the load's
        own booking, whose staff user is reused)."""
        token = self.service.manage("drf_create_token", "ops").stdout.split()[2]
        headers = {"Authorization": f"Token {token}"}
        number = {"number": CONVERSATIONS_NUMBER, "provider": "messagebird"}
        response = requests.post(
            self.service.url + "/api/numbers/",
            json={**number, "service": "conversations", "voice": False},
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 201, response.text
        response = requests.post(
            self.service.url + "/api/rides/",
            json={
                "customer": {"name": "Auto Customer", "phone": CUSTOMER},
                "driver": {"name": "Auto Driver", "phone": DRIVER},
                "start": "Central Station",
                "destination": "Airport",
                "pickup_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            },
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 201, response.text
        self.ride_number = response.json()["proxy_number"]

    # --- traffic -------------------------------------------------------------------------
    def _text(self, sender: str, number: str, body: str, *, give_up_at: float) -> None:
        """Post until accepted, as a vendor retries a 5xx."""
        vendor_id = f"abuse-{next(self.ids)}"
        while time.monotonic() < give_up_at:
            if self.post(vendor_id, sender, number, body) == 200:
                self.sent[sender] += 1
                return
            time.sleep(0.5)
        self.errors.append(f"gave up on {vendor_id}")

    def _delivered(self, *, start: int = 0) -> list[tuple[str, str, str]]:
        with self.vendor.ledger.lock:
            return self.vendor.ledger.accepted[start:]

    def _pair(self, end: float) -> None:
        """Each party answers every text the vendor was handed for it, until `end`."""
        seen = 0
        while time.monotonic() < end:
            new = self._delivered(start=seen)
            seen += len(new)
            for _, recipient, _ in new:
                person = f"+{recipient}"
                if person in ANSWERS:
                    self._text(person, self.ride_number, ANSWERS[person], give_up_at=end + 60)
            time.sleep(0.2)

    def _code(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, recipient, body in self._delivered():
                found = CODE.search(body)
                if recipient == STARTER[1:] and found:
                    return found.group(1)
            time.sleep(0.2)
        raise TimeoutError("the starter never got a code")

    def _flood(self, end: float) -> None:
        """Guessers and the real joiner at once, the joiner half-way through."""
        give_up_at = end + 60
        self._text(STARTER, CONVERSATIONS_NUMBER, "START", give_up_at=give_up_at)
        code = self._code(timeout=max(60.0, end - time.monotonic()))

        def guesser(phone: str) -> None:
            for _ in range(GUESSES_EACH):
                guess = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
                if guess != code:
                    self._text(phone, CONVERSATIONS_NUMBER, f"JOIN {guess}", give_up_at=give_up_at)

        threads = [threading.Thread(target=guesser, args=(phone,)) for phone in FLOOD]
        for index, thread in enumerate(threads):
            thread.start()
            if index == len(threads) // 2:
                self._text(JOINER, CONVERSATIONS_NUMBER, f"JOIN {code}", give_up_at=give_up_at)
        for thread in threads:
            thread.join(timeout=give_up_at - time.monotonic())

    def run(self) -> None:
        """Both, alongside the load, in the first half of the run."""
        end = time.monotonic() + self.seconds / 2
        jobs = [threading.Thread(target=job, args=(end,)) for job in (self._pair, self._flood)]
        for job in jobs:
            job.start()
        for job in jobs:
            job.join(timeout=self.seconds + 180)

    # --- what came of it -----------------------------------------------------------------
    def leave_out(self, delivered: Counter) -> Counter:
        """What the vendor accepted for anyone but these people (the load's own counts)."""
        return Counter({key: n for key, n in delivered.items() if f"+{key[1]}" not in self.people})

    def report(self, database_url: str, rows: Callable[..., list[tuple]]) -> dict:
        delivered = Counter(self._delivered())
        relays = sum(
            n
            for (origin, _, body), n in delivered.items()
            if origin == self.ride_number[1:] and body in ANSWERS.values()
        )
        notice = str(settings.MASKED_NUMBERS_LOOP_NOTICE)
        failures = rows(
            database_url,
            "SELECT phone, count(*) FROM conversations_joinfailure GROUP BY phone",
        )
        joined = rows(
            database_url,
            "SELECT count(*) FROM conversations_participant WHERE phone = %s AND role = 'joiner'",
            (JOINER,),
        )[0][0]
        return {
            "pair_texts_sent": self.sent[CUSTOMER] + self.sent[DRIVER],
            "pair_relays": relays,
            "pair_relay_bound": self.pair_relay_bound(),
            "pair_notices": sum(n for (_, _, body), n in delivered.items() if body == notice),
            "flood_joins_sent": sum(self.sent[phone] for phone in FLOOD),
            "flood_wrong_codes": sum(n for phone, n in failures if phone in FLOOD),
            "flood_most_wrong_codes_of_one_sender": max(
                (n for phone, n in failures if phone in FLOOD), default=0
            ),
            "flood_refused": sum(
                n
                for (_, to, body), n in delivered.items()
                if f"+{to}" in FLOOD and body.startswith("Too many wrong codes")
            ),
            "real_joiner_joined": joined == 1,
            "errors": self.errors,
        }

    def pair_relay_bound(self) -> int:
        window = float(settings.MASKED_NUMBERS_LOOP_WINDOW_MINUTES) * 60
        windows = int(self.seconds // window) + 1
        return len(ANSWERS) * int(settings.MASKED_NUMBERS_LOOP_MAX_REPEATS) * windows

    @staticmethod
    def check(report: dict) -> None:
        assert report["errors"] == []
        assert report["real_joiner_joined"]
        assert 0 < report["pair_relays"] <= report["pair_relay_bound"]
        assert report["pair_texts_sent"] > report["pair_relays"]  # the limit did stop some
        per_sender = join_limits().per_sender
        assert report["flood_most_wrong_codes_of_one_sender"] <= per_sender
        # Guesses past a sender's limit are refused unread; their replies may be silenced
        # by the number's bound on replies to strangers, so the log is what tells.
        assert report["flood_wrong_codes"] < report["flood_joins_sent"]
