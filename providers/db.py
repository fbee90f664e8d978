"""Statements of the webhook path, built once per process instead of once per request.

Profiles of the webhooks (`python -m bench.profile sms`) showed most of a request's CPU
in Django building SQL: on the benchmark machine about 0.5 ms for a one-table lookup and
1.5 ms for the ride lookup (a three-table join), against 0.1 ms to execute the same SQL
through a cursor. The few statements every text and call runs are therefore written
here from the models' metadata, once, and executed with their parameters; values are
prepared by the fields themselves (`get_db_prep_save`), as the ORM does. Everything
else goes through the ORM as usual.
"""

from __future__ import annotations

import weakref
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models.constants import OnConflict


def quoted_names(alias: str, **names: type[models.Model] | tuple[type[models.Model], str]):
    """The names a hand-written statement uses, quoted for the database: a model stands
    for its table, (model, field name) for that field's column."""
    quote = connections[alias].ops.quote_name
    return {
        key: quote(name._meta.db_table)
        if isinstance(name, type)
        else quote(name[0]._meta.get_field(name[1]).column)
        for key, name in names.items()
    }


def _prepared(field: models.Field, instance: models.Model, connection, *, add: bool):
    """The value as the ORM would send it (defaults, auto_now, the field's own prep)."""
    return field.get_db_prep_save(field.pre_save(instance, add), connection)


@cache
def _insert_parts(
    model: type[models.Model], alias: str, unless_duplicate: bool
) -> tuple[str, str, tuple[models.Field, ...]]:
    """`INSERT INTO table (columns)` and what follows the values (the conflict clause),
    with the fields whose values go in, in order."""
    connection = connections[alias]
    ops, meta = connection.ops, model._meta
    # As Model.save() chooses them: the auto primary key is left to the database.
    fields = tuple(
        field
        for field in meta.local_concrete_fields
        if not field.generated and field is not meta.auto_field
    )
    on_conflict = OnConflict.IGNORE if unless_duplicate else None
    into = " ".join(
        (
            ops.insert_statement(on_conflict=on_conflict),
            ops.quote_name(meta.db_table),
            "(" + ", ".join(ops.quote_name(field.column) for field in fields) + ")",
        )
    )
    return into, ops.on_conflict_suffix_sql(fields, on_conflict, [], []), fields


def _placeholders(fields: tuple[models.Field, ...]) -> str:
    return ", ".join(["%s"] * len(fields))


@cache
def _insert_statement(
    model: type[models.Model], alias: str, unless_duplicate: bool
) -> tuple[str, tuple[models.Field, ...]]:
    into, conflict, fields = _insert_parts(model, alias, unless_duplicate)
    returning = "RETURNING " + connections[alias].ops.quote_name(model._meta.pk.column)
    values = f"VALUES ({_placeholders(fields)})"
    return " ".join(part for part in (into, values, conflict, returning) if part), fields


