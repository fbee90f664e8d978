"""Sustained load on real processes while the vendor, a worker and the database fail.

gunicorn (several workers), two delivery workers and the outbox sweeper run against a
private PostgreSQL cluster and a fake MessageBird on loopback ports. Rides are booked
through the API; then their customers and drivers text and call their ride's number
as signed webhooks at a steady rate (some delivered twice, as vendors do); the vendor
refuses connections, answers 500, answers 429, stalls past the timeout; a delivery
worker is killed with SIGKILL in the middle of a send; PostgreSQL is restarted. At the
end every accepted message must have reached the vendor exactly once.

Run with `make reliability` (RELIABILITY_SECONDS sets the length).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import re
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from xml.etree import ElementTree

import psycopg
import pytest
import requests

from tests.signing import messagebird_signature

from . import abuse, harness, strangers
from . import platform as events_platform

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("RELIABILITY_SECONDS", "120"))
RATE = float(os.environ.get("RELIABILITY_RATE", "12"))  # inbound SMS per second
DUPLICATE_RATIO = 0.1
PROXIES = ["+12065550100", "+12065550101", "+12065550102"]
RIDES = 50  # customer +12065552000+i with driver +12065553000+i
# Phases as fractions of the run: vendor faults first, then the process faults.
VENDOR_FAULTS = [
    (0.08, 0.18, "refused"),
    (0.22, 0.30, "500"),
    (0.34, 0.42, "429"),
    (0.46, 0.52, "timeout"),
]  # noqa: E501
SIGKILL_AT, DB_RESTART_AT = 0.58, 0.72
DB_DOWN_SECONDS = 4.0


def sign(service: harness.Service, path: str, body: bytes = b"") -> str:
    return messagebird_signature(url=service.url + path, body=body, key=service.signing_key)


class Traffic:
    """Vendor-like senders: each SMS is posted until it is accepted, as a vendor retries."""

    def __init__(
        self,
        service: harness.Service,
        rides: dict[str, tuple[str, str]],
        *,
        seconds: float,
        rate: float,
    ) -> None:
        self.service = service
        self.seconds = seconds
        self.rate = rate
        self.rides = rides  # person -> (their ride's number, the other party)
        self.senders = sorted(rides)
        self.counter = itertools.count()
        self.lock = threading.Lock()
        self.accepted: dict[str, tuple[str, str]] = {}  # vendor id -> (body, sender)
        self.gave_up: list[str] = []
        self.requests = Counter()
        self.refusals: list[tuple[int, str]] = []
        self.calls = Counter()
        self.redeliveries = 0

    def _post(self, vendor_id: str, sender: str, proxy: str, body: str) -> int | None:
        path = "/webhooks/messagebird/sms/"
        data = urlencode(
            {"originator": sender[1:], "recipient": proxy[1:], "payload": body, "id": vendor_id}
        ).encode()
        headers = {
            "MessageBird-Signature-JWT": sign(self.service, path, data),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        try:
            response = requests.post(
                self.service.url + path, data=data, headers=headers, timeout=10
            )
        except requests.RequestException as err:
            with self.lock:
                self.requests[f"error:{type(err).__name__}"] += 1
            return None
        with self.lock:
            self.requests[response.status_code] += 1
            if response.status_code != 200:
                self.refusals.append((response.status_code, response.text[:500]))
        return response.status_code

    def _call(self, caller: str, proxy: str) -> None:
        path = "/webhooks/messagebird/voice/?" + urlencode(
            {"source": caller[1:], "destination": proxy[1:], "callID": uuid.uuid4().hex}
        )
        try:
            response = requests.get(
                self.service.url + path,
                headers={"MessageBird-Signature-JWT": sign(self.service, path)},
                timeout=10,
            )
        except requests.RequestException:
            self.calls["error"] += 1
            return
        if response.status_code != 200:
            self.calls[response.status_code] += 1
            return
        root = ElementTree.fromstring(response.content)  # noqa: S314 - our own answer
        partner = self.rides[caller][1]
        ok = (
            root.tag == "Transfer"
            and root.get("destination") == partner[1:]
            and root.get("mask") == "true"
        )
        self.calls["transfer" if ok else "wrong"] += 1

    def _one(self, n: int, rng: random.Random, give_up_at: float) -> None:
        sender = rng.choice(self.senders)
        proxy = self.rides[sender][0]
        vendor_id, body = f"rel-{n}", f"load {n} {uuid.uuid4().hex[:8]}"
        while time.monotonic() < give_up_at:
            if self._post(vendor_id, sender, proxy, body) == 200:
                with self.lock:
                    self.accepted[vendor_id] = (body, sender)
                break
            time.sleep(0.5)
        else:
            with self.lock:
                self.gave_up.append(vendor_id)
            return
        if rng.random() < DUPLICATE_RATIO:
            with self.lock:
                self.redeliveries += 1
            self._post(vendor_id, sender, proxy, body)
        if n % 10 == 0:
            self._call(sender, proxy)

    def run(self, *, threads: int = 8) -> None:
        start = time.monotonic()
        end = start + self.seconds
        give_up_at = end + 120

        def sender_thread(index: int) -> None:
            rng = random.Random(index)  # noqa: S311 - traffic, not secrets
            while True:
                n = next(self.counter)
                due = start + n / self.rate
                if due >= end:
                    return
                time.sleep(max(0.0, due - time.monotonic()))
                self._one(n, rng, give_up_at)

        with ThreadPoolExecutor(max_workers=threads) as pool:
            for future in [pool.submit(sender_thread, i) for i in range(threads)]:
                future.result()


def _db_rows(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _probe_outage(service: harness.Service, seconds: float) -> dict:
    """What clients see while the database is down: clean 5xx, no traceback. The
    webhook is a well-formed, signed text (a malformed one is a 400 whatever the
    database does): the vendor must be told to try it again."""
    seen = {"healthz": Counter(), "webhook": Counter(), "tracebacks": 0}
    deadline = time.monotonic() + seconds
    path = "/webhooks/messagebird/sms/"
    probes = itertools.count()
    while time.monotonic() < deadline:
        body = urlencode(
            {
                "originator": "14155550000",
                "recipient": "12065550000",
                "payload": "probe",
                "id": f"outage-probe-{next(probes)}",
            }
        ).encode()
        for kind, call in [
            ("healthz", lambda: requests.get(service.url + "/healthz", timeout=5)),
            (
                "webhook",
                lambda body=body: requests.post(
                    service.url + path,
                    data=body,
                    headers={
                        "MessageBird-Signature-JWT": sign(service, path, body),
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                    timeout=5,
                ),
            ),
        ]:
            try:
                response = call()
            except requests.RequestException as err:
                seen[kind][type(err).__name__] += 1
                continue
            seen[kind][response.status_code] += 1
            if "Traceback" in response.text or 'File "' in response.text:
                seen["tracebacks"] += 1
        time.sleep(0.3)
    return seen


def test_sustained_load_with_vendor_worker_and_database_faults(tmp_path: Path):
    report: dict = {"seconds": SECONDS, "rate_per_second": RATE, "rides": RIDES, "faults": []}
    logs = tmp_path / "logs"
    logs.mkdir()
    with harness.private_postgres() as pg:
        database_url = pg.createdb("rel_load")
        vendor = harness.FakeVendor(slow_seconds=4)
        vendor.open()
        platform = events_platform.FakePlatform()
        platform.open()
        service = harness.Service(database_url=database_url, vendor_url=vendor.url, logs=logs)
        service.env.update(platform.service_env())
        abuse.configure(service)
        try:
            service.start()
            harness.wait_until(lambda: _healthy(service), timeout=60, what="the service")
            rides = _book_rides(service)
            strangers.add_conversations_number(service)
            opted_out = strangers.opt_out_people(rides)
            traffic = Traffic(
                service, strangers.ordinary(rides, opted_out), seconds=SECONDS, rate=RATE
            )
            flood = strangers.ConsentAndStrangers(
                traffic._post, rides, opted_out, numbers=PROXIES, seconds=SECONDS
            )
            runner = threading.Thread(target=traffic.run)
            flooder = threading.Thread(target=flood.run)
            extra = abuse.Abuse(service, vendor, traffic._post, seconds=SECONDS)
            extra.setup()
            extra_runner = threading.Thread(target=extra.run)
            t0 = time.monotonic()
            runner.start()
            platform_outage = events_platform.outage_in_background(platform, t0=t0, seconds=SECONDS)
            flooder.start()
            extra_runner.start()

            def at(fraction: float) -> None:
                time.sleep(max(0.0, t0 + fraction * SECONDS - time.monotonic()))

            for start, end, fault in VENDOR_FAULTS:
                at(start)
                if fault == "refused":
                    vendor.close()
                else:
                    vendor.mode = fault
                at(end)
                if fault == "refused":
                    vendor.open()
                vendor.mode = "ok"
                seconds = round((end - start) * SECONDS, 1)
                report["faults"].append({"fault": f"vendor {fault}", "seconds": seconds})

            at(SIGKILL_AT)
            report["faults"].append(_kill_a_worker_mid_send(service, vendor, database_url))

            at(DB_RESTART_AT)
            pg.stop("fast")
            outage = _probe_outage(service, DB_DOWN_SECONDS)
            pg.start()
            harness.wait_until(lambda: _healthy(service), timeout=60, what="recovery")
            report["faults"].append({"fault": "database restart", "while_down": _plain(outage)})

            runner.join(timeout=SECONDS + 300)
            flooder.join(timeout=300)
            assert not runner.is_alive() and not flooder.is_alive(), "traffic did not finish"
            extra_runner.join(timeout=300)
            assert not extra_runner.is_alive(), "the abuse traffic did not finish"
            # What the vendor must end up with: each relay once, to the other party, from
            # the ride's number; and the two notifications of each ride.
            expected = Counter(
                (rides[sender][0][1:], rides[sender][1][1:], body)
                for body, sender in traffic.accepted.values()
            )
            notifications = 2 * RIDES
            with contextlib.suppress(TimeoutError):  # what is missing is reported below
                harness.wait_until(
                    lambda: (
                        set(_accepted(vendor)) >= set(expected)
                        and len(vendor.ledger.accepted) >= len(expected) + notifications
                    ),
                    timeout=180,
                    what="every accepted message at the vendor",
                )
            time.sleep(3)  # anything sent twice would arrive now
            delivered = extra.leave_out(_accepted(vendor))
            platform_outage.join(timeout=SECONDS)
            events = events_platform.events_settled(platform, database_url, timeout=120)
            processes = {name: service.alive(name) for name in service.procs}
            statuses = dict(
                _db_rows(
                    database_url,
                    "SELECT status, count(*) FROM providers_message "
                    "WHERE direction='out' GROUP BY status",
                )
            )
            orphans = _db_rows(
                database_url,
                "SELECT count(*) FROM providers_message i WHERE i.direction='in' AND i.kind='sms' "
                "AND i.vendor_id NOT LIKE 'outage-probe-%%' AND NOT (i.sender = ANY(%s)) "
                "AND i.vendor_id NOT LIKE %s "
                "AND NOT EXISTS (SELECT 1 FROM providers_message o WHERE o.in_reply_to_id=i.id)",
                (flood.senders, abuse.VENDOR_IDS),
            )[0][0]
            sweeper_log = service.log_text("sweeper")
            report["abuse"] = extra.report(database_url, _db_rows)
        finally:
            service.stop()
            vendor.release_hang()
            vendor.close()
            platform.close()
        # Every process logs at INFO: no person's number, no text, no secret.
        everything = "".join(service.log_text(name) for name in service.procs)
        leaks = re.findall(
            r"206555[23]0[0-4]\d|load \d+ [0-9a-f]{8}|" + strangers.LEAK_PATTERN, everything
        )
        leaks += [
            s for s in (service.signing_key, service.env["DJANGO_SECRET_KEY"]) if s in everything
        ]
        leaks += abuse.LEAKS.findall(everything)

    relays = {key: count for key, count in delivered.items() if key[2].startswith("load ")}
    consent_and_strangers = flood.report(delivered)
    delivered = Counter({key: n for key, n in delivered.items() if not flood.mine(key)})
    others = {key: count for key, count in delivered.items() if key not in relays}
    report.update(
        {
            "webhook_requests": {str(k): v for k, v in traffic.requests.items()},
            "messages_in": len(traffic.accepted),
            "redeliveries_sent": traffic.redeliveries,
            "gave_up": len(traffic.gave_up),
            "relayed": sum(1 for key in expected if delivered[key] >= 1),
            "duplicated": sum(count - 1 for count in delivered.values() if count > 1),
            "lost": sum(1 for key in expected if delivered[key] == 0),
            "misaddressed_or_unexpected": sum(1 for key in relays if key not in expected),
            "notifications_delivered": sum(others.values()),
            "vendor_requests": vendor.ledger.calls,
            "outbound_by_status": statuses,
            "inbound_without_relay": orphans,
            "calls": dict(traffic.calls),
            "processes_alive_at_end": processes,
            "log_lines": everything.count("\n"),
            "log_leaks": len(leaks),
            "events": events,
            "opt_outs_and_strangers": consent_and_strangers,
        }
    )
    print("\nRELIABILITY REPORT\n" + json.dumps(report, indent=2, default=str))
    results = Path(os.environ.get("RELIABILITY_REPORT", tmp_path / "report.json"))
    results.write_text(json.dumps(report, indent=2, default=str))

    assert traffic.gave_up == []
    assert leaks == [], leaks[:5]
    assert report["lost"] == 0
    assert report["duplicated"] == 0
    assert report["misaddressed_or_unexpected"] == 0
    assert report["relayed"] == report["messages_in"] > 0
    assert report["notifications_delivered"] == notifications
    assert orphans == 0
    assert set(statuses) - {"suppressed"} == {"sent"}  # suppressed: to opted-out people
    assert statuses.get("suppressed", 0) == len(flood.driver_texts)
    strangers.check(consent_and_strangers, opted_out=len(opted_out))
    assert set(traffic.calls) == {"transfer"}
    assert all(processes.values()), processes
    assert outage["tracebacks"] == 0
    assert 503 in outage["healthz"]
    assert set(outage["webhook"]) <= {500, 502, 503, 504}
    assert all(status >= 500 for status, _ in traffic.refusals), traffic.refusals[:5]
    assert "interrupted deliveries queued again" in sweeper_log
    assert (events["lost"], events["duplicated_by_id"], events["unknown_ids"]) == (0, 0, 0)
    assert events["forged"] == 0
    assert events["by_status"] == {"sent": events["written"]}
    assert events["by_type"].get("message.relayed") == (
        report["messages_in"] + report["abuse"]["pair_relays"]
    )
    assert events["by_type"].get("call.transferred") == traffic.calls["transfer"]
    assert events["platform_answers"].get("503", 0) > 0
    abuse.Abuse.check(report["abuse"])


def _accepted(vendor: harness.FakeVendor) -> Counter:
    with vendor.ledger.lock:
        return Counter(vendor.ledger.accepted)


def _book_rides(service: harness.Service) -> dict[str, tuple[str, str]]:
    """Numbers and rides through the API, as the platform's backend would add them."""
    token = service.staff_token()
    headers = {"Authorization": f"Token {token}"}
    for number in PROXIES:
        response = requests.post(
            service.url + "/api/numbers/",
            json={"number": number, "provider": "messagebird", "service": "rides", "voice": True},
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 201, response.text
    rides: dict[str, tuple[str, str]] = {}
    pickup = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    for i in range(RIDES):
        customer, driver = f"+1206555{2000 + i}", f"+1206555{3000 + i}"
        response = requests.post(
            service.url + "/api/rides/",
            json={
                "customer": {"name": f"Customer {i}", "phone": customer},
                "driver": {"name": f"Driver {i}", "phone": driver},
                "start": "Central Station",
                "destination": "Airport",
                "pickup_at": pickup,
            },
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 201, response.text
        proxy = response.json()["proxy_number"]
        rides[customer], rides[driver] = (proxy, driver), (proxy, customer)
    return rides


def _plain(outage: dict) -> dict:
    return {k: dict(v) if isinstance(v, Counter) else v for k, v in outage.items()}


def _healthy(service: harness.Service) -> bool:
    try:
        return requests.get(service.url + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _kill_a_worker_mid_send(service, vendor, database_url: str) -> dict:
    """Hold the next send at the vendor, SIGKILL the worker sending it, check the row."""
    vendor.hanging.clear()
    vendor.release.clear()
    vendor.mode = "hang"
    assert vendor.hanging.wait(timeout=60), "no send reached the vendor"
    workers = {n: p.pid for n, p in service.procs.items() if n.startswith("worker")}
    # Found well within the client's timeout (3 s), while the send is still in flight.
    victim = harness.worker_of_client_port(workers, vendor.hung_client_port, vendor.port)
    assert victim is not None, "no worker holds the hung connection"
    sending = _db_rows(database_url, "SELECT id FROM providers_message WHERE status='sending'")
    service.kill(victim)
    vendor.mode = "ok"
    vendor.release_hang()
    # A supervisor restarts the worker; the interrupted send is the sweeper's to revive.
    service.start_worker(victim)
    ids = [row[0] for row in sending]
    assert ids, "the hung send left no row in `sending`"
    harness.wait_until(
        lambda: (
            _db_rows(
                database_url,
                "SELECT count(*) FROM providers_message WHERE id = ANY(%s) AND status='sent'",
                (ids,),
            )[0][0]
            == len(ids)
        ),
        timeout=60,
        what="the interrupted message to be sent",
    )
    return {"fault": "SIGKILL delivery worker mid-send", "worker": victim, "messages": len(ids)}
