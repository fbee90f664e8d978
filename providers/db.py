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
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

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


@dataclass(frozen=True)
class Then:
    """A new row `insert_unless_duplicate` writes only if the row `after` was inserted,
    with that row's primary key in `field` (a foreign key), or, with `path`, at that
    path of the JSON document in `field`. `after` counts 0 for the row itself, then
    the rows of `then` in order (it must name an earlier one)."""

    row: models.Model
    field: str
    after: int = 0
    path: tuple[str, ...] = ()


def insert_unless_duplicate(
    instance: models.Model, *, guard: models.Model | None = None, then: Sequence[Then] = ()
) -> bool:
    """Insert a new row unless it breaks a unique constraint; True if it was inserted.

    With `guard`, a row that must be new (a signature's one-time id): it is written
    with `instance`, or nothing is. If it exists already, nothing is written and
    GuardExists is raised; if only `instance` is a duplicate, the guard is written and
    False is returned. `then`: rows written only if `instance` was (see Then), each
    given the key of the row it follows. On PostgreSQL all of it is one statement (a
    data-modifying WITH), so a webhook's only write needs no transaction; elsewhere
    one statement per row, in one transaction.
    """
    alias = instance._state.db or DEFAULT_DB_ALIAS
    connection = connections[alias]
    for number, follower in enumerate(then, start=1):
        if not 0 <= follower.after < number:
            raise ValueError(f"row {number} of then follows row {follower.after}, not one before")
        if follower.path and getattr(follower.row, follower.field) is None:
            raise ValueError(f"row {number} of then has no JSON document in {follower.field}")
    if guard is None and not then:
        return insert_row(instance, unless_duplicate=True)
    if connection.vendor != "postgresql":
        with transaction.atomic(using=alias, savepoint=False):
            fresh = guard is None or insert_row(guard, unless_duplicate=True)
            inserted = fresh and insert_row(instance, unless_duplicate=True)
            if inserted:
                rows = [instance]
                for follower in then:
                    _follow(follower, rows[follower.after].pk)
                    insert_row(follower.row)
                    rows.append(follower.row)
        # Raised outside the block: an exception inside it would doom an outer one.
        if not fresh:
            raise GuardExists(type(guard).__name__)
        return inserted
    shape = tuple((type(f.row), f.field, f.after, f.path) for f in then)
    values = _chain_values(guard, instance, then, connection)
    # NULLs go into the text, not as parameters (see _chained_insert_statement).
    nulls = tuple(tuple(value is None for value in row) for row in values)
    sql = _chained_insert_statement(
        type(guard) if guard is not None else None, type(instance), shape, alias, nulls
    )
    params = [value for row in values for value in row if value is not None]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fresh, *keys = cursor.fetchone()
    if not fresh:
        raise GuardExists(type(guard).__name__)
    if guard is not None:
        guard._state.adding, guard._state.db = False, alias
    if keys[0] is None:
        return False
    rows = [instance, *(follower.row for follower in then)]
    for row, key in zip(rows, keys, strict=True):
        row.pk = key
        row._state.adding, row._state.db = False, alias
    for follower in then:
        _follow(follower, rows[follower.after].pk)
    return True


def _follow(follower: Then, key) -> None:
    """Put `key` where `follower` says, as the statement does (a path's steps are keys of
    objects or positions in arrays, as in PostgreSQL's jsonb_set)."""
    field = follower.row._meta.get_field(follower.field)
    if not follower.path:
        setattr(follower.row, field.attname, key)
        return
    document = getattr(follower.row, field.attname)
    *steps, last = (int(step) if step.isdigit() else step for step in follower.path)
    for step in steps:
        document = document[step]
    document[last] = key


def _chain_values(guard, instance, then: Sequence[Then], connection) -> list[tuple]:
    """Each row's values, in its insert's field order, as the ORM would send them; the
    key a follower takes from the statement is left out (None)."""
    alias = connection.alias
    rows = [(guard, True), (instance, True), *((f.row, False) for f in then)]
    values = []
    for number, (row, unless_duplicate) in enumerate(rows):
        if row is None:
            values.append(())
            continue
        fields = _insert_parts(type(row), alias, unless_duplicate)[2]
        key = None
        if number >= 2 and not then[number - 2].path:
            key = row._meta.get_field(then[number - 2].field)
        values.append(
            tuple(
                None if field is key else _prepared(field, row, connection, add=True)
                for field in fields
            )
        )
    return values


@lru_cache(maxsize=256)
def _chained_insert_statement(
    guard_model: type[models.Model] | None,
    model: type[models.Model],
    then: tuple[tuple[type[models.Model], str, int, tuple[str, ...]], ...],
    alias: str,
    nulls: tuple[tuple[bool, ...], ...],
) -> str:
    """PostgreSQL: the guard row, the row and the rows that follow it in one statement.
    The row is selected only if the guard was inserted, each follower only if the row
    it follows was; the result is (guard inserted, the row's key, the followers' keys).

    `nulls` marks, row by row, the values that are None: those are written as NULL in
    the text rather than sent. It keeps a text's parameters within what psycopg keeps
    its parsing of (50: a text, its relay and their task, with the signature id, are
    52 values, about a tenth of them NULL), and the patterns of a kind of row are few.
    """
    quote = connections[alias].ops.quote_name

    def select_list(fields, row_nulls, key_field=None, key_sql=""):
        items = []
        for field, null in zip(fields, row_nulls, strict=True):
            if field is key_field:
                items.append(key_sql)
            else:
                items.append("NULL" if null else "%s")
        return ", ".join(items)

    parts = []
    if guard_model is None:
        exists = "TRUE"
        where = ""
    else:
        guard_into, guard_conflict, guard_fields = _insert_parts(guard_model, alias, True)
        values = select_list(guard_fields, nulls[0])
        parts.append(f"guard AS ({guard_into} SELECT {values} {guard_conflict} RETURNING 1)")
        exists = "EXISTS (SELECT 1 FROM guard)"
        where = " WHERE EXISTS (SELECT 1 FROM guard)"
    into, conflict, fields = _insert_parts(model, alias, True)
    pk = quote(model._meta.pk.column)
    # Only quoted names from the models' metadata and constants go into the text;
    # values are parameters.
    values = select_list(fields, nulls[1])
    parts.append(f"row0 AS ({into} SELECT {values}{where} {conflict} RETURNING {pk})")  # noqa: S608
    models_in_order = [model]
    for number, (row_model, field_name, after, path) in enumerate(then, start=1):
        row_into, _, row_fields = _insert_parts(row_model, alias, False)
        after_pk = f"row{after}.{quote(models_in_order[after]._meta.pk.column)}"
        if path:
            json_path = "{" + ",".join(path) + "}"
            key_sql = f"jsonb_set(%s::jsonb, '{json_path}', to_jsonb({after_pk}))"
        else:
            key_sql = after_pk
        key_field = row_model._meta.get_field(field_name)
        values = select_list(row_fields, nulls[number + 1], key_field, key_sql)
        row_pk = quote(row_model._meta.pk.column)
        parts.append(
            f"row{number} AS ({row_into} SELECT {values} "  # noqa: S608
            f"FROM row{after} RETURNING {row_pk})"
        )
        models_in_order.append(row_model)
    keys = ", ".join(
        f"(SELECT {quote(m._meta.pk.column)} FROM row{n})"  # noqa: S608
        for n, m in enumerate(models_in_order)
    )
    return f"WITH {', '.join(parts)} SELECT {exists}, {keys}"  # noqa: S608


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
