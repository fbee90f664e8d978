"""PostgreSQL plans of the hand-written statements, as prepared statements run them."""

from __future__ import annotations

from django.db import connection


def generic_plan(sql: str, *, params: dict[str, int], types: str, values: str) -> str:
    """EXPLAIN of `sql` under the generic plan PostgreSQL may keep for a prepared
    statement (made once, without the parameters' values).

    `params` numbers each `%(name)s` (1-based), `types` are the parameters' types and
    `values` the arguments to explain it with, as SQL.
    """
    for name, n in params.items():
        sql = sql.replace(f"%({name})s", f"${n}")
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            cursor.execute(f"PREPARE generic_plan ({types}) AS {sql}")
            cursor.execute(f"EXPLAIN EXECUTE generic_plan({values})")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("DEALLOCATE generic_plan")
        finally:
            cursor.execute("RESET plan_cache_mode")
    return plan
