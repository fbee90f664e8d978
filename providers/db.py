"""Small database helpers for the webhook path."""

from __future__ import annotations

from django.db import models
from django.db.models.constants import OnConflict


def insert_unless_duplicate(instance: models.Model) -> bool:
    """Insert a new row unless it breaks a unique constraint; True if it was inserted.

    One `INSERT … ON CONFLICT DO NOTHING RETURNING id` (SQLite: `INSERT OR IGNORE`)
    where `create()` in its own savepoint, to survive the IntegrityError, is three
    statements, and leaves the transaction usable either way. The instance gets its
    primary key when inserted. No save signals are sent (none are used on these models).
    """
    model = type(instance)
    meta = model._meta
    # As Model.save() chooses them: the auto primary key is left to the database.
    fields = [
        field
        for field in meta.local_concrete_fields
        if not field.generated and field is not meta.auto_field
    ]
    rows = model._base_manager._insert(
        [instance],
        fields=fields,
        returning_fields=[meta.pk],
        using=instance._state.db or "default",
        on_conflict=OnConflict.IGNORE,
    )
    if not rows:
        return False
    instance.pk = rows[0][0]
    instance._state.adding = False
    instance._state.db = instance._state.db or "default"
    return True
