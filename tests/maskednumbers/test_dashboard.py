from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from maskednumbers.dashboard import CHART_HEIGHT, pool_health
from providers.models import Direction, Kind, Message, Service, Status
from tests.factories import proxy_number

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 22, 15, 40, tzinfo=UTC)


def log(proxy, *, direction=Direction.OUTBOUND, status=Status.SENT, at=NOW, n=1, **fields):
    for _ in range(n):
        Message.objects.create(
            direction=direction,
            kind=Kind.SMS,
            provider=proxy.provider,
            proxy=proxy,
            sender="+14155550120",
            recipient=proxy.number,
            body="x",
            status=status,
            created_at=at,
            **fields,
        )


@pytest.fixture
def pool():
    rides = [proxy_number(service=Service.RIDES) for _ in range(3)]
    proxy_number(service=Service.RIDES, active=False)
    conversations = [proxy_number(service=Service.CONVERSATIONS)]
    return rides, conversations


def test_figures_per_service_count_numbers_sessions_and_the_last_day(pool):
    rides, conversations = pool
    log(rides[0], direction=Direction.INBOUND, status=Status.RECEIVED, n=2)
    log(rides[1], n=3)
    log(rides[1], status=Status.FAILED)
    log(rides[2], status=Status.QUEUED)
    # A message still waiting from two days ago counts as waiting, not in the day's traffic.
    log(rides[2], status=Status.QUEUED, at=NOW - timedelta(days=2))
    log(rides[0], at=NOW - timedelta(hours=25))
    log(conversations[0], direction=Direction.INBOUND, status=Status.RECEIVED)

    health = pool_health(now=NOW)
    by_service = {s.service: s for s in health.services}
    r = by_service[Service.RIDES]
    # Sent: the three sent texts of the day, not the failed or waiting ones.
    assert (r.numbers_active, r.received_day, r.sent_day, r.pending, r.failed_day) == (
        3,
        2,
        3,
        2,
        1,
    )
    assert not r.healthy
    c = by_service[Service.CONVERSATIONS]
    assert (c.numbers_active, c.received_day, c.sent_day, c.pending, c.failed_day) == (
        1,
        1,
        0,
        0,
        0,
    )
    assert c.healthy


def test_open_sessions_and_the_busiest_number_come_from_each_router(pool):
    rides, conversations = pool
    health = pool_health(now=NOW)
    by_service = {s.service: s for s in health.services}
    # The test router reports one session on the lowest id of each service it is asked about.
    assert by_service[Service.RIDES].open_sessions == 1
    assert by_service[Service.RIDES].busiest_number == rides[0].number
    assert by_service[Service.RIDES].busiest_load == 1
    assert by_service[Service.CONVERSATIONS].busiest_number == conversations[0].number


def test_open_sessions_and_the_busiest_number_link_to_their_sessions(admin_client, pool):
    rides, _ = pool
    html = admin_client.get("/admin/").content.decode()
    assert 'href="/admin/rides/ride/?status__exact=open"' in html
    assert (
        f'href="/admin/rides/ride/?status__exact=open&amp;proxy__id__exact={rides[0].pk}"' in html
    )
    assert 'href="/admin/conversations/conversation/?state__in=pending%2Cactive"' in html


def test_a_service_without_numbers_is_shown_as_unhealthy():
    health = pool_health(now=NOW)
    assert [s.service for s in health.services] == [Service.RIDES, Service.CONVERSATIONS]
    assert all(s.numbers_active == 0 and not s.healthy for s in health.services)
    assert all(s.busiest_number == "" for s in health.services)


def test_chart_has_one_bar_per_hour_scaled_to_the_peak(pool):
    rides, _ = pool
    log(rides[0], direction=Direction.INBOUND, status=Status.RECEIVED, n=2)
    log(rides[0], n=2, at=NOW - timedelta(minutes=30))
    log(rides[0], status=Status.FAILED, at=NOW - timedelta(hours=3))
    log(rides[0], at=NOW - timedelta(hours=24))  # before the first bar

    health = pool_health(now=NOW)
    assert len(health.hours) == 24
    assert health.hours[0].start == datetime(2026, 11, 21, 16, tzinfo=UTC)
    assert health.hours[-1].start == datetime(2026, 11, 22, 15, tzinfo=UTC)
    last = health.hours[-1]
    assert (last.inbound, last.outbound, last.total) == (2, 2, 4)
    assert health.peak == 4
    assert last.inbound_height + last.outbound_height == CHART_HEIGHT
    assert last.outbound_y == 0
    three_ago = health.hours[-4]
    assert (three_ago.outbound, three_ago.failed) == (1, 1)
    assert three_ago.outbound_height == CHART_HEIGHT / 4
    assert health.chart_total == 5


def test_the_dashboard_runs_a_handful_of_queries(pool, django_assert_max_num_queries):
    rides, _ = pool
    log(rides[0], n=5)
    with django_assert_max_num_queries(6):
        pool_health(now=NOW)


def test_admin_index_shows_the_pool_health_and_the_simulator_link(admin_client, pool):
    rides, _ = pool
    # The page reads the real clock: a failure from the last day, as of now.
    log(rides[0], status=Status.FAILED, at=timezone.now() - timedelta(minutes=5))
    html = admin_client.get("/admin/").content.decode()
    assert "Pool health" in html
    assert 'data-service="rides"' in html and 'data-service="conversations"' in html
    assert "pool-card-alert" in html
    assert '<svg viewBox="0 0 480' in html
    assert 'href="/simulator/"' in html
    # The app list of the stock index is still there.
    assert "app-providers" in html


def test_an_empty_day_says_so_instead_of_an_empty_chart(admin_client):
    assert "No messages in the last 24 hours" in admin_client.get("/admin/").content.decode()


def test_delivery_rate_and_top_failure_reasons_per_service_and_per_vendor(pool):
    rides, conversations = pool
    twilio = proxy_number(service=Service.RIDES, provider="twilio")
    log(rides[0], status=Status.DELIVERED, n=3)
    log(twilio, status=Status.DELIVERED)
    log(twilio, status=Status.UNDELIVERED, error_code="30003", error_description="unreachable", n=2)
    log(twilio, status=Status.FAILED, error_description="Twilio refused the message")
    log(twilio, status=Status.SENT)  # no receipt yet: not in the rate
    log(twilio, status=Status.UNDELIVERED, at=NOW - timedelta(hours=25))
    log(conversations[0], status=Status.SENT)

    health = pool_health(now=NOW)

    service = {d.label: d for d in health.delivery_by_service}
    rides_day = service["Rides"]
    assert (rides_day.sent, rides_day.delivered, rides_day.undelivered, rides_day.failed) == (
        7,
        4,
        2,
        1,
    )
    assert rides_day.rate == round(100 * 4 / 7)
    assert rides_day.reasons == [("30003: unreachable", 2), ("Twilio refused the message", 1)]
    assert service["Conversations"].rate is None
    vendor = {d.label: d for d in health.delivery_by_vendor}
    assert (vendor["console"].rate, vendor["console"].reasons) == (100, [])
    assert vendor["twilio"].rate == 25


def test_admin_index_shows_the_delivery_rate(admin_client, pool):
    rides, _ = pool
    at = timezone.now() - timedelta(minutes=5)
    log(rides[0], status=Status.DELIVERED, at=at)
    log(rides[0], status=Status.UNDELIVERED, error_code="30007", at=at)

    html = admin_client.get("/admin/").content.decode()

    assert "Delivery, last 24 hours" in html
    assert '<td class="pool-rate">50%</td>' in html
    assert "30007" in html
