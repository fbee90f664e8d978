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
