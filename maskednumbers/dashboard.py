"""The health of the number pool, for the admin index: a handful of aggregate queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.urls import reverse
from django.utils import timezone

from providers.models import Direction, Kind, Message, ProxyNumber, Service, Status
from providers.phone import redact
from providers.replies import numbers_at_reply_limit
from providers.selectors import proxy_open_sessions

HOURS = 24
CHART_HEIGHT = 96
PENDING = [Status.QUEUED, Status.SENDING]
# Accepted by the vendor: what a delivery rate can be asked of.
ACCEPTED = [Status.SENT, Status.DELIVERED, Status.UNDELIVERED]
FAILURES = [Status.UNDELIVERED, Status.FAILED]
TOP_REASONS = 3

# Where each service lists its sessions, and the filter of that list for the open ones.
SESSION_LISTS = {
    Service.RIDES: ("admin:rides_ride_changelist", {"status__exact": "open"}),
    Service.CONVERSATIONS: (
        "admin:conversations_conversation_changelist",
        {"state__in": "pending,active"},
    ),
}


@dataclass(frozen=True)
class ServiceHealth:
    service: str
    label: str
    numbers_active: int
    open_sessions: int
    busiest_number: str
    busiest_id: int | None
    busiest_load: int
    received_day: int
    sent_day: int
    pending: int
    failed_day: int

    @property
    def healthy(self) -> bool:
        return self.numbers_active > 0 and self.failed_day == 0

    def _sessions_url(self, **more: object) -> str:
        name, open_filter = SESSION_LISTS[self.service]
        return f"{reverse(name)}?{urlencode(open_filter | more)}"

    @property
    def sessions_url(self) -> str:
        """The service's list of open sessions."""
        return self._sessions_url()

    @property
    def busiest_url(self) -> str:
        """The open sessions on the busiest number."""
        return self._sessions_url(proxy__id__exact=self.busiest_id)


@dataclass(frozen=True)
class HourBar:
    start: datetime
    inbound: int
    outbound: int
    failed: int
    # Heights in chart units (0..CHART_HEIGHT), computed here so the template only draws.
    inbound_height: float
    outbound_height: float

    @property
    def total(self) -> int:
        return self.inbound + self.outbound

    # SVG geometry: inbound at the bottom, outbound stacked on top, baseline at CHART_HEIGHT.
    @property
    def inbound_y(self) -> float:
        return CHART_HEIGHT - self.inbound_height

    @property
    def outbound_y(self) -> float:
        return self.inbound_y - self.outbound_height


@dataclass(frozen=True)
class Delivery:
    """What became of the day's outbound texts of one service or one vendor."""

    label: str
    sent: int  # accepted by the vendor, whatever came after
    delivered: int
    undelivered: int
    failed: int
    reasons: list[tuple[str, int]]  # the most frequent failure reasons, with counts

    @property
    def reported(self) -> int:
        return self.delivered + self.undelivered + self.failed

    @property
    def rate(self) -> int | None:
        """Delivered, in percent of the texts whose fate is known (None: none is)."""
        return round(100 * self.delivered / self.reported) if self.reported else None


@dataclass(frozen=True)
class PoolHealth:
    services: list[ServiceHealth]
    hours: list[HourBar]
    peak: int
    since: datetime
    # Numbers that sent their most replies to people who are no party this hour: silent
    # to strangers now (a flood, or SMS pumping).
    reply_limited: list[ProxyNumber]
    delivery_by_service: list[Delivery]
    delivery_by_vendor: list[Delivery]

    @property
    def delivery_groups(self) -> list[tuple[str, list[Delivery]]]:
        return [("Per service", self.delivery_by_service), ("Per vendor", self.delivery_by_vendor)]

    @property
    def chart_total(self) -> int:
        return sum(bar.total for bar in self.hours)


