"""The generations table: every model answer ftui paid for, by the hash of what was asked.

A completion is keyed by `completion_key(spec, messages, sampling)`: the sha256 of the canonical
JSON (sorted keys, no spaces) of the model spec's text, the messages and the sampling settings.
The same question to the same model with the same settings is answered from here, so re-judging,
resuming a job that was killed, or changing only the judge never pays twice. Judge verdicts are
cached the same way (the judge's messages are the key). A row is written as soon as its call
returns, in its own transaction, so a kill loses at most the calls still in flight.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ftui.services.store.connection import Connections
from ftui.services.store.records import CachedCompletion

KEY_VERSION = 1  # part of every key: a change to what a key covers starts a fresh cache


def completion_key(
    spec: str, messages: Sequence[Mapping[str, str]], sampling: Mapping[str, Any]
) -> str:
    """The hex sha256 that names one call: model spec text + messages + sampling settings."""
    payload = {
        "v": KEY_VERSION,
        "model": spec,
        "messages": [dict(message) for message in messages],
        "sampling": dict(sampling),
    }
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _cached(row: Any) -> CachedCompletion:
    return CachedCompletion(
        key=row["key"],
        model=row["model"],
        text=row["text"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        created_at=row["created_at"],
    )


def cached_completion(db: Connections, key: str) -> CachedCompletion | None:
    row = db.conn.execute("SELECT * FROM generations WHERE key = ?", (key,)).fetchone()
    return None if row is None else _cached(row)


def cache_completion(
    db: Connections,
    key: str,
    model: str,
    text: str,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
) -> CachedCompletion:
    """Remember an answer (a later answer to the same key replaces it)."""
    now = time.time()
    with db.write() as wdb:
        wdb.conn.execute(
            """INSERT OR REPLACE INTO generations
               (key, model, text, prompt_tokens, completion_tokens, created_at)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (key, model, text, prompt_tokens, completion_tokens, now),
        )
    return CachedCompletion(key, model, text, prompt_tokens, completion_tokens, now)


def count_completions(db: Connections) -> int:
    return int(db.conn.execute("SELECT count(*) FROM generations").fetchone()[0])
