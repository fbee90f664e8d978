"""Keep the planner's view of the two queue tables fresh (PostgreSQL only).

The delivery task table and the outbox are queues: rows arrive, change status within a
second and are not looked at again. With the default thresholds (a table is analyzed
after 10% of it changed) a young or very large table keeps statistics from when it was
empty or small, and the worker's "next ready task" query was planned as a scan of every
task row of the backend instead of a walk down the partial index of ready ones: with
1,143 task rows it filtered 850 of them on every poll (0.41 ms) where the index walk
takes 0.07-0.16 ms, and the scan grows with the table (a row per delivered SMS, kept a
day). Analyzing and vacuuming after a fixed number of changed rows keeps that query on
the partial index and the dead index entries of claimed tasks short-lived.
"""

from django.db import migrations

TABLES = ["django_tasks_database_dbtaskresult", "providers_message"]
SETTINGS = (
    "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000, "
    "autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 2000"
)
RESET = (
    "autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, "
    "autovacuum_analyze_scale_factor, autovacuum_analyze_threshold"
)


def tune(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} SET ({SETTINGS})")
        schema_editor.execute(f"ANALYZE {schema_editor.quote_name(table)}")


def untune(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} RESET ({RESET})")


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0001_initial"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(tune, untune, elidable=False)]
