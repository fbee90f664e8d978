"""The pool number a text or call came in on, kept per process for a few seconds.

Every text and call starts by finding the active pool number it was sent to. The pool
is small (tens to hundreds of numbers) and changes rarely, by staff, so each process
keeps what it found (one statement less on every text and call), the answer "not in
the pool" included, for settings.MASKED_NUMBERS_POOL_CACHE_SECONDS (the environment's
MASKED_NUMBERS_POOL_CACHE, default 5; 0 turns this off):

- a change made in this process is seen at once: every save, delete and retirement of
  a number empties the cache, and again when its transaction commits;
- a change made elsewhere (another web process, a shell) reaches this one's routing
  within those seconds, as if the text had arrived that much earlier. Routing itself
  (whose ride or conversation, the other party) is always read from the database.

Tests empty it before and after each test (tests/conftest.py): a test's rollback
changes the rows behind its back, and no signal says so.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models.base import ModelState
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import ProxyNumber

_MAX_ENTRIES = 10_000  # numbers the vendor sent us; a flood of unknown ones cannot grow it

_entries: dict[tuple[str, str], tuple[float, ProxyNumber | None]] = {}


def active_proxy(number: str) -> ProxyNumber | None:
    """The active pool number `number` (E.164), or None: a copy of its own to the caller."""
    key, now = (connection.alias, number), time.monotonic()
    entry = _entries.get(key)
    if entry is None or entry[0] <= now:
        entry = (now + settings.MASKED_NUMBERS_POOL_CACHE_SECONDS, _lookup(number))
        if entry[0] > now:
            if len(_entries) >= _MAX_ENTRIES:
                _entries.clear()
            _entries[key] = entry
    return _own_copy(entry[1])


def _own_copy(number: ProxyNumber | None) -> ProxyNumber | None:
    """A copy the caller may change: the same field values (strings, numbers, flags)
    and a model state of its own. What copy.copy makes, without pickling's detour."""
    if number is None:
        return None
    clone = ProxyNumber.__new__(ProxyNumber)
    clone.__dict__.update(number.__dict__)
    clone._state = ModelState()
    clone._state.db, clone._state.adding = number._state.db, number._state.adding
    return clone


def _lookup(number: str) -> ProxyNumber | None:
    return ProxyNumber.objects.filter(number=number, active=True).first()


def pool_cache_clear() -> None:
    """Forget every number looked up: the next text or call reads the pool again."""
    _entries.clear()


def pool_changed() -> None:
    """A number was added, changed or retired here: now, and once it is committed (a
    lookup in between, by another thread, may have read the rows before the change)."""
    pool_cache_clear()
    transaction.on_commit(pool_cache_clear)


@receiver(post_save, sender=ProxyNumber, dispatch_uid="providers.pool.saved")
@receiver(post_delete, sender=ProxyNumber, dispatch_uid="providers.pool.deleted")
def _number_saved_or_deleted(**kwargs) -> None:
    pool_changed()
