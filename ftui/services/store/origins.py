"""The origins table: where each imported or generated example came from, by `example_key`.

One example may have several origins (the same answer distilled twice, or imported into two
files); a lookup returns the one recorded for the dataset asked about, else the latest. Rows are
written in batches, one transaction each, as a job writes its output, so what is on disk and
what is here agree after a kill.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import orjson

from ftui.core.dataset.origin import ORIGIN_KINDS, Origin, OriginKind
from ftui.services.store.connection import Connections

# SQLite's limit on host parameters is 32,766; stay well under it per lookup.
_LOOKUP_CHUNK = 900


def record_origins(
    db: Connections, dataset: Path | str, items: Iterable[tuple[str, Origin]]
) -> int:
    rows = [
        (
            key,
            _path(dataset),
            origin.kind,
            origin.source,
            origin.batch,
            orjson.dumps(dict(origin.detail)).decode(),
            origin.created_at,
        )
        for key, origin in items
    ]
    if not rows:
        return 0
    with db.write() as wdb:
        wdb.conn.executemany(
            """INSERT OR REPLACE INTO origins
               (example_key, dataset, kind, source, batch, detail, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            rows,
        )
    return len(rows)


def _origin(row: Any) -> Origin:
    kind: OriginKind = next((known for known in ORIGIN_KINDS if known == row["kind"]), "import")
    return Origin(
        kind=kind,
        source=row["source"],
        created_at=row["created_at"],
        batch=row["batch"],
        detail=orjson.loads(row["detail"]),
    )


def origins_by_key(
    db: Connections, keys: Collection[str], dataset: Path | str | None = None
) -> dict[str, Origin]:
    """The origin of each of `keys` that has one: the latest recorded for `dataset` (any
    spelling of its path), else the latest recorded anywhere."""
    wanted = None if dataset is None else _path(dataset)
    found: dict[str, tuple[tuple[bool, float], Origin]] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), _LOOKUP_CHUNK):
        chunk = unique[start : start + _LOOKUP_CHUNK]
        marks = ",".join("?" * len(chunk))
        # Only the "?" marks are formatted into the statement; the keys are parameters.
        for row in db.conn.execute(
            f"SELECT * FROM origins WHERE example_key IN ({marks})",
            chunk,
        ):
            origin = _origin(row)
            rank = (row["dataset"] == wanted, origin.created_at)
            seen = found.get(row["example_key"])
            if seen is None or rank >= seen[0]:
                found[row["example_key"]] = (rank, origin)
    return {key: origin for key, (_, origin) in found.items()}


def count_origins(db: Connections, dataset: Path | str | None = None) -> int:
    if dataset is None:
        return int(db.conn.execute("SELECT count(*) FROM origins").fetchone()[0])
    query = "SELECT count(*) FROM origins WHERE dataset = ?"
    return int(db.conn.execute(query, (_path(dataset),)).fetchone()[0])


def _path(dataset: Path | str) -> str:
    """A dataset as the table names it: its absolute path, however the caller wrote it."""
    return str(Path(dataset).expanduser().resolve())
