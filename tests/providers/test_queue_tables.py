"""The queue tables are analyzed and vacuumed after a fixed number of changes."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.reliability.conftest import requires_postgres

pytestmark = [pytest.mark.django_db, requires_postgres]


@pytest.mark.parametrize("table", ["django_tasks_database_dbtaskresult", "providers_message"])
def test_queue_tables_are_analyzed_after_a_fixed_number_of_changes(table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [table])
        (options,) = cursor.fetchone()
    assert "autovacuum_analyze_scale_factor=0" in options
    assert "autovacuum_analyze_threshold=2000" in options
    assert "autovacuum_vacuum_threshold=2000" in options


def test_the_log_written_on_every_webhook_keeps_no_index_that_no_query_uses():
    """Every text and call inserts into it; each index is one more page to update.
    `db_index=True` or `unique=True` on a text column would add a varchar_pattern_ops
    copy (for LIKE) that nothing here queries with."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'providers_message'"
        )
        indexes = dict(cursor.fetchall())
    assert not [name for name, sql in indexes.items() if "pattern_ops" in sql], indexes
    assert {"message_session_time", "message_status", "message_outbox"} <= set(indexes)
    assert "message_nonce_unique" in indexes
