"""The runs table: creating, finding, listing, updating, archiving and deleting runs."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftui.core.runs.events import EventWriter, RunStatus
from ftui.core.runs.kinds import StatusEvent
from ftui.services.hashing import sha256_file
from ftui.services.runs import (
    InvalidRunId,
    atomic_write_json,
    check_run_id,
    create_run_dir,
    events_path,
    new_run_id,
    remove_run_dir,
)
from ftui.services.store import ingest
from ftui.services.store.connection import Connections, dumps, loads
from ftui.services.store.datasets import register_dataset
from ftui.services.store.errors import AmbiguousRunId, RunActive, RunNotFound, StoreError
from ftui.services.store.records import DatasetRecord, Run, dataset_from_row

BACKENDS = ("openai", "local")
EPOCH_CONFIG_KEYS = ("n_epochs", "epochs", "num_train_epochs")

# Columns `update_run` may set directly. Status goes through the event log (see update_run).
UPDATABLE = frozenset(
    {
        "base_model",
        "config",
        "started_at",
        "finished_at",
        "output_model",
        "adapter_path",
        "error",
        "cost_usd",
        "epochs",
        "max_steps",
    }
)

RUN_SELECT = """
SELECT r.*,
       d.id AS d_id, d.path AS d_path, d.sha256 AS d_sha256, d.size AS d_size, d.format AS d_format,
       d.examples AS d_examples, d.tokens AS d_tokens, d.summary AS d_summary,
       d.created_at AS d_created_at,
       v.id AS v_id, v.path AS v_path, v.sha256 AS v_sha256, v.size AS v_size, v.format AS v_format,
       v.examples AS v_examples, v.tokens AS v_tokens, v.summary AS v_summary,
       v.created_at AS v_created_at
FROM runs r
LEFT JOIN datasets d ON d.id = r.dataset_id
LEFT JOIN datasets v ON v.id = r.validation_dataset_id
"""


@dataclass(frozen=True)
class RunQuery:
    """Which runs to list or count. `base_model` and `dataset` match any part (case-insensitive);
    `dataset` also matches a dataset id."""

    status: str | Collection[str] | None = None
    backend: str | None = None
    base_model: str | None = None
    dataset: str | None = None
    include_archived: bool = False

    def where(self) -> tuple[str, list[Any]]:
        """The WHERE clause (over `runs r` joined with `datasets d`) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.status:
            statuses = [self.status] if isinstance(self.status, str) else list(self.status)
            clauses.append(f"r.status IN ({', '.join('?' * len(statuses))})")
            params.extend(statuses)
        if self.backend:
            clauses.append("r.backend = ?")
            params.append(self.backend)
        if self.base_model:
            clauses.append("instr(lower(r.base_model), lower(?)) > 0")
            params.append(self.base_model)
        if self.dataset:
            # A dataset id, or any part of its path (a file name is the usual thing to type).
            clauses.append("(r.dataset_id = ? OR instr(lower(d.path), lower(?)) > 0)")
            params.extend([self.dataset, self.dataset])
        if not self.include_archived:
            clauses.append("r.archived_at IS NULL")
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def epochs_from_config(config: dict[str, Any]) -> float | None:
    for key in EPOCH_CONFIG_KEYS:
        value = config.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def create_run(
    db: Connections,
    *,
    backend: str,
    base_model: str,
    config: dict[str, Any],
    dataset_path: str | Path | None = None,
    validation_path: str | Path | None = None,
    run_id: str | None = None,
    created_at: float | None = None,
    dataset_summary: dict[str, Any] | None = None,
) -> Run:
    """Register a run: makes `runs/<id>/` with `config.json` (the config exactly as given,
    written atomically) and an `events.jsonl` holding a `created` status event; indexes it."""
    if backend not in BACKENDS:
        raise StoreError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if not base_model:
        raise StoreError("a run needs a base model")
    dataset = (
        register_dataset(db, dataset_path, summary=dataset_summary)
        if dataset_path is not None
        else None
    )
    validation = register_dataset(db, validation_path) if validation_path is not None else None
    created = time.time() if created_at is None else created_at
    if run_id is None:
        run_id = _unused_run_id(db)
    else:
        try:
            check_run_id(run_id)
        except InvalidRunId as error:
            raise StoreError(str(error)) from None
        if _exists(db, run_id):
            raise StoreError(f"a run with id {run_id!r} already exists")
    try:
        directory = create_run_dir(db.runs_dir, run_id, config)
    except FileExistsError:
        raise StoreError(
            f"run directory {db.runs_dir / run_id} already exists; pick another id"
        ) from None
    try:
        with EventWriter(events_path(directory)) as writer:
            writer.write(StatusEvent(ts=created, status=RunStatus.CREATED.value))
        with db.write() as wdb:
            wdb.table("runs").insert(
                {
                    "id": run_id,
                    "backend": backend,
                    "status": RunStatus.CREATED.value,
                    "base_model": base_model,
                    "dataset_id": dataset.id if dataset else None,
                    "validation_dataset_id": validation.id if validation else None,
                    "config": dumps(config),
                    "created_at": created,
                    "run_dir": run_id,  # relative to runs_dir, so a moved home still works
                    "events_offset": 0,
                    "final_metrics": "{}",
                    "epochs": epochs_from_config(config),
                }
            )
            ingest.ingest_chunk(db, run_id)
    except BaseException:
        # No orphans: a run either exists in both places or in neither.
        remove_run_dir(directory)
        raise
    return get_run(db, run_id)


