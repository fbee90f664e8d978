"""Opt-outs and a stranger flood, added to the load run's traffic (test_processes.py).

- Opt-outs: the customers of the last few rides text an opt-out keyword (some twice),
  then their drivers keep texting them. No keyword may reach the vendor, nothing but
  the confirmation may reach an opted-out customer, and each driver is told once.
- Strangers: numbers that are no party text every rides number and a conversations
  number (plain texts, HELP, wrong JOIN codes), many times each. What they get back
  is bounded by the settings: at most MASKED_NUMBERS_SYSTEM_REPLIES_PER_SENDER per
  stranger and number, MASKED_NUMBERS_SYSTEM_REPLIES_PER_NUMBER per number, one
  unknown-sender reply per stranger and rides number.

The people of the opt-out rides are left out of the ordinary traffic, whose checks
(every text relayed, every outbound text sent) they would not meet.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests
from django.conf import settings as defaults

from rides.conf import DEFAULT_UNKNOWN_SENDER_REPLY

from . import harness

OPT_OUT_RIDES = 5  # the last rides booked
OPT_OUT_WORDS = ["STOP", "stop.", " Unsubscribe ", "QUIT!", "opt-out"]
DRIVER_TEXTS = 6  # per opt-out ride, after the customer's opt-out
CONVERSATIONS_NUMBER = "+12065550110"
STRANGERS = [f"+1206555{4000 + i}" for i in range(20)]
# Per stranger: on the conversations number enough to pass its per-sender bound and,
# all together, the number's bound; on each rides number a few.
CONVERSATIONS_TEXTS = ["hello?", "HELP", "JOIN 234567", "info", "who is this", "HELP", "help"]
RIDES_TEXTS = ["hello?", "HELP", "where are you", "HELP", "HELP", "HELP", "HELP"]
# What no log may carry: the strangers' numbers and the drivers' texts (the rides'
# numbers are looked for by the load run itself).
LEAK_PATTERN = r"2065554\d{3}|to opted out \d+-\d+"
PER_SENDER = defaults.MASKED_NUMBERS_SYSTEM_REPLIES_PER_SENDER
PER_NUMBER = defaults.MASKED_NUMBERS_SYSTEM_REPLIES_PER_NUMBER

Post = Callable[[str, str, str, str], "int | None"]  # vendor id, sender, number, text


def add_conversations_number(service: harness.Service) -> None:
    """The conversations number, added through the API as an operator would."""
    service.manage(
        "createsuperuser", "--noinput", "--username", "flood", "--email", "flood@example.org"
    )
    token = service.manage("drf_create_token", "flood").stdout.split()[2]
    response = requests.post(
        service.url + "/api/numbers/",
        json={
            "number": CONVERSATIONS_NUMBER,
            "provider": "messagebird",
            "service": "conversations",
        },
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text


def opt_out_people(rides: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Customer -> driver of the last rides booked (`rides` lists each ride's customer,
    then its driver, in booking order)."""
    customers = list(rides)[::2]
    return {customer: rides[customer][1] for customer in customers[-OPT_OUT_RIDES:]}


def ordinary(rides: dict[str, tuple[str, str]], opted_out: dict[str, str]):
    """The rides of the ordinary traffic: all but the opt-out rides."""
    people = {*opted_out, *opted_out.values()}
    return {person: ride for person, ride in rides.items() if person not in people}


