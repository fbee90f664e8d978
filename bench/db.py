"""Benchmark databases: one template per scale, loaded once, copied fresh for each run.

Loading a million rides takes a while; the loaded database is kept as a template
(`bench_tpl_<scale>`) and reused while the schema and the loader are unchanged (a
fingerprint of both is stored in it). Each run gets a fresh copy (`bench_<scale>`), so
what one run writes never leaks into the next.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg2
from psycopg2 import sql

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
    conn = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname="postgres")
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


def drop(name: str) -> None:
    _admin_execute(
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(_check(name)))
    )


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


def fingerprint(*extra: Path) -> str:
    """Hash of every migration and of the loader: a template is stale when it changes."""
    digest = hashlib.sha256()
    files = sorted(ROOT.glob("*/migrations/*.py")) + sorted(extra)
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _read_meta(name: str) -> dict | None:
    try:
        conn = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname=_check(name))
    except psycopg2.OperationalError:
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
    conn = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname=_check(name))
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


def ensure_template(
    template: str, *, meta: dict, load: Callable[[str], dict], loader_files: list[Path]
) -> dict:
    """Build `template` (migrate, then `load(name)`) unless an identical one exists.

    Returns the stored meta, including what `load` returned (e.g. the open rides).
    """
    wanted = {**meta, "fingerprint": fingerprint(*loader_files)}
    stored = _read_meta(template) if exists(template) else None
    if stored is not None and all(stored.get(k) == v for k, v in wanted.items()):
        return stored
    create(template)
    migrate(template)
    loaded = load(template)
    stored = {**wanted, **loaded}
    _write_meta(template, stored)
    return stored


def fresh_copy(template: str, name: str) -> None:
    create(name, template=template)
