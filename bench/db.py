"""Benchmark databases: one template per scale, loaded once, copied fresh for each run.

Loading a million rides takes a while; the loaded database is kept as a template
(`bench_tpl_<scale>`) and reused while the loader and the migrations it was built
with are unchanged (new migrations are applied to it in place). Each run gets a fresh
copy (`bench_<scale>`), so what one run writes never leaks into the next.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Callable

import psycopg
from psycopg import sql

from .procs import PYTHON, ROOT

HOST = os.environ.get("BENCH_PGHOST", "127.0.0.1")
PORT = os.environ.get("BENCH_PGPORT", "5432")
USER = os.environ.get("BENCH_PGUSER", "postgres")
_NAME = re.compile(r"^bench_[a-z0-9_]+$")


def database_url(name: str) -> str:
    return f"postgres://{USER}@{HOST}:{PORT}/{name}"


def _check(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"benchmark databases are named bench_*, not {name!r}")
    return name


def _admin():
    conn = psycopg.connect(host=HOST, port=PORT, user=USER, dbname="postgres")
    conn.autocommit = True
    return conn


def exists(name: str) -> bool:
    with _admin() as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [_check(name)])
        return cur.fetchone() is not None


def _admin_execute(statement: sql.Composable) -> None:
    conn = _admin()
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


# Held by a process that drops or creates benchmark databases, until it exits: a second
# one would drop (FORCE closes its connections) the copies the first is measuring.
_LOCK_KEY = int.from_bytes(hashlib.blake2b(b"bench databases", digest_size=8).digest(), signed=True)
_lock_holder: psycopg.Connection | None = None


def _hold_lock() -> None:
    global _lock_holder
    if _lock_holder is not None and not _lock_holder.closed:
        return
    conn = _admin()
    with conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
        (taken,) = cur.fetchone() or (False,)
    if not taken:
        conn.close()
        raise SystemExit("another benchmark is using the bench_* databases; run one at a time")
    _lock_holder = conn


def drop(name: str) -> None:
    _check(name)  # before the lock: a wrong name is refused without a database
    _hold_lock()
    _admin_execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def create(name: str, *, template: str | None = None) -> None:
    drop(name)
    if template:
        # FILE_COPY: a plain copy of the template's files, seconds for a large one.
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
            sql.Identifier(_check(name)), sql.Identifier(_check(template))
        )
    else:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(_check(name)))
    _admin_execute(statement)


def relax_durability(name: str) -> None:
    """No fsync at each commit: for databases whose timings are not measured."""
    _admin_execute(
        sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(
            sql.Identifier(_check(name))
        )
    )


def migration_hashes() -> dict[str, str]:
    """Every migration file of the project, by path, with a hash of its content."""
    return {
        str(path.relative_to(ROOT)): hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        for path in sorted(ROOT.glob("*/migrations/0*.py"))
    }


def reusable(stored: dict | None, wanted: dict) -> str:
    """Whether a template built with `stored` serves `wanted`: "yes", "migrate" or "no".

    A template is rebuilt when what was loaded differs (the loader's version, the
    size) or when a migration it was built with has changed; migrations added since
    are applied to it in place ("migrate").
    """
    if stored is None or any(stored.get(k) != v for k, v in wanted.items()):
        return "no"
    built_with: dict[str, str] = stored.get("migrations", {})
    now = migration_hashes()
    if any(now.get(path) != digest for path, digest in built_with.items()):
        return "no"
    return "yes" if set(now) == set(built_with) else "migrate"


def _read_meta(name: str) -> dict | None:
    try:
        conn = psycopg.connect(host=HOST, port=PORT, user=USER, dbname=_check(name))
    except psycopg.OperationalError:
        return None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('bench_meta')")
            if cur.fetchone()[0] is None:
                return None
            cur.execute("SELECT value FROM bench_meta WHERE key = 'meta'")
            row = cur.fetchone()
            return json.loads(row[0]) if row else None
    finally:
        conn.close()


def _write_meta(name: str, meta: dict) -> None:
    conn = psycopg.connect(host=HOST, port=PORT, user=USER, dbname=_check(name))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text)")
            cur.execute(
                "INSERT INTO bench_meta VALUES ('meta', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                [json.dumps(meta)],
            )
            cur.execute("VACUUM ANALYZE")
    finally:
        conn.close()


def migrate(name: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url(name), "DJANGO_DEBUG": "1"}
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )


def ensure_template(template: str, *, meta: dict, load: Callable[[str], dict]) -> dict:
    """Build `template` (migrate, then `load(name)`) unless a matching one exists.

    `meta` names what is loaded, including the loader's version (bumped whenever the
    loader would load something else). Returns the stored meta, with what `load`
    returned (e.g. the open rides).
    """
    stored = _read_meta(template) if exists(template) else None
    verdict = reusable(stored, meta)
    if verdict == "yes":
        return stored
    if verdict == "migrate":
        migrate(template)
        stored = {**stored, "migrations": migration_hashes()}
        _write_meta(template, stored)
        return stored
    create(template)
    migrate(template)
    loaded = load(template)
    stored = {**meta, **loaded, "migrations": migration_hashes()}
    _write_meta(template, stored)
    return stored


def fresh_copy(template: str, name: str) -> None:
    create(name, template=template)