class ConsentAndStrangers:
    """Posts this traffic over the run, each text until it is accepted, as vendors do."""

    def __init__(
        self,
        post: Post,
        rides: dict[str, tuple[str, str]],
        opted_out: dict[str, str],
        *,
        numbers: list[str],
        seconds: float,
    ) -> None:
        self.post = post
        self.rides = rides
        self.opted_out = opted_out  # customer -> driver
        self.seconds = seconds
        self.proxies = numbers  # the rides numbers, whether they carry rides or not
        self.lock = threading.Lock()
        self.sent: Counter[str] = Counter()
        self.gave_up = 0
        self.driver_texts = {
            f"to opted out {n}-{i}" for n in range(len(opted_out)) for i in range(DRIVER_TEXTS)
        }

    def _until_accepted(
        self, vendor_id: str, sender: str, proxy: str, text: str, end: float
    ) -> bool:
        while time.monotonic() < end:
            if self.post(vendor_id, sender, proxy, text) == 200:
                return True
            time.sleep(0.5)
        with self.lock:
            self.gave_up += 1
        return False

    def _opt_outs(self, give_up_at: float) -> None:
        pause = self.seconds / (2 * (DRIVER_TEXTS + 2))
        for n, customer in enumerate(self.opted_out):
            proxy = self.rides[customer][0]
            word = OPT_OUT_WORDS[n % len(OPT_OUT_WORDS)]
            self._until_accepted(f"optout-{n}", customer, proxy, word, give_up_at)
            if n % 2:
                self._until_accepted(f"optout-{n}-again", customer, proxy, "STOP", give_up_at)
        for i in range(DRIVER_TEXTS):
            time.sleep(pause)
            for n, (customer, driver) in enumerate(self.opted_out.items()):
                body = f"to opted out {n}-{i}"
                proxy = self.rides[customer][0]
                self._until_accepted(f"optout-drv-{n}-{i}", driver, proxy, body, give_up_at)

    def _flood(self, give_up_at: float) -> None:
        rng = random.Random(18)  # noqa: S311 - traffic, not secrets
        texts = [
            (stranger, CONVERSATIONS_NUMBER, body)
            for stranger in STRANGERS
            for body in CONVERSATIONS_TEXTS
        ]
        texts += [
            (stranger, proxy, body)
            for stranger in STRANGERS[:8]
            for proxy in self.proxies
            for body in RIDES_TEXTS
        ]
        rng.shuffle(texts)
        start = time.monotonic()
        interval = 0.8 * self.seconds / len(texts)

        def one(n: int) -> None:
            time.sleep(max(0.0, start + n * interval - time.monotonic()))
            sender, proxy, body = texts[n]
            if self._until_accepted(f"flood-{n}", sender, proxy, body, give_up_at):
                with self.lock:
                    self.sent[proxy] += 1

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(one, range(len(texts))))

    def run(self) -> None:
        give_up_at = time.monotonic() + self.seconds + 120
        threads = [
            threading.Thread(target=self._opt_outs, args=(give_up_at,)),
            threading.Thread(target=self._flood, args=(give_up_at,)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # --- what the vendor was handed --------------------------------------------------

    @property
    def senders(self) -> list[str]:
        """Everyone who texts in this traffic: their texts are not all relayed."""
        return [*STRANGERS, *self.opted_out, *self.opted_out.values()]

    def mine(self, key: tuple[str, str, str]) -> bool:
        """Whether a (from, to, text) the vendor accepted belongs to this traffic, not to
        the ordinary relays and notifications (the opt-out rides' notifications are
        ordinary ones)."""
        _, to, body = key
        if to in {c[1:] for c in self.opted_out}:
            return not body.startswith("Driver ")
        if to in {d[1:] for d in self.opted_out.values()}:
            notice = defaults.MASKED_NUMBERS_RECIPIENT_OPTED_OUT_NOTICE
            return body == notice or body in self.driver_texts
        return to in {s[1:] for s in STRANGERS}

    def report(self, delivered: Counter) -> dict:
        """The counts of this traffic from what the vendor accepted."""
        customers = {c[1:] for c in self.opted_out}
        drivers = {d[1:] for d in self.opted_out.values()}
        strangers = {s[1:] for s in STRANGERS}
        words = {w.strip() for w in OPT_OUT_WORDS} | {"STOP"}
        confirmation = defaults.MASKED_NUMBERS_OPT_OUT_CONFIRMATION
        notice = defaults.MASKED_NUMBERS_RECIPIENT_OPTED_OUT_NOTICE
        per_pair: Counter[tuple[str, str]] = Counter()
        per_number: Counter[str] = Counter()
        unknown_sender: Counter[tuple[str, str]] = Counter()
        for (origin, to, body), count in delivered.items():
            if to in strangers:
                per_pair[origin, to] += count
                per_number[origin] += count
                if body == DEFAULT_UNKNOWN_SENDER_REPLY:
                    unknown_sender[origin, to] += count
        return {
            "opt_outs": len(self.opted_out),
            "opt_outs_relayed": sum(
                count for (_, _, body), count in delivered.items() if body.strip() in words
            ),
            "sent_to_opted_out": sum(
                count
                for (_, to, body), count in delivered.items()
                if to in customers and body != confirmation and not body.startswith("Driver ")
            ),
            "opt_out_confirmations": sum(
                count
                for (_, to, body), count in delivered.items()
                if to in customers and body == confirmation
            ),
            "opted_out_notices": sum(
                count
                for (_, to, body), count in delivered.items()
                if to in drivers and body == notice
            ),
            "driver_texts": len(self.driver_texts),
            "stranger_texts": sum(self.sent.values()),
            "stranger_texts_by_number": dict(self.sent),
            "replies_to_strangers": sum(per_number.values()),
            "replies_to_strangers_by_number": dict(per_number),
            "most_replies_to_one_stranger_on_one_number": max(per_pair.values(), default=0),
            "most_unknown_sender_replies_to_one_stranger": max(unknown_sender.values(), default=0),
            "bound_per_sender": PER_SENDER,
            "bound_per_number": PER_NUMBER,
            "gave_up": self.gave_up,
        }


def check(report: dict, opted_out: int) -> None:
    """The promises: no opt-out relayed, nothing to opted-out people, strangers bounded."""
    assert report["gave_up"] == 0
    assert report["opt_outs_relayed"] == 0
    assert report["sent_to_opted_out"] == 0
    assert report["opt_out_confirmations"] == opted_out
    assert report["opted_out_notices"] == opted_out
    assert report["most_replies_to_one_stranger_on_one_number"] <= PER_SENDER
    assert report["most_unknown_sender_replies_to_one_stranger"] <= 1
    assert all(n <= PER_NUMBER for n in report["replies_to_strangers_by_number"].values())
    assert report["replies_to_strangers"] > 0  # strangers are answered, within the bounds
