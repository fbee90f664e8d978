"""Bulk-loaded history for the benchmarks (run in a child with Django set up).

A city's ride history: customers with log-normal ride rates, drivers, a pool of
MessageBird numbers, rides spread over the past months (95% expired, 5% closed early),
and for each past ride the message log of one relayed text (the inbound text and its
relay); the signature ids of the last day are remembered (the replay window). On top:
the same OPEN_RIDES open rides at every scale, between the same people on the same
numbers, so that two scales differ in their history only. Loaded with COPY: a million
rides in a few minutes.

    python -m bench.data rides 1000000      (in a child: see bench.common.run_django)
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models
from django.utils import timezone

# Bump when the loader would load something else: templates built before are rebuilt.
RIDES_LOADER = "rides-2"  # inbound history with signature ids
CONVERSATIONS_LOADER = "conversations-2"
POOL_SIZE = 40
OPEN_RIDES = 200
OPEN_RIDES_PER_DRIVER = 2
RIDES_PER_DAY = 2400
CHUNK = 100_000
SEED = 7
MESSAGE_FIELDS = [
    "id", "direction", "kind", "provider", "vendor_id", "proxy", "sender", "recipient",
    "body", "status", "outcome", "session", "in_reply_to", "attempts", "last_error",
    "next_attempt_at", "created_at", "updated_at", "sent_at", "nonce",
]  # fmt: skip


def customer_phone(index: int) -> str:
    return f"+1312{2_000_000 + index:07d}"


def driver_phone(index: int) -> str:
    return f"+1773{2_000_000 + index:07d}"


def proxy_phone(index: int) -> str:
    return f"+1206555{1000 + index:04d}"


def people_for(rides: int) -> tuple[int, int]:
    """Customers and drivers for a history of `rides` (about 5 rides per customer and
    300 per driver, with enough people for the open rides)."""
    customers = max(OPEN_RIDES + 100, rides // 5)
    drivers = max(OPEN_RIDES // OPEN_RIDES_PER_DRIVER + 50, rides // 300)
    return customers, drivers


def _text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if any(c in text for c in "\\\t\n\r"):
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def copy_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY rows (values in `fields` order, ids included) into the model's table."""
    meta = model._meta
    columns = ", ".join(connection.ops.quote_name(meta.get_field(f).column) for f in fields)
    statement = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
    count = max_id = 0
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, CHUNK):
            text = "".join("\t".join(_text(v) for v in row) + "\n" for row in chunk)
            with cursor.cursor.copy(statement) as copy:
                copy.write(text)
            count += len(chunk)
            if "id" in fields:
                max_id = max(max_id, max(row[fields.index("id")] for row in chunk))
        if "id" in fields:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                "GREATEST(%s, (SELECT last_value FROM pg_sequences WHERE sequencename = %s)))",
                [meta.db_table, max_id, f"{meta.db_table}_id_seq"],
            )
    return count


def _chunks(rows: Iterable[Sequence], size: int) -> Iterator[list[Sequence]]:
    chunk: list[Sequence] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _weights(count: int, rng: random.Random, *, sigma: float) -> list[float]:
    raw = [rng.lognormvariate(0.0, sigma) for _ in range(count)]
    cap = 20 * sum(raw) / len(raw)
    return [min(w, cap) for w in raw]


def load_proxies() -> None:
    from providers.models import ProxyNumber, Service

    now = timezone.now()
    copy_rows(
        ProxyNumber,
        ["id", "number", "provider", "service", "sms", "voice", "country", "active", "created_at"],
        (
            (i + 1, proxy_phone(i), "messagebird", Service.RIDES, True, True, "US", True, now)
            for i in range(POOL_SIZE)
        ),
    )


