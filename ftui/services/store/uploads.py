"""The uploads table: files sent to a provider, by the sha256 of their bytes, so the same data is
uploaded once per account and reused by later runs. The key is never part of an account's name."""

from __future__ import annotations

import time
from typing import Any

from ftui.services.store.connection import Connections
from ftui.services.store.records import Upload


def _upload(row: Any) -> Upload:
    return Upload(
        sha256=row["sha256"],
        account=row["account"],
        purpose=row["purpose"],
        file_id=row["file_id"],
        filename=row["filename"],
        bytes=row["bytes"],
        created_at=row["created_at"],
    )


def find_upload(db: Connections, sha256: str, account: str, purpose: str) -> Upload | None:
    row = db.conn.execute(
        "SELECT * FROM uploads WHERE sha256 = ? AND account = ? AND purpose = ?",
        (sha256, account, purpose),
    ).fetchone()
    return None if row is None else _upload(row)


def record_upload(
    db: Connections,
    *,
    sha256: str,
    account: str,
    purpose: str,
    file_id: str,
    filename: str | None = None,
    size: int | None = None,
) -> Upload:
    with db.write() as wdb:
        wdb.conn.execute(
            """INSERT OR REPLACE INTO uploads
               (sha256, account, purpose, file_id, filename, bytes, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (sha256, account, purpose, file_id, filename, size, time.time()),
        )
    found = find_upload(db, sha256, account, purpose)
    assert found is not None
    return found


def forget_upload(db: Connections, sha256: str, account: str, purpose: str) -> None:
    """Drop a remembered upload (the provider no longer has the file)."""
    with db.write() as wdb:
        wdb.conn.execute(
            "DELETE FROM uploads WHERE sha256 = ? AND account = ? AND purpose = ?",
            (sha256, account, purpose),
        )


def run_for_remote_job(db: Connections, job_id: str) -> str | None:
    """The id of the run that follows remote job `job_id`, if the history has one."""
    row = db.conn.execute(
        "SELECT id FROM runs WHERE remote_job_id = ? ORDER BY created_at LIMIT 1", (job_id,)
    ).fetchone()
    return None if row is None else str(row["id"])
