"""The sender's open conversation is found from their open participation, not by walking
every open conversation of the number (PostgreSQL plans; bench/ has the timings)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations.models import Conversation, Participant, Role, State
from conversations.selectors import conversation_held_by, conversation_open_for
from tests.factories import conversations_number
from tests.reliability.conftest import requires_postgres

pytestmark = [pytest.mark.django_db, requires_postgres]

OPEN = 3000


def test_the_sender_s_conversation_is_found_through_their_open_participation():
    number = conversations_number()
    now = timezone.now()
    later = now + timezone.timedelta(days=7)
    conversations = Conversation.objects.bulk_create(
        Conversation(
            proxy=number,
            code=f"C{i:05d}",
            state=State.ACTIVE,
            created_at=now,
            joined_at=now,
            last_activity_at=now,
            expires_at=later,
        )
        for i in range(OPEN)
    )
    Participant.objects.bulk_create(
        Participant(
            conversation=c, proxy=number, phone=f"+1312555{i:04d}", role=Role.STARTER, joined_at=now
        )
        for i, c in enumerate(conversations)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conversations_conversation")
        cursor.execute("ANALYZE conversations_participant")

    # A prepared statement may run with a generic plan, made once without the values:
    # it must still start from the open participations' partial index.
    from conversations.selectors import HELD_BY_SQL
    from tests.plans import generic_plan

    generic = generic_plan(
        HELD_BY_SQL,
        params={"proxy": 1, "phone": 2},
        types="bigint, text",
        values=f"{number.pk:d}, '+13125551234'",
    )
    assert "participant_one_open_per_number" in generic, generic
    assert "Seq Scan" not in generic, generic

    sender = "+13125551234"
    # Each webhook reads the sender's conversation held on the number, lapsed or not;
    # START's retry after a collision reads the open one.
    for lookup in (
        lambda: conversation_held_by(proxy=number, phone=sender),
        lambda: conversation_open_for(proxy=number, phone=sender, now=now),
    ):
        with CaptureQueriesContext(connection) as captured:
            found = lookup()
        assert found == conversations[1234]

        (query,) = captured.captured_queries
        assert query["sql"].count("JOIN conversations_participant") == 1, query["sql"]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE) " + query["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "participant_one_open_per_number" in plan, plan
        assert "Rows Removed by" not in plan, plan
