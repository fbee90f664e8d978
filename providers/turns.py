"""Taking turns: requests that read a count and then add to it wait for each other.

Two texts of one person arriving at once would otherwise both read a limit's count
before either is written, and both pass. Where no row stands for what is counted (a
party in a session, a sender on every number), a transaction-level advisory lock on
PostgreSQL takes its place; it is released when the transaction ends. SQLite runs one
writing transaction at a time, and needs none.
"""

from __future__ import annotations

import hashlib

from django.db import connection


def take_turns(*key: str) -> None:
    """Wait until no other transaction holds this key, then hold it until this one ends."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.blake2b("\n".join(key).encode(), digest_size=8).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, signed=True)])