def _unused_run_id(db: Connections) -> str:
    while True:
        candidate = new_run_id()
        if not _exists(db, candidate) and not (db.runs_dir / candidate).exists():
            return candidate


def _exists(db: Connections, run_id: str) -> bool:
    return db.conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None


def resolve_run_id(db: Connections, run_id_or_prefix: str) -> str:
    """The full id of the run named by an id or a unique prefix of one."""
    conn = db.conn
    if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id_or_prefix,)).fetchone():
        return run_id_or_prefix
    if not run_id_or_prefix:
        raise RunNotFound(run_id_or_prefix)
    rows = conn.execute(
        "SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY created_at DESC LIMIT 20",
        (len(run_id_or_prefix), run_id_or_prefix),
    ).fetchall()
    if not rows:
        raise RunNotFound(run_id_or_prefix)
    if len(rows) > 1:
        raise AmbiguousRunId(run_id_or_prefix, [row["id"] for row in rows])
    return str(rows[0]["id"])


def get_run(db: Connections, run_id: str) -> Run:
    """A run by id or unique id prefix; raises RunNotFound / AmbiguousRunId."""
    full_id = resolve_run_id(db, run_id)
    row = db.conn.execute(RUN_SELECT + " WHERE r.id = ?", (full_id,)).fetchone()
    if row is None:
        raise RunNotFound(run_id)
    return run_from_row(db, row)


def run_from_row(
    db: Connections, row: Mapping[str, Any], datasets: dict[str, DatasetRecord | None] | None = None
) -> Run:
    """A Run from a `RUN_SELECT` row; `datasets` caches records shared by many runs."""
    cache: dict[str, DatasetRecord | None] = {} if datasets is None else datasets

    def dataset(prefix: str) -> DatasetRecord | None:
        dataset_id = row[f"{prefix}id"]
        if dataset_id is None:
            return None
        if dataset_id not in cache:
            cache[dataset_id] = dataset_from_row(row, prefix)
        return cache[dataset_id]

    return Run(
        id=row["id"],
        backend=row["backend"],
        status=row["status"],
        base_model=row["base_model"],
        dataset_id=row["dataset_id"],
        validation_dataset_id=row["validation_dataset_id"],
        config=loads(row["config"]),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        output_model=row["output_model"],
        adapter_path=row["adapter_path"],
        error=row["error"],
        run_dir=db.run_dir(row["run_dir"]),
        archived=row["archived_at"] is not None,
        dataset=dataset("d_"),
        validation_dataset=dataset("v_"),
        final_metrics=loads(row["final_metrics"]),
        cost_usd=row["cost_usd"],
        epochs=row["epochs"],
        last_epoch=row["last_epoch"],
        last_step=row["last_step"],
        max_steps=row["max_steps"],
        events_offset=row["events_offset"],
        remote_job_id=row["remote_job_id"],
        remote_status=row["remote_status"],
        trained_tokens=row["trained_tokens"],
        estimated_finish=row["estimated_finish"],
    )


