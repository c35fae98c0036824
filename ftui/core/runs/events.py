"""The run event log: the one source of truth about a training run.

Every run, local or OpenAI, owns `runs/<run-id>/events.jsonl`: one JSON object per line, appended by
whoever produces events (the training process, the OpenAI poller). The store indexes it and the UI
follows it, so a run watched live and a run replayed from history go through the same code.

The kinds of event and their fields are in `kinds.py`, their one parse/serialise pair (with the
schema version) in `codec.py`, the reducer that folds them into a run's state in `state.py`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ftui.core.runs.codec import (
    SCHEMA_VERSION,
    decode_event,
    encode_event,
    event_record,
    parse_event,
    parse_event_line,
)
from ftui.core.runs.kinds import EVENT_TYPES, RunEvent, UnknownEvent
from ftui.core.runs.status import TERMINAL_STATUSES, RunStatus, is_terminal

__all__ = [
    "CONFIG_FILE",
    "EVENTS_FILE",
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "TERMINAL_STATUSES",
    "EventWriter",
    "RunStatus",
    "decode_event",
    "encode_event",
    "event_record",
    "is_terminal",
    "make_event",
    "parse_event",
    "parse_event_line",
]

EVENTS_FILE = "events.jsonl"
CONFIG_FILE = "config.json"


def make_event(type_: str, ts: float | None = None, **fields: Any) -> RunEvent:
    """A typed event of a known kind from its fields; a ValueError for an unknown kind or for
    fields that kind cannot use (a writer's mistake, unlike a reader's unknown line)."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}; expected one of {sorted(EVENT_TYPES)}")
    event = parse_event({"ts": time.time() if ts is None else ts, "type": type_, **fields})
    if isinstance(event, UnknownEvent):
        raise ValueError(f"fields {sorted(fields)} do not make a {type_!r} event")
    return event


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

    def write(self, event: RunEvent | Mapping[str, Any]) -> None:
        """Append a typed event, or a record exactly as given (old or foreign lines)."""
        os.write(self._fd, encode_event(event))
        if self._fsync:
            os.fsync(self._fd)

    def emit(self, type_: str, **fields: Any) -> RunEvent:
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
