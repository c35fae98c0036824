"""The run event log: the one source of truth about a training run.

Every run, local or OpenAI, owns `runs/<run-id>/events.jsonl`: one JSON object per line, appended by
whoever produces events (the training process, the OpenAI poller). The store indexes it and the UI
tails it, so a run watched live and a run replayed from history go through the same code.

Each line has `ts` (seconds since the epoch, float) and `type`, plus the fields of its type:

- `log`:        `level` ("debug" | "info" | "warning" | "error"), `message`
- `metric`:     `step` (int), optional `max_steps`, `epoch`, and `values`: name -> float.
                Names follow OpenAI's checkpoint metrics where they overlap: `train_loss`,
                `valid_loss`, `train_mean_token_accuracy`, `valid_mean_token_accuracy`,
                `learning_rate`, `grad_norm`, `tokens_per_second`.
- `status`:     `status` (see RunStatus; unknown strings are tolerated), optional `message`, `error`
- `checkpoint`: `step`, `path` (relative to the run directory or absolute)
- `artifact`:   `kind` ("adapter" | "merged_model" | "model_id" | "file"), and `path` or `model_id`
"""

from __future__ import annotations

import os
import time
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

EVENTS_FILE = "events.jsonl"
CONFIG_FILE = "config.json"

EVENT_TYPES = frozenset({"log", "metric", "status", "checkpoint", "artifact"})


class RunStatus(StrEnum):
    CREATED = "created"
    QUEUED = "queued"
    VALIDATING = "validating_files"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})


def is_terminal(status: str) -> bool:
    return status in TERMINAL_STATUSES


def make_event(type_: str, ts: float | None = None, **fields: Any) -> dict[str, Any]:
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}; expected one of {sorted(EVENT_TYPES)}")
    return {"ts": time.time() if ts is None else ts, "type": type_, **fields}


def encode_event(event: dict[str, Any]) -> bytes:
    """One event as one line of bytes, newline included."""
    return orjson.dumps(event, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"


class EventWriter:
    """Appends events to a run's log.

    Each event is written with a single `write` on an O_APPEND descriptor, so concurrent readers
    never see two events interleaved: at worst they see a partial last line, which they wait out.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._fsync = fsync

    def write(self, event: dict[str, Any]) -> None:
        os.write(self._fd, encode_event(event))
        if self._fsync:
            os.fsync(self._fd)

    def emit(self, type_: str, **fields: Any) -> dict[str, Any]:
        event = make_event(type_, **fields)
        self.write(event)
        return event

    def log(self, message: str, level: str = "info") -> None:
        self.emit("log", level=level, message=message)

    def status(self, status: str, **fields: Any) -> None:
        self.emit("status", status=str(status), **fields)

    def metric(self, step: int, values: dict[str, float], **fields: Any) -> None:
        self.emit("metric", step=step, values=values, **fields)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def parse_event_line(line: bytes) -> dict[str, Any] | None:
    """Parse one complete line; None for a line that is not a valid event (skipped, not fatal)."""
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(event, dict) or "type" not in event:
        return None
    return event