def pool_health(*, now: datetime | None = None) -> PoolHealth:
    """Numbers, sessions and traffic per service, and messages per hour over the last day."""
    now = now or timezone.now()
    day_ago = now - timedelta(hours=24)

    active = list(ProxyNumber.objects.filter(active=True).only("id", "number", "service"))
    sessions = proxy_open_sessions(proxies=active)
    by_service: dict[str, list[ProxyNumber]] = defaultdict(list)
    for proxy in active:
        by_service[proxy.service].append(proxy)

    traffic = {
        row["proxy__service"]: row
        for row in Message.objects.filter(
            Q(created_at__gte=day_ago) | Q(direction=Direction.OUTBOUND, status__in=PENDING)
        )
        .values("proxy__service")
        .annotate(
            received=Count("id", filter=Q(direction=Direction.INBOUND, created_at__gte=day_ago)),
            sent=Count(
                "id",
                filter=Q(
                    direction=Direction.OUTBOUND, status__in=ACCEPTED, created_at__gte=day_ago
                ),
            ),
            pending=Count("id", filter=Q(direction=Direction.OUTBOUND, status__in=PENDING)),
            failed=Count("id", filter=Q(status=Status.FAILED, created_at__gte=day_ago)),
        )
    }

    services = []
    for service, label in Service.choices:
        numbers = by_service.get(service, [])
        busiest = max(numbers, key=lambda p: (sessions.get(p.pk, 0), -p.pk), default=None)
        load = sessions.get(busiest.pk, 0) if busiest else 0
        row = traffic.get(service, {})
        services.append(
            ServiceHealth(
                service=service,
                label=label,
                numbers_active=len(numbers),
                open_sessions=sum(sessions.get(p.pk, 0) for p in numbers),
                busiest_number=busiest.number if busiest and load else "",
                busiest_id=busiest.pk if busiest and load else None,
                busiest_load=load,
                received_day=row.get("received", 0),
                sent_day=row.get("sent", 0),
                pending=row.get("pending", 0),
                failed_day=row.get("failed", 0),
            )
        )
    hours, peak, since = _hourly(now)
    by_service, by_vendor = _delivery(day_ago)
    return PoolHealth(
        services=services,
        hours=hours,
        peak=peak,
        since=since,
        reply_limited=numbers_at_reply_limit(now=now),
        delivery_by_service=by_service,
        delivery_by_vendor=by_vendor,
    )


def _delivery(since: datetime) -> tuple[list[Delivery], list[Delivery]]:
    """Delivery rate and top failure reasons per service and per vendor, in one query."""
    rows = (
        Message.objects.filter(
            direction=Direction.OUTBOUND,
            kind=Kind.SMS,
            created_at__gte=since,
            status__in=[*ACCEPTED, Status.FAILED],
        )
        .values("proxy__service", "provider", "status", "error_code", "error_description")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    reasons: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        for key in (("service", row["proxy__service"] or "-"), ("vendor", row["provider"])):
            counts[key][row["status"]] += row["n"]
            if row["status"] in FAILURES:
                reasons[key][_reason(row["error_code"], row["error_description"])] += row["n"]
    labels = dict(Service.choices)

    def groups(kind: str) -> list[Delivery]:
        found = []
        for key, by_status in sorted(counts.items()):
            if key[0] != kind:
                continue
            top = sorted(reasons[key].items(), key=lambda reason: (-reason[1], reason[0]))
            found.append(
                Delivery(
                    label=labels.get(key[1], key[1]) if kind == "service" else key[1],
                    sent=sum(by_status[status] for status in ACCEPTED),
                    delivered=by_status[Status.DELIVERED],
                    undelivered=by_status[Status.UNDELIVERED],
                    failed=by_status[Status.FAILED],
                    reasons=top[:TOP_REASONS],
                )
            )
        return found

    return groups("service"), groups("vendor")


def _reason(code: str, description: str) -> str:
    """A failure reason as the dashboard names it (no digit run that may be a number)."""
    text = ": ".join(part for part in (code, description) if part) or "no reason given"
    return redact(text)[:120]


def _hourly(now: datetime) -> tuple[list[HourBar], int, datetime]:
    current = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    starts = [current - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]
    counts: dict[datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        Message.objects.filter(created_at__gte=starts[0], created_at__lte=now)
        .annotate(hour=TruncHour("created_at"))
        .values("hour", "direction")
        .annotate(n=Count("id"), failed=Count("id", filter=Q(status=Status.FAILED)))
    )
    for row in rows:
        bucket = counts[row["hour"]]
        bucket[row["direction"]] += row["n"]
        bucket["failed"] += row["failed"]
    peak = max((sum(counts[s][d] for d in Direction.values) for s in starts), default=0)
    scale = CHART_HEIGHT / peak if peak else 0
    bars = [
        HourBar(
            start=start,
            inbound=counts[start][Direction.INBOUND],
            outbound=counts[start][Direction.OUTBOUND],
            failed=counts[start]["failed"],
            inbound_height=round(counts[start][Direction.INBOUND] * scale, 1),
            outbound_height=round(counts[start][Direction.OUTBOUND] * scale, 1),
        )
        for start in starts
    ]
    return bars, peak, starts[0]