def load_rides(total: int, *, now: datetime | None = None) -> dict:
    """People, numbers, `total` rides (OPEN_RIDES of them open) and their message log."""
    from providers.models import Direction, Kind, Message, Status
    from rides.conf import masking_window
    from rides.models import Customer, Driver, Ride, RideStatus

    now = now or timezone.now()
    rng = random.Random(SEED)
    window = masking_window()
    customers, drivers = people_for(total)
    load_proxies()
    joined = now - timedelta(days=800)
    for model, phone, label, count in (
        (Customer, customer_phone, "Customer", customers),
        (Driver, driver_phone, "Driver", drivers),
    ):
        copy_rows(
            model,
            ["id", "name", "phone", "created_at"],
            ((i + 1, f"{label} {i}", phone(i), joined) for i in range(count)),
        )

    history = total - OPEN_RIDES
    days = max(30, history / RIDES_PER_DAY)
    customer_cum = _cumulative(_weights(customers, rng, sigma=1.2))
    driver_cum = _cumulative(_weights(drivers, rng, sigma=0.5))
    ride_fields = [
        "id", "customer", "driver", "start", "destination", "pickup_at", "proxy", "status",
        "masking_ends_at", "created_at", "ended_at",
    ]  # fmt: skip

    # Who rode with whom on which number, drawn once (the messages below repeat it).
    ride_customers = array(
        "l", rng.choices(range(1, customers + 1), cum_weights=customer_cum, k=history)
    )
    ride_drivers = array("l", rng.choices(range(1, drivers + 1), cum_weights=driver_cum, k=history))
    ride_proxies = array("l", (rng.randrange(POOL_SIZE) + 1 for _ in range(history)))
    span = days * 86400

    def pickup_of(i: int) -> datetime:
        # Oldest first, all over before now - window: expired, or closed early.
        return now - window - timedelta(seconds=span * (1 - i / history) + 60)

    def past() -> Iterator[tuple]:
        for i in range(history):
            pickup = pickup_of(i)
            closed = rng.random() < 0.05
            ends = pickup + (timedelta(minutes=30) if closed else window)
            yield (
                i + 1,
                ride_customers[i],
                ride_drivers[i],
                "1 Main St",
                "500 Market St",
                pickup,
                ride_proxies[i],
                RideStatus.CLOSED if closed else RideStatus.EXPIRED,
                ends,
                pickup - timedelta(minutes=rng.uniform(3, 15)),
                ends,
            )

    def current() -> Iterator[tuple]:
        for j in range(OPEN_RIDES):
            pickup = now - timedelta(minutes=5 + 3 * j)
            yield (
                history + j + 1,
                j + 1,  # its own customer
                j // OPEN_RIDES_PER_DRIVER + 1,  # a driver with a few open rides
                "1 Main St",
                "500 Market St",
                pickup,
                j % POOL_SIZE + 1,  # a driver's open rides are on different numbers
                RideStatus.OPEN,
                pickup + window,
                pickup - timedelta(minutes=10),
                None,
            )

    copy_rows(Ride, ride_fields, past())
    copy_rows(Ride, ride_fields, current())

    # The log of the past: for each past ride one inbound text and its relay.
    def messages() -> Iterator[tuple]:
        for i in range(history):
            ride_id, at = i + 1, pickup_of(i) + timedelta(minutes=2)
            customer = customer_phone(ride_customers[i] - 1)
            driver = driver_phone(ride_drivers[i] - 1)
            proxy_id = ride_proxies[i]
            proxy = proxy_phone(proxy_id - 1)
            yield (
                2 * i + 1, Direction.INBOUND, Kind.SMS, "messagebird", f"hist-{ride_id}",
                proxy_id, customer, proxy, "I'm outside", Status.RECEIVED, "relayed",
                f"ride:{ride_id}", None, 0, "", None, at, at, None,
                f"hist-jti-{ride_id}",  # its signature's one-time id
            )  # fmt: skip
            yield (
                2 * i + 2, Direction.OUTBOUND, Kind.SMS, "messagebird", f"mb-{ride_id}",
                proxy_id, proxy, driver, "I'm outside", Status.SENT, "relayed",
                f"ride:{ride_id}", 2 * i + 1, 1, "", None, at, at, at, "",
            )  # fmt: skip

    message_count = copy_rows(Message, MESSAGE_FIELDS, messages()) if history else 0
    return {
        "rides": total,
        "open_rides": OPEN_RIDES,
        "customers": customers,
        "drivers": drivers,
        "pool": POOL_SIZE,
        "messages": message_count,
    }


CONVERSATION_NUMBERS = 10


def conversation_number(index: int) -> str:
    return f"+1206556{1000 + index:04d}"


def person_phone(index: int) -> str:
    """People of the conversations history (and, from `10**6` up, newcomers)."""
    return f"+1646{2_000_000 + index:07d}"


