"""The one formatter of run events: one readable line per event, for the CLI and the run page."""

from __future__ import annotations

from datetime import datetime

from ftui.core.runs.kinds import (
    AlertEvent,
    ArtifactEvent,
    CheckpointEvent,
    LogEvent,
    MetricEvent,
    RemoteJobEvent,
    RunEvent,
    StatusEvent,
)

TIME_ONLY = "%H:%M:%S"
DATE_AND_TIME = "%Y-%m-%d %H:%M:%S"


def _with_detail(text: str, detail: str | None) -> str:
    return f"{text}: {detail}" if detail else text


def describe_body(event: RunEvent) -> str:
    """What the event says, without its time."""
    if isinstance(event, MetricEvent):
        step = f"step {event.step}" + (f"/{event.max_steps}" if event.max_steps else "")
        shown = "  ".join(f"{name} {value:.4g}" for name, value in event.values.items())
        return f"{step:<14} {shown}"
    if isinstance(event, LogEvent):
        return f"{event.level:<7} {event.message}"
    if isinstance(event, StatusEvent):
        return _with_detail(f"status  -> {event.status}", event.error or event.message)
    if isinstance(event, CheckpointEvent):
        text = f"checkpoint at step {event.step}: {event.model_id or event.path}"
        if event.metrics:
            text += "  " + "  ".join(f"{name} {value:.4g}" for name, value in event.metrics.items())
        return text
    if isinstance(event, ArtifactEvent):
        return f"artifact {event.kind}: {event.model_id or event.path}"
    if isinstance(event, AlertEvent):
        text = f"alert   {event.kind}: {event.message}"
        if event.steps:
            first, last = min(event.steps), max(event.steps)
            text += f" (step {first})" if first == last else f" (steps {first}-{last})"
        return text + (f". {event.advice}" if event.advice else "")
    if isinstance(event, RemoteJobEvent):
        text = f"job     {event.job_id}" + (
            f" {event.remote_status}" if event.remote_status else ""
        )
        return _with_detail(text, event.message)
    return event.type or "event"


def describe_event(event: RunEvent, clock: str = TIME_ONLY) -> str:
    """One event as one line: its time (`clock` is a strftime format), then what it says."""
    when = datetime.fromtimestamp(event.ts).strftime(clock) if event.ts is not None else "-"
    return f"{when}  {describe_body(event)}"