def list_runs(
    db: Connections, query: RunQuery, *, limit: int | None = None, offset: int = 0
) -> list[Run]:
    """Runs newest first."""
    where, params = query.where()
    sql = RUN_SELECT + where + " ORDER BY r.created_at DESC, r.id DESC"
    if limit is not None or offset:
        sql += " LIMIT ? OFFSET ?"
        params.extend([-1 if limit is None else limit, offset])
    cursor = db.conn.execute(sql, params)
    # sqlite3.Row looks names up column by column: plain dicts make 10,000 runs 2x faster.
    names = [column[0] for column in cursor.description]
    datasets: dict[str, DatasetRecord | None] = {}
    return [run_from_row(db, dict(zip(names, row, strict=True)), datasets) for row in cursor]


def count_runs(db: Connections, query: RunQuery) -> int:
    where, params = query.where()
    sql = "SELECT count(*) FROM runs r LEFT JOIN datasets d ON d.id = r.dataset_id" + where
    return int(db.conn.execute(sql, params).fetchone()[0])


def distinct_values(db: Connections, column: str) -> list[str]:
    """Values present in the history, for filter choices: status, backend or base_model."""
    if column not in ("status", "backend", "base_model"):
        raise ValueError(f"no filter choices for {column!r}")
    rows = db.conn.execute(f"SELECT DISTINCT {column} FROM runs ORDER BY {column}").fetchall()
    return [row[0] for row in rows]


def update_run(db: Connections, run_id: str, **fields: Any) -> Run:
    """Set run fields. `status` (with optional `message`/`error`) is appended to the event log
    as a status event and indexed from there, so the log stays the source of truth; `config`
    also rewrites `config.json`."""
    full_id = resolve_run_id(db, run_id)
    status = fields.pop("status", None)
    message = fields.pop("message", None)
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise TypeError(
            f"update_run() cannot set {', '.join(sorted(unknown))}; "
            f"settable: status, message, {', '.join(sorted(UPDATABLE))}"
        )
    run = get_run(db, full_id)
    if "config" in fields:
        atomic_write_json(run.config_path, fields["config"])
        fields["config"] = dumps(fields["config"])
    if status is not None:
        error = fields.get("error")
        event = StatusEvent(
            ts=time.time(),
            status=str(status),
            message=None if message is None else str(message),
            error=None if error is None else str(error),
        )
        ingest.append_event(db, full_id, event)
    if fields:
        with db.write() as wdb:
            wdb.table("runs").update(full_id, fields)
    return get_run(db, full_id)


def archive_run(db: Connections, run_id: str, archived: bool = True) -> Run:
    full_id = resolve_run_id(db, run_id)
    with db.write() as wdb:
        wdb.conn.execute(
            "UPDATE runs SET archived_at = ? WHERE id = ?",
            (time.time() if archived else None, full_id),
        )
    return get_run(db, full_id)


def delete_run(
    db: Connections, run_id: str, *, remove_files: bool = True, force: bool = False
) -> None:
    """Forget a run (its metrics and events too) and, by default, delete its directory.
    A run still running is refused unless `force`: its process would keep writing."""
    run = get_run(db, run_id)
    if run.status == RunStatus.RUNNING and not force:
        raise RunActive(f"run {run.id} is still running; cancel it first (or force the deletion)")
    with db.write() as wdb:
        wdb.conn.execute("DELETE FROM runs WHERE id = ?", (run.id,))
    if remove_files and run.run_dir.resolve().is_relative_to(db.runs_dir.resolve()):
        remove_run_dir(run.run_dir)


def dataset_state(db: Connections, run_id: str) -> str:
    """'none' (no dataset), 'unchanged', 'changed' (not what it trained on) or 'missing'."""
    run = get_run(db, run_id)
    if run.dataset is None:
        return "none"
    if not run.dataset.path.is_file():
        return "missing"
    return "unchanged" if sha256_file(run.dataset.path) == run.dataset.sha256 else "changed"