def load_conversations(total: int, *, now: datetime | None = None) -> dict:
    """`total` ended conversations on the conversations numbers, and their log.

    People come back: the parties are drawn from a population of `total // 2` phones.
    Each conversation has its two participants (closed) and one relayed text (the
    inbound text and its relay) in the message log.
    """
    from conversations.models import Conversation, EndReason, Participant, Role, State
    from providers.models import Direction, Kind, Message, ProxyNumber, Service

    now = now or timezone.now()
    rng = random.Random(SEED)
    copy_rows(
        ProxyNumber,
        ["id", "number", "provider", "service", "sms", "voice", "country", "active", "created_at"],
        (
            (i + 1, conversation_number(i), "messagebird", Service.CONVERSATIONS, True, True,
             "US", True, now)
            for i in range(CONVERSATION_NUMBERS)
        ),
    )  # fmt: skip
    population = max(100, total // 2)
    span = max(30, total / 500) * 86400
    starters = array("l", (rng.randrange(population) for _ in range(total)))
    joiners = array("l", ((s + 1 + rng.randrange(population - 1)) % population for s in starters))

    def started_of(i: int) -> datetime:
        return now - timedelta(days=8) - timedelta(seconds=span * (1 - i / total))

    def conversations() -> Iterator[tuple]:
        for i in range(total):
            started = started_of(i)
            joined = started + timedelta(minutes=rng.uniform(1, 20))
            ended = joined + timedelta(hours=rng.uniform(0.5, 48))
            code = "".join(rng.choice("23456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(6))
            yield (
                i + 1, i % CONVERSATION_NUMBERS + 1, code, State.ENDED, EndReason.PARTY,
                started, joined, ended, ended, ended,
            )  # fmt: skip

    def participants() -> Iterator[tuple]:
        for i in range(total):
            started = started_of(i)
            proxy = i % CONVERSATION_NUMBERS + 1
            yield (2 * i + 1, i + 1, proxy, person_phone(starters[i]), Role.STARTER, False, started)
            yield (2 * i + 2, i + 1, proxy, person_phone(joiners[i]), Role.JOINER, False, started)

    def messages() -> Iterator[tuple]:
        for i in range(total):
            at = started_of(i) + timedelta(minutes=30)
            proxy_id = i % CONVERSATION_NUMBERS + 1
            proxy = conversation_number(proxy_id - 1)
            starter, joiner = person_phone(starters[i]), person_phone(joiners[i])
            yield (
                2 * i + 1, Direction.INBOUND, Kind.SMS, "messagebird", f"conv-hist-{i}",
                proxy_id, starter, proxy, "see you at 8", "received", "relayed",
                f"conversation:{i + 1}", None, 0, "", None, at, at, None, f"conv-jti-{i}",
            )  # fmt: skip
            yield (
                2 * i + 2, Direction.OUTBOUND, Kind.SMS, "messagebird", f"conv-mb-{i}",
                proxy_id, proxy, joiner, "see you at 8", "sent", "relayed",
                f"conversation:{i + 1}", 2 * i + 1, 1, "", None, at, at, at, "",
            )  # fmt: skip

    copy_rows(
        Conversation,
        ["id", "proxy", "code", "state", "end_reason", "created_at", "joined_at",
         "last_activity_at", "expires_at", "ended_at"],
        conversations(),
    )  # fmt: skip
    copy_rows(
        Participant,
        ["id", "conversation", "proxy", "phone", "role", "open", "joined_at"],
        participants(),
    )
    copy_rows(Message, MESSAGE_FIELDS, messages())
    return {"conversations": total, "people": population, "numbers": CONVERSATION_NUMBERS}


def _cumulative(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def open_rides() -> dict:
    """The open rides as (customer phone, driver phone, proxy number), for the load."""
    from rides.models import Ride, RideStatus

    rows = (
        Ride.objects.filter(status=RideStatus.OPEN, masking_ends_at__gt=timezone.now())
        .order_by("pk")
        .values_list("customer__phone", "driver__phone", "proxy__number")
    )
    return {"sessions": [list(row) for row in rows]}


if __name__ == "__main__":
    from .common import child_main

    child_main(
        {
            "rides": lambda total: load_rides(int(total)),
            "open-rides": open_rides,
            "conversations": lambda total: load_conversations(int(total)),
        }
    )
