"""Indexing a run's event log into the store, folded by the one reducer (`RunState.apply`).

The log (`runs/<id>/events.jsonl`) is the source of truth; the store indexes it from a byte offset
kept in the same transaction as the rows it produced, so an ingest killed half way is simply
redone from the last committed offset. A log that was rewritten (shorter than the stored offset)
is indexed again from the start.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ftui.core.runs.events import TERMINAL_STATUSES, EventWriter, parse_event
from ftui.core.runs.kinds import AlertEvent, MetricEvent, RunEvent
from ftui.core.runs.state import RunState
from ftui.services.eventlog import read_chunk
from ftui.services.runs import events_path
from ftui.services.store.connection import Connections, dumps, loads
from ftui.services.store.errors import RunNotFound

# How much of an event log one ingest transaction takes in: keeps write locks short.
INGEST_CHUNK_BYTES = 4 << 20


def state_from_row(row: sqlite3.Row) -> RunState:
    """The part of a run's folded state that the runs table keeps."""
    return RunState(
        status=row["status"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        error=row["error"],
        output_model=row["output_model"],
        adapter_path=row["adapter_path"],
        last_metrics=loads(row["final_metrics"]),
        step=row["last_step"],
        epoch=row["last_epoch"],
        max_steps=row["max_steps"],
        remote_job_id=row["remote_job_id"],
        remote_status=row["remote_status"],
        trained_tokens=row["trained_tokens"],
        estimated_finish=row["estimated_finish"],
    )


def _run_row(conn: sqlite3.Connection, run_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise RunNotFound(run_id)
    return row


def stored_state(db: Connections, run_id: str) -> tuple[RunState, int]:
    """The run's state as indexed so far (with the alerts its log raised), and the log offset it
    stands at."""
    row = _run_row(db.conn, run_id)
    alerts = tuple(
        event
        for (data,) in db.conn.execute(
            "SELECT data FROM events WHERE run_id = ? AND type = 'alert' ORDER BY offset",
            (run_id,),
        )
        if isinstance(event := parse_event(loads(data)), AlertEvent)
    )
    return replace(state_from_row(row), alerts=alerts), int(row["events_offset"])


def ingest_events(db: Connections, run_id: str) -> int:
    """Index the lines appended to the run's log since the last ingest; returns how many events
    were indexed. Safe to call from several processes at once: each chunk is read and indexed
    inside the write transaction that advances the offset."""
    total = 0
    while True:
        with db.write():
            indexed, more = ingest_chunk(db, run_id)
        total += indexed
        if not more:
            return total


def ingest_all(db: Connections, *, only_active: bool = True) -> int:
    """Ingest every run's log (by default only runs not yet in a terminal status)."""
    sql = "SELECT id FROM runs"
    if only_active:
        terminal = ", ".join(f"'{status.value}'" for status in sorted(TERMINAL_STATUSES))
        sql += f" WHERE status NOT IN ({terminal})"
    ids = [row[0] for row in db.conn.execute(sql).fetchall()]
    return sum(ingest_events(db, run_id) for run_id in ids)


def append_event(db: Connections, run_id: str, event: RunEvent | Mapping[str, Any]) -> int:
    """Append one event to the run's log and index it; returns the number of events indexed."""
    row = _run_row(db.conn, run_id)
    with EventWriter(events_path(db.run_dir(row["run_dir"]))) as writer:
        writer.write(event)
    return ingest_events(db, run_id)


def ingest_chunk(db: Connections, run_id: str) -> tuple[int, bool]:
    """Index one chunk of the log inside the caller's transaction. Returns (events, more?)."""
    conn = db.conn
    row = _run_row(conn, run_id)
    directory = db.run_dir(row["run_dir"])
    path = events_path(directory)
    state = state_from_row(row)
    chunk = read_chunk(path, row["events_offset"], max_bytes=INGEST_CHUNK_BYTES)
    if chunk.truncated:
        # The log was rewritten: forget what it said and index it again from the start.
        conn.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
        conn.execute("DELETE FROM events WHERE run_id = ?", (run_id,))
        conn.execute(
            "UPDATE runs SET events_offset = 0, final_metrics = '{}', last_step = NULL, "
            "last_epoch = NULL WHERE id = ?",
            (run_id,),
        )
        state = replace(state, last_metrics={}, step=None, epoch=None)
        chunk = read_chunk(path, 0, max_bytes=INGEST_CHUNK_BYTES)
    if chunk.end == chunk.start:
        return 0, False
    metric_rows: list[tuple[str, str, int, float, float | None]] = []
    event_rows: list[tuple[str, int, float | None, str, str]] = []
    events: list[RunEvent] = []
    for record, offset in zip(chunk.events, chunk.offsets, strict=True):
        event = parse_event(record)
        events.append(event)
        if isinstance(event, MetricEvent):
            # Metrics are indexed per value (see metrics()), not as events.
            step, ts = event.step, event.ts
            for name, value in event.values.items():
                metric_rows.append((run_id, name, step, value, ts))
        elif record.get("type") != "metric":  # a metric line with no usable step is dropped
            # The line exactly as written, unknown fields and kinds included.
            event_rows.append((run_id, offset, event.ts, str(record.get("type")), dumps(record)))
    state = state.apply_all(events)
    if metric_rows:
        conn.executemany(
            "INSERT OR REPLACE INTO metrics (run_id, name, step, value, ts) VALUES (?, ?, ?, ?, ?)",
            metric_rows,
        )
    if event_rows:
        conn.executemany(
            "INSERT OR IGNORE INTO events (run_id, offset, ts, type, data) VALUES (?, ?, ?, ?, ?)",
            event_rows,
        )
    # Paths in the log are relative to the run directory (an absolute one stays as it is).
    adapter_path = str(directory / state.adapter_path) if state.adapter_path else None
    conn.execute(
        """UPDATE runs SET events_offset = ?, status = ?, started_at = ?, finished_at = ?,
           error = ?, output_model = ?, adapter_path = ?, final_metrics = ?, last_step = ?,
           last_epoch = ?, max_steps = ?, remote_job_id = ?, remote_status = ?,
           trained_tokens = ?, estimated_finish = ? WHERE id = ?""",
        (
            chunk.end,
            state.status,
            state.started_at,
            state.finished_at,
            state.error,
            state.output_model,
            adapter_path,
            dumps(state.last_metrics),
            state.step,
            state.epoch,
            state.max_steps,
            state.remote_job_id,
            state.remote_status,
            state.trained_tokens,
            state.estimated_finish,
            run_id,
        ),
    )
    return len(chunk.events), not chunk.at_end
