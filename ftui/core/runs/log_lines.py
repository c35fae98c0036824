"""Lines for a run's log panel: the trainer's own output and the event log's non-metric events.

A training process writes to `train.log` whatever its libraries print: tracebacks, warnings,
and tqdm bars that rewrite their line with carriage returns. `split_output` turns appended text
into finished lines (a rewritten line keeps only its last state; a line still being written waits
for its newline), `classify` gives each a level, and `event_line` words an event the same way the
CLI does (`describe.py`). Metric events are left out: they are the charts' business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast

from ftui.core.runs.describe import describe_event
from ftui.core.runs.kinds import AlertEvent, LogEvent, MetricEvent, RunEvent, StatusEvent
from ftui.core.runs.status import RunStatus

Level = Literal["debug", "info", "warning", "error"]
LEVELS: tuple[Level, ...] = ("debug", "info", "warning", "error")

# What marks a line of raw output as an error or a warning. Case-sensitive and word-bounded, so
# that "0 errors" in a summary or a metric named "error_rate" do not count; exception names do.
_ERROR = re.compile(
    r"Traceback \(most recent call last\)"
    r"|\b\w*(?:Error|Exception)\b"
    r"|\bCUDA out of memory\b"
    r"|\bout of memory\b"
    r"|\bKilled\b"
    r"|\bSegmentation fault\b"
    r"|\b(?:ERROR|CRITICAL|FATAL)\b"
    r"|^\s*error\b"
)
_WARNING = re.compile(r"\b\w*Warning\b|\bWARNING\b|\bwarning\b|\bWARN\b|\bdeprecated\b")
_DEBUG = re.compile(r"^\s*(?:DEBUG\b|\[DEBUG\])")

# Terminal control sequences (colours, cursor moves) that tqdm and rich write into a log file.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a log panel: its text (one line, no newline), its level, and when (if known)."""

    text: str
    level: Level = "info"
    ts: float | None = None


def classify(text: str) -> Level:
    """The level of one line of a trainer's raw output."""
    if _ERROR.search(text):
        return "error"
    if _WARNING.search(text):
        return "warning"
    if _DEBUG.search(text):
        return "debug"
    return "info"


def _last_state(segment: str) -> str:
    """A line rewritten with carriage returns shows what was written after the last one."""
    if "\r" not in segment:
        return segment
    states = segment.split("\r")
    # A trailing "\r" (tqdm's usual ending before the next state) leaves an empty last state:
    # what shows on the terminal then is the state before it.
    for state in reversed(states):
        if state:
            return state
    return ""


def clean(text: str) -> str:
    """One line as a log panel shows it: no terminal escapes, tabs expanded, no trailing space."""
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    return text.expandtabs().rstrip()


def split_output(chunk: str, pending: str = "") -> tuple[list[LogLine], str]:
    """Split appended output into complete lines, given what was pending from the last chunk.

    Returns the finished lines (each classified, carriage-return rewrites collapsed to their last
    state, blank lines kept out) and the new pending text: the last line, not yet ended by a
    newline. A pending tqdm bar is kept collapsed, so its size stays bounded however long it runs.
    """
    text = pending + chunk
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    parts = text.split("\n")
    rest = parts.pop()
    lines: list[LogLine] = []
    for part in parts:
        shown = clean(_last_state(part))
        if shown:
            lines.append(LogLine(shown, classify(shown)))
    if "\r" in rest:
        # Keep the last state and its "\r": the next chunk starts a new state of the same line,
        # and a chunk ending exactly before "\n" must not leave the bar half written.
        last = rest.rfind("\r")
        head = _last_state(rest[:last])
        rest = (head + "\r" + rest[last + 1 :]) if rest[last + 1 :] else head + "\r"
    return lines, rest


def flush_pending(pending: str) -> list[LogLine]:
    """The pending text as a last line (the process ended without a final newline)."""
    shown = clean(_last_state(pending))
    return [LogLine(shown, classify(shown))] if shown else []


def event_level(event: RunEvent) -> Level:
    if isinstance(event, LogEvent):
        return cast(Level, event.level) if event.level in LEVELS else "info"
    if isinstance(event, AlertEvent):
        return "error" if event.kind in ("nan_loss", "process_died") else "warning"
    if isinstance(event, StatusEvent):
        return "error" if event.status == RunStatus.FAILED or event.error else "info"
    return "info"


def event_line(event: RunEvent) -> LogLine | None:
    """An event as a log panel line, worded like the CLI's; None for a metric event."""
    if isinstance(event, MetricEvent):
        return None
    return LogLine(describe_event(event), event_level(event), event.ts)
