"""The one parse/serialise pair of run events, and the schema version they carry.

A line on disk is a JSON object with `type`, `ts` and, since schema v1, `"v": 1`. Lines without
`v` were written before it existed and mean exactly the same. Parsing never raises: a line that is
not a JSON object with a `type` is skipped (`parse_event_line` returns None) and anything else
becomes a typed event, an `UnknownEvent` when this ftui cannot use it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from ftui.core.runs.kinds import (
    NO_EXTRA,
    AlertEvent,
    ArtifactEvent,
    CheckpointEvent,
    LogEvent,
    MetricEvent,
    RemoteJobEvent,
    RunEvent,
    StatusEvent,
    UnknownEvent,
)

SCHEMA_VERSION = 1


class _Unusable(Exception):
    """A field this kind needs is missing or of the wrong type: the line is kept as unknown."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _required_int(record: Mapping[str, Any], key: str) -> int:
    value = _int(record.get(key))
    if value is None:
        raise _Unusable(key)
    return value


def _required_text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise _Unusable(key)
    return value


def _status(record: Mapping[str, Any], ts: float | None) -> RunEvent:
    return StatusEvent(
        ts=ts,
        status=_required_text(record, "status"),
        message=_text(record.get("message")),
        error=_text(record.get("error")),
    )


def _log(record: Mapping[str, Any], ts: float | None) -> RunEvent:
    level = record.get("level")
    return LogEvent(
        ts=ts,
        message=_text(record.get("message")) or "",
        level=level if isinstance(level, str) and level else "info",
    )


def _metric(record: Mapping[str, Any], ts: float | None) -> RunEvent:
    # Plain types are tested first, inline: an ingest parses millions of these.
    values = record.get("values")
    if type(values) is not dict and not isinstance(values, Mapping):
        raise _Unusable("values")
    step = record.get("step")
    if type(step) is not int:  # bool is not a step
        raise _Unusable("step")
    numbers: dict[str, float] = {}
    for name, raw in values.items():
        if type(raw) is float:
            numbers[str(name)] = raw
        elif raw is None:
            # JSON has no NaN: a NaN loss is written as null, and read back as what it was.
            numbers[str(name)] = math.nan
        elif (number := _number(raw)) is not None:
            numbers[str(name)] = number
    max_steps = record.get("max_steps")
    epoch = record.get("epoch")
    return new_metric_event(
        ts,
        step,
        numbers,
        max_steps if type(max_steps) is int else None,
        epoch if type(epoch) is float else _number(epoch),
    )


def new_metric_event(
    ts: float | None,
    step: int,
    values: dict[str, float],
    max_steps: int | None,
    epoch: float | None,
) -> MetricEvent:
    """`MetricEvent(...)` without the frozen dataclass's `object.__setattr__` per field: a third
    of the time, on the path that parses millions of lines. The same fields, the same object."""
    event = object.__new__(MetricEvent)
    event.__dict__.update(
        ts=ts, extra=NO_EXTRA, step=step, values=values, max_steps=max_steps, epoch=epoch
    )
    return event


