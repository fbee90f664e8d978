"""PostgreSQL plans of the hand-written statements, as prepared statements run them."""

from __future__ import annotations

from django.db import connection


def generic_plan(sql: str, *, params: list[int], types: str, values: str) -> str:
    """EXPLAIN of `sql` under the generic plan PostgreSQL may keep for a prepared
    statement (made once, without the parameters' values).

    `params` numbers each `%s` in order (1-based; a parameter may repeat), `types` are
    the parameters' types and `values` the arguments to explain it with, as SQL.
    """
    for n in params:
        sql = sql.replace("%s", f"${n}", 1)
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