def insert_row(instance: models.Model, *, unless_duplicate: bool = False) -> bool:
    """INSERT one new row, its primary key set on the instance; returns True.

    With `unless_duplicate`, a row that breaks a unique constraint is not inserted and
    False is returned: `INSERT … ON CONFLICT DO NOTHING` (SQLite: `INSERT OR IGNORE`),
    one statement where `create()` in a savepoint, to survive the IntegrityError, is
    three, and the transaction stays usable. No save signals are sent (none are used on
    the models written this way).
    """
    alias = instance._state.db or DEFAULT_DB_ALIAS
    connection = connections[alias]
    sql, fields = _insert_statement(type(instance), alias, unless_duplicate)
    params = [_prepared(field, instance, connection, add=True) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = alias
    return True


class GuardExists(Exception):
    """The guard row of `insert_unless_duplicate` was there already: nothing was written."""


def insert_unless_duplicate(instance: models.Model, *, guard: models.Model | None = None) -> bool:
    """Insert a new row unless it breaks a unique constraint; True if it was inserted.

    With `guard`, a row that must be new (a signature's one-time id): it is written
    with `instance`, or nothing is. If it exists already, nothing is written and
    GuardExists is raised; if only `instance` is a duplicate, the guard is written and
    False is returned. On PostgreSQL both are one statement (a data-modifying WITH),
    so a webhook's only write needs no transaction; elsewhere two, in one.
    """
    if guard is None:
        return insert_row(instance, unless_duplicate=True)
    alias = instance._state.db or DEFAULT_DB_ALIAS
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=alias, savepoint=False):
            fresh = insert_row(guard, unless_duplicate=True)
            inserted = fresh and insert_row(instance, unless_duplicate=True)
        # Raised outside the block: an exception inside it would doom an outer one.
        if not fresh:
            raise GuardExists(type(guard).__name__)
        return inserted
    sql, guard_fields, fields = _guarded_insert_statement(type(guard), type(instance), alias)
    params = [_prepared(field, guard, connection, add=True) for field in guard_fields]
    params += [_prepared(field, instance, connection, add=True) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fresh, pk = cursor.fetchone()
    if not fresh:
        raise GuardExists(type(guard).__name__)
    guard._state.adding, guard._state.db = False, alias
    if pk is None:
        return False
    instance.pk = pk
    instance._state.adding, instance._state.db = False, alias
    return True


@cache
def _guarded_insert_statement(
    guard_model: type[models.Model], model: type[models.Model], alias: str
) -> tuple[str, tuple[models.Field, ...], tuple[models.Field, ...]]:
    """PostgreSQL: the guard row and the row in one statement. The row's values are
    selected only if the guard was inserted; the result is (guard inserted, row's key)."""
    guard_into, guard_conflict, guard_fields = _insert_parts(guard_model, alias, True)
    into, conflict, fields = _insert_parts(model, alias, True)
    pk = connections[alias].ops.quote_name(model._meta.pk.column)
    # Only quoted names from the models' metadata go into the text; values are parameters.
    guard = f"{guard_into} VALUES ({_placeholders(guard_fields)}) {guard_conflict} RETURNING 1"
    row = f"{into} SELECT {_placeholders(fields)} WHERE EXISTS (SELECT 1 FROM guard)"  # noqa: S608
    row += f" {conflict}"
    sql = (
        f"WITH guard AS ({guard}), inserted AS ({row} RETURNING {pk}) "  # noqa: S608
        f"SELECT EXISTS (SELECT 1 FROM guard), (SELECT {pk} FROM inserted)"
    )
    return sql, guard_fields, fields


@cache
def _update_statement(
    model: type[models.Model], alias: str, names: tuple[str, ...]
) -> tuple[str, tuple[models.Field, ...]]:
    ops, meta = connections[alias].ops, model._meta
    fields = tuple(meta.get_field(name) for name in names)
    assignments = ", ".join(f"{ops.quote_name(field.column)} = %s" for field in fields)
    # Only quoted names from the model's metadata go into the text; values are parameters.
    table, pk = ops.quote_name(meta.db_table), ops.quote_name(meta.pk.column)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"  # noqa: S608
    return sql, fields


def update_fields(instance: models.Model, *names: str) -> None:
    """`instance.save(update_fields=names)` as one prepared UPDATE; auto_now fields named
    in `names` get the current time, as with save()."""
    alias = instance._state.db or DEFAULT_DB_ALIAS
    connection = connections[alias]
    sql, fields = _update_statement(type(instance), alias, names)
    params = [_prepared(field, instance, connection, add=False) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, instance.pk])


# Per connection (a thread's own), as the ORM's compilers are: the converters the ORM
# hands a row to are bound to the connection they were made for.
_row_readers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _row_reader(model: type[models.Model], connection, columns: tuple[str, ...]):
    """How a row of `columns` becomes an instance: the columns' positions in the model's
    field order, their attribute names, and the converters the ORM would apply. Made
    once per connection, model and columns."""
    readers = _row_readers.setdefault(connection, {})
    reader = readers.get((model, columns))
    if reader is None:
        reader = readers[model, columns] = _new_row_reader(model, connection, columns)
    return reader


def _new_row_reader(model: type[models.Model], connection, columns: tuple[str, ...]):
    from django.db.models.sql import Query

    index = {column: position for position, column in enumerate(columns)}
    fields = [field for field in model._meta.concrete_fields if field.column in index]
    if model._meta.pk not in fields:
        raise ValueError(f"a row of {model.__name__} needs its primary key")
    if len(fields) != len(columns):
        unknown = set(columns) - {field.column for field in fields}
        raise ValueError(f"{sorted(unknown)} are not columns of {model.__name__}")
    compiler = connection.ops.compiler("SQLCompiler")(Query(model), connection, connection.alias)
    converters = compiler.get_converters([field.get_col(model._meta.db_table) for field in fields])
    positions = [index[field.column] for field in fields]
    return positions, [field.attname for field in fields], compiler, converters


def fetch_instance(
    model: type[models.Model], sql: str, params: list, *, alias: str = DEFAULT_DB_ALIAS
) -> models.Model | None:
    """The first row of `sql` as an instance of `model`, or None: what
    `next(iter(model.objects.raw(sql, params)), None)` gives (the same field values,
    converted as the ORM converts them; columns not selected are deferred), without
    the raw queryset's per-query work. For the one-row statements every text runs."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        columns = tuple(column[0] for column in cursor.description)
    return _instances(model, connection, columns, [row])[0]


def fetch_instances(
    model: type[models.Model], sql: str, params: list, *, alias: str = DEFAULT_DB_ALIAS
) -> list[models.Model]:
    """Every row of `sql` as an instance of `model`, as `fetch_instance` makes one."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        if not rows:
            return []
        columns = tuple(column[0] for column in cursor.description)
    return _instances(model, connection, columns, rows)


def _instances(model: type[models.Model], connection, columns: tuple[str, ...], rows: list):
    positions, names, compiler, converters = _row_reader(model, connection, columns)
    values = [[row[position] for position in positions] for row in rows]
    if converters:
        values = list(compiler.apply_converters(values, converters))
    return [model.from_db(connection.alias, names, row) for row in values]