def _numbers(value: Any) -> dict[str, float]:
    """The numeric entries of a name -> number mapping (anything else dropped)."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): n for k, v in value.items() if (n := _number(v)) is not None}


def _checkpoint(record: Mapping[str, Any], ts: float | None) -> RunEvent:
    metrics = _numbers(record.get("metrics"))
    return CheckpointEvent(
        ts=ts,
        path=_text(record.get("path")) or "",
        step=_int(record.get("step")),
        model_id=_text(record.get("model_id")),
        metrics=metrics or NO_EXTRA,
    )


def _artifact(record: Mapping[str, Any], ts: float | None) -> RunEvent:
    return ArtifactEvent(
        ts=ts,
        kind=_text(record.get("kind")) or "",
        path=_text(record.get("path")),
        model_id=_text(record.get("model_id")),
    )


def _alert(record: Mapping[str, Any], ts: float | None) -> RunEvent:
    steps = record.get("steps")
    return AlertEvent(
        ts=ts,
        kind=_required_text(record, "kind"),
        message=_text(record.get("message")) or "",
        steps=tuple(step for step in steps if _int(step) is not None)
        if isinstance(steps, list)
        else (),
        advice=_text(record.get("advice")),
    )


def _remote_job(record: Mapping[str, Any], ts: float | None) -> RunEvent:
    return RemoteJobEvent(
        ts=ts,
        job_id=_required_text(record, "job_id"),
        remote_status=_text(record.get("remote_status")),
        message=_text(record.get("message")),
        estimated_finish=_number(record.get("estimated_finish")),
        trained_tokens=_int(record.get("trained_tokens")),
    )


# kind -> (parser, the fields it reads); the fields of a line no parser reads go to `extra`.
_PARSERS: dict[
    str, tuple[Callable[[Mapping[str, Any], float | None], RunEvent], frozenset[str]]
] = {
    "status": (_status, frozenset({"status", "message", "error"})),
    "log": (_log, frozenset({"level", "message"})),
    "metric": (_metric, frozenset({"step", "values", "max_steps", "epoch"})),
    "checkpoint": (_checkpoint, frozenset({"step", "path", "model_id", "metrics"})),
    "artifact": (_artifact, frozenset({"kind", "path", "model_id"})),
    "alert": (_alert, frozenset({"kind", "message", "steps", "advice"})),
    "remote_job": (
        _remote_job,
        frozenset({"job_id", "remote_status", "message", "estimated_finish", "trained_tokens"}),
    ),
}
_ENVELOPE = frozenset({"type", "ts", "v"})
_PARSERS = {kind: (parser, fields | _ENVELOPE) for kind, (parser, fields) in _PARSERS.items()}


def parse_event(record: Mapping[str, Any]) -> RunEvent:
    """The typed event of one decoded line (a JSON object with a `type`). Never raises."""
    kind = record.get("type")
    entry = _PARSERS.get(kind) if isinstance(kind, str) else None
    raw_ts = record.get("ts")
    ts = raw_ts if type(raw_ts) is float else _number(raw_ts)
    if entry is None:
        return UnknownEvent(ts=ts, record=dict(record))
    parser, known = entry
    try:
        event = parser(record, ts)
    except _Unusable:
        return UnknownEvent(ts=ts, record=dict(record))
    version = record.get("v", SCHEMA_VERSION)
    if (
        not known.issuperset(record)
        or version != SCHEMA_VERSION
        or (raw_ts is not None and ts is None)
    ):
        extra = {key: value for key, value in record.items() if key not in known}
        if version != SCHEMA_VERSION:
            extra["v"] = version  # a newer writer's version, written back as it was
        if raw_ts is not None and ts is None:
            extra["ts"] = raw_ts  # unusable as a time, kept as it was
        # Built just above and not shared yet: set in place (rare: unknown fields).
        object.__setattr__(event, "extra", extra)
    return event


def event_record(event: RunEvent) -> dict[str, Any]:
    """The JSON object of one event: the inverse of `parse_event` (unknown fields included)."""
    if isinstance(event, UnknownEvent):
        return dict(event.record)
    record: dict[str, Any] = {"v": SCHEMA_VERSION, "ts": event.ts, "type": event.TYPE}
    if isinstance(event, StatusEvent):
        record["status"] = event.status
        _put(record, message=event.message, error=event.error)
    elif isinstance(event, LogEvent):
        record["level"] = event.level
        record["message"] = event.message
    elif isinstance(event, MetricEvent):
        record["step"] = event.step
        _put(record, max_steps=event.max_steps, epoch=event.epoch)
        record["values"] = dict(event.values)
    elif isinstance(event, CheckpointEvent):
        _put(record, step=event.step)
        record["path"] = event.path
        _put(record, model_id=event.model_id)
        if event.metrics:
            record["metrics"] = dict(event.metrics)
    elif isinstance(event, ArtifactEvent):
        record["kind"] = event.kind
        _put(record, path=event.path, model_id=event.model_id)
    elif isinstance(event, AlertEvent):
        record["kind"] = event.kind
        record["message"] = event.message
        if event.steps:
            record["steps"] = list(event.steps)
        _put(record, advice=event.advice)
    elif isinstance(event, RemoteJobEvent):
        record["job_id"] = event.job_id
        _put(
            record,
            remote_status=event.remote_status,
            message=event.message,
            estimated_finish=event.estimated_finish,
            trained_tokens=event.trained_tokens,
        )
    record.update(event.extra)
    return record


def _put(record: dict[str, Any], **optional: Any) -> None:
    record.update({key: value for key, value in optional.items() if value is not None})


def encode_event(event: RunEvent | Mapping[str, Any]) -> bytes:
    """One event as one line of bytes, newline included. A mapping is written as it is."""
    record = event_record(event) if isinstance(event, RunEvent) else event
    return orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"


def parse_event_line(line: bytes) -> dict[str, Any] | None:
    """Decode one complete line; None for a line that is not an event (skipped, not fatal)."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict) or "type" not in record:
        return None
    return record


def decode_event(line: bytes) -> RunEvent | None:
    """One line as a typed event; None for a line that is not an event."""
    record = parse_event_line(line)
    return None if record is None else parse_event(record)
