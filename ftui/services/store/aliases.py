"""The aliases table: short names for model ids and adapter paths."""

from __future__ import annotations

import time

from ftui.services.store.connection import Connections
from ftui.services.store.errors import StoreError
from ftui.services.store.records import Alias


def set_alias(db: Connections, alias: str, target: str, run_id: str | None) -> Alias:
    """Point `alias` at a model id or adapter path (replacing what it pointed at)."""
    if not alias.strip():
        raise StoreError("an alias needs a name")
    now = time.time()
    with db.write() as wdb:
        wdb.conn.execute(
            """INSERT INTO aliases (alias, target, run_id, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (alias) DO UPDATE SET target = excluded.target,
               run_id = excluded.run_id, updated_at = excluded.updated_at""",
            (alias, target, run_id, now, now),
        )
    found = get_alias(db, alias)
    assert found is not None
    return found


def get_alias(db: Connections, alias: str) -> Alias | None:
    row = db.conn.execute("SELECT * FROM aliases WHERE alias = ?", (alias,)).fetchone()
    return None if row is None else Alias(**dict(row))


def list_aliases(db: Connections) -> list[Alias]:
    rows = db.conn.execute("SELECT * FROM aliases ORDER BY alias").fetchall()
    return [Alias(**dict(row)) for row in rows]


def remove_alias(db: Connections, alias: str) -> bool:
    with db.write() as wdb:
        cursor = wdb.conn.execute("DELETE FROM aliases WHERE alias = ?", (alias,))
    return cursor.rowcount > 0
