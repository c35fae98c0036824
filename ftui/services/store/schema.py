"""The store's schema, as a list of forward migrations.

`PRAGMA user_version` holds how many migrations a store file has had. Opening a store applies the
missing ones in order, inside one `BEGIN IMMEDIATE` transaction, so two processes opening a fresh
store at once migrate it once. Released migrations are never edited: a change is a new entry.

- v1: datasets, runs, per-step metrics, events (the first release).
- v2: run archival, model aliases, judge results, and a metric index by name.
- v3: remote jobs (OpenAI): the job id, its own status, trained tokens and estimated finish on
  the run, and an uploads table so the same bytes are uploaded once per account.
- v4: a cache of model completions (generations and judge verdicts) by the hash of what was asked,
  so re-judging or resuming never pays for the same call twice; judge results by example.
- v5: where imported and generated examples came from (`origins`), by the hash of their
  conversation, so the Data pane can show and filter them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

V1 = (
    """
    CREATE TABLE datasets (
        id TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER,
        format TEXT,
        examples INTEGER,
        tokens INTEGER,
        summary TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        UNIQUE (path, sha256)
    )
    """,
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        backend TEXT NOT NULL,
        status TEXT NOT NULL,
        base_model TEXT NOT NULL,
        dataset_id TEXT REFERENCES datasets (id),
        validation_dataset_id TEXT REFERENCES datasets (id),
        config TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        output_model TEXT,
        adapter_path TEXT,
        error TEXT,
        run_dir TEXT NOT NULL,
        events_offset INTEGER NOT NULL DEFAULT 0,
        final_metrics TEXT NOT NULL DEFAULT '{}',
        cost_usd REAL,
        epochs REAL,
        last_epoch REAL,
        last_step INTEGER,
        max_steps INTEGER
    )
    """,
    "CREATE INDEX runs_created ON runs (created_at)",
    """
    CREATE TABLE metrics (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        step INTEGER NOT NULL,
        value REAL,
        ts REAL,
        PRIMARY KEY (run_id, name, step)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        offset INTEGER NOT NULL,
        ts REAL,
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        UNIQUE (run_id, offset)
    )
    """,
)

V2 = (
    "ALTER TABLE runs ADD COLUMN archived_at REAL",
    "CREATE INDEX runs_status ON runs (status)",
    """
    CREATE TABLE aliases (
        alias TEXT PRIMARY KEY,
        target TEXT NOT NULL,
        run_id TEXT REFERENCES runs (id) ON DELETE SET NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )
    """,
    """
    CREATE TABLE judge_results (
        id INTEGER PRIMARY KEY,
        session TEXT NOT NULL,
        model_a TEXT NOT NULL,
        model_b TEXT NOT NULL,
        example_key TEXT,
        winner TEXT,
        scores TEXT NOT NULL DEFAULT '{}',
        details TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL
    )
    """,
    "CREATE INDEX judge_results_session ON judge_results (session)",
)

V3 = (
    "ALTER TABLE runs ADD COLUMN remote_job_id TEXT",
    "ALTER TABLE runs ADD COLUMN remote_status TEXT",
    "ALTER TABLE runs ADD COLUMN trained_tokens INTEGER",
    "ALTER TABLE runs ADD COLUMN estimated_finish REAL",
    "CREATE INDEX runs_remote_job ON runs (remote_job_id)",
    # `account` names where a file lives (base URL, organization, project), never the key.
    """
    CREATE TABLE uploads (
        sha256 TEXT NOT NULL,
        account TEXT NOT NULL,
        purpose TEXT NOT NULL,
        file_id TEXT NOT NULL,
        filename TEXT,
        bytes INTEGER,
        created_at REAL NOT NULL,
        PRIMARY KEY (sha256, account, purpose)
    )
    """,
)

V4 = (
    # `key` is the sha256 of the canonical JSON of (model spec, messages, sampling): see
    # `generations.completion_key`. `model` is the name the server answered with.
    """
    CREATE TABLE generations (
        key TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        text TEXT NOT NULL,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        created_at REAL NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE INDEX judge_results_example ON judge_results (example_key)",
)

V5 = (
    # `example_key` is `ftui.core.dataset.origin.example_key`; `dataset` is the file written.
    """
    CREATE TABLE origins (
        example_key TEXT NOT NULL,
        dataset TEXT NOT NULL,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        batch TEXT NOT NULL,
        detail TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (example_key, dataset)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX origins_batch ON origins (batch)",
)

MIGRATIONS: Sequence[Sequence[str]] = (V1, V2, V3, V4, V5)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    pass


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Migrate up to `target` (the caller holds a write transaction); returns the old version."""
    current = user_version(conn)
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"this store has schema v{current}, written by a newer ftui; this ftui knows up to "
            f"v{SCHEMA_VERSION}. Upgrade ftui, or point --home elsewhere."
        )
    for version in range(current, target):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
    if target != current:
        # PRAGMA takes no parameters; the value is an int we computed.
        conn.execute(f"PRAGMA user_version = {int(target)}")
    return current
