"""The datasets table: files remembered by path and sha256 of their bytes, never copied (a dataset
can be gigabytes). A run keeps the hash it trained on, so a changed file is noticed."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from ftui.services.hashing import sha256_bytes, sha256_file
from ftui.services.store.connection import Connections, dumps
from ftui.services.store.errors import DatasetNotFound
from ftui.services.store.records import DatasetRecord, dataset_from_row


def register_dataset(
    db: Connections,
    path: str | Path,
    *,
    summary: dict[str, Any] | None = None,
    analyze: bool = True,
) -> DatasetRecord:
    """Remember a dataset file by path and content hash; the same bytes at the same path reuse
    the existing record. Format, example count, tokens and a validation summary come from
    `summary` if given, else from reading the file (see `describe_dataset`)."""
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise DatasetNotFound(f"dataset {resolved} does not exist or is not a file")
    digest = sha256_file(resolved)
    size = resolved.stat().st_size
    existing = db.conn.execute(
        "SELECT * FROM datasets WHERE path = ? AND sha256 = ?", (str(resolved), digest)
    ).fetchone()
    if existing is not None and summary is None:
        record = dataset_from_row(existing)
        assert record is not None
        return record
    info = dict(summary) if summary is not None else {}
    if analyze and summary is None:
        info = describe_dataset(resolved)
    dataset_id = sha256_bytes(f"{resolved}\0{digest}".encode())[:16]
    row = {
        "id": dataset_id,
        "path": str(resolved),
        "sha256": digest,
        "size": size,
        "format": info.get("format"),
        "examples": info.get("examples"),
        "tokens": info.get("tokens"),
        "summary": dumps(info),
        "created_at": existing["created_at"] if existing is not None else time.time(),
    }
    with db.write() as wdb:
        wdb.table("datasets").upsert(row, pk="id")
    found = get_dataset(db, dataset_id)
    assert found is not None
    return found


def get_dataset(db: Connections, dataset_id: str) -> DatasetRecord | None:
    row = db.conn.execute("SELECT * FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
    return None if row is None else dataset_from_row(row)


def list_datasets(db: Connections) -> list[DatasetRecord]:
    rows = db.conn.execute("SELECT * FROM datasets ORDER BY created_at DESC").fetchall()
    return [record for row in rows if (record := dataset_from_row(row)) is not None]


def describe_dataset(path: Path) -> dict[str, Any]:
    """Format, example count, token total and validation summary of a dataset file.

    Uses the core's validation; if it fails on this file, falls back to a cheaper look with the
    same core reader (the format sniffed from the first records, the records counted as a stream,
    in constant memory). Never raises: a dataset the store cannot describe is still recorded.
    """
    info: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        info = _describe_with_core(path)
    if info.get("examples") is None:
        with contextlib.suppress(Exception):
            for key, value in _describe_cheaply(path).items():
                info.setdefault(key, value)
    return info


def _describe_with_core(path: Path) -> dict[str, Any]:
    """The core's validation report, reduced to what the history keeps (no per-line findings)."""
    from ftui.core.validation.validate import validate_file

    report = validate_file(path)
    info: dict[str, Any] = {"format": str(report.format), "examples": report.examples}
    tokens = getattr(report, "tokens", None)
    if tokens is not None:
        info["tokens"] = tokens.total
        info["encoding"] = tokens.encoding
    info["validation"] = {
        "errors": report.errors,
        "warnings": report.warnings,
        "infos": report.infos,
        "counts": {code: count.count for code, count in report.code_counts.items()},
    }
    return info


def _describe_cheaply(path: Path) -> dict[str, Any]:
    from ftui.core.dataset.formats import detect_format
    from ftui.core.dataset.reader import DatasetError, iter_spans

    examples = 0
    for _layout, spans in iter_spans(path, keep_data=False):
        examples = sum(1 for _ in spans)
    info: dict[str, Any] = {"examples": examples}
    with contextlib.suppress(DatasetError):
        info["format"] = str(detect_format(path))
    return info
