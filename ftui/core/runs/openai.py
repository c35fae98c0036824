"""OpenAI's fine-tuning objects, as ftui's typed run events.

The inputs are plain dicts, as the SDK's `.model_dump()` gives them (or the JSON the API sent).
Nothing here trusts their shape: a missing field, a null, a string where a number belongs or a
type or status never seen before gives fewer events, never an exception. Statuses are kept
verbatim (a paused job's is not in the SDK's types); only ftui's terminal ones end a run.

Every event made from an OpenAI event carries that event's id in `extra["openai_event_id"]`, and
every checkpoint its id in `extra["openai_checkpoint_id"]`: a follower that starts again finds in
the run's own log where it stopped (`last_openai_event_id`), and writes nothing twice.

Metric names are those of a local run: `train_loss`, `valid_loss`, `full_valid_loss`,
`train_mean_token_accuracy`, `valid_mean_token_accuracy`, `full_valid_mean_token_accuracy`
(the result file's `train_accuracy` / `valid_accuracy` columns are the token accuracies).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from ftui.core.runs.kinds import (
    NO_EXTRA,
    ArtifactEvent,
    CheckpointEvent,
    LogEvent,
    MetricEvent,
    RemoteJobEvent,
    RunEvent,
    StatusEvent,
)
from ftui.core.runs.status import is_terminal

METRIC_NAMES = (
    "train_loss",
    "valid_loss",
    "full_valid_loss",
    "train_mean_token_accuracy",
    "valid_mean_token_accuracy",
    "full_valid_mean_token_accuracy",
)
# Other spellings OpenAI uses for the same values (the result file's columns among them).
METRIC_ALIASES = {
    "train_accuracy": "train_mean_token_accuracy",
    "valid_accuracy": "valid_mean_token_accuracy",
    "full_valid_accuracy": "full_valid_mean_token_accuracy",
}
LEVELS = {"info": "info", "warn": "warning", "warning": "warning", "error": "error"}
EVENT_ID = "openai_event_id"
CHECKPOINT_ID = "openai_checkpoint_id"


# -- small readers of untrusted values ------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _whole(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number == int(number) else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text or None


def _metric_name(name: str) -> str:
    name = name.strip()
    return METRIC_ALIASES.get(name, name)


def _metric_values(data: Mapping[str, Any]) -> dict[str, float]:
    values: dict[str, float] = {}
    for raw_name, raw in data.items():
        name = _metric_name(str(raw_name))
        if name in METRIC_NAMES and (number := _number(raw)) is not None:
            values[name] = number
    return values


def _id_extra(key: str, value: Any) -> Mapping[str, Any]:
    text = _text(value)
    return {key: text} if text else NO_EXTRA


# -- events ---------------------------------------------------------------------------------


def job_event_to_run_events(event: Mapping[str, Any]) -> list[RunEvent]:
    """One OpenAI job event: a `metrics` event is a MetricEvent, anything else a LogEvent."""
    if not isinstance(event, Mapping):
        return []
    extra = _id_extra(EVENT_ID, event.get("id"))
    ts = _number(event.get("created_at"))
    data = event.get("data")
    kind = event.get("type")
    if isinstance(data, Mapping) and kind in ("metrics", None):
        step = _whole(data.get("step"))
        values = _metric_values(data)
        if step is not None and (values or kind == "metrics"):
            total = _whole(data.get("total_steps"))
            return [MetricEvent(ts=ts, extra=extra, step=step, values=values, max_steps=total)]
    level = LEVELS.get(str(event.get("level") or "info").lower(), "info")
    message = _text(event.get("message")) or ""
    return [LogEvent(ts=ts, extra=extra, message=message, level=level)]


def unseen_events(
    page_newest_first: Sequence[Mapping[str, Any]], last_seen_id: str | None
) -> tuple[list[Mapping[str, Any]], bool]:
    """The events of a newest-first page newer than `last_seen_id`, oldest first, and whether
    the page reached `last_seen_id`. When it did not, the caller reads the next page (`after` =
    the oldest id of this one), calls again and puts that older batch first. With no
    `last_seen_id` every event is new (and the page never "reaches" it)."""
    fresh: list[Mapping[str, Any]] = []
    for event in page_newest_first:
        if not isinstance(event, Mapping):
            continue
        if last_seen_id is not None and _text(event.get("id")) == last_seen_id:
            return fresh[::-1], True
        fresh.append(event)
    return fresh[::-1], False


def last_openai_event_id(events: Iterable[RunEvent]) -> str | None:
    """The id of the last event in a run's log that came from an OpenAI event."""
    last: str | None = None
    for event in events:
        value = event.extra.get(EVENT_ID)
        if value:
            last = str(value)
    return last


# -- the job --------------------------------------------------------------------------------


def job_error(job: Mapping[str, Any]) -> str | None:
    """A failed job's `error` as one line: "code: message" (either alone when the other lacks)."""
    error = job.get("error")
    if isinstance(error, str):
        return error or None
    if not isinstance(error, Mapping):
        return None
    code, message = _text(error.get("code")), _text(error.get("message"))
    if code and message:
        return f"{code}: {message}"
    return code or message


def _changed(new: Any, old: Any) -> bool:
    """A reported value that is new; a value the job no longer reports (null) is no change."""
    if new is None:
        return False
    if old is None:
        return True
    a, b = _number(new), _number(old)
    return new != old if a is None or b is None else a != b


class RecordedJob(Protocol):
    """What a run keeps of its remote job: a `RunState`, or the store's `Run` of it."""

    @property
    def remote_status(self) -> str | None: ...

    @property
    def output_model(self) -> str | None: ...

    @property
    def trained_tokens(self) -> int | None: ...

    @property
    def estimated_finish(self) -> float | None: ...


def recorded_job(job_id: str | None, recorded: RecordedJob) -> dict[str, Any] | None:
    """The job as a run's log last recorded it, shaped as `job_to_run_events` diffs against
    (None before the first look: everything about the job is new)."""
    if recorded.remote_status is None:
        return None
    return {
        "id": job_id,
        "status": recorded.remote_status,
        "fine_tuned_model": recorded.output_model,
        "trained_tokens": recorded.trained_tokens,
        "estimated_finish": recorded.estimated_finish,
    }


def job_to_run_events(
    job: Mapping[str, Any], previous: Mapping[str, Any] | None, *, now: float | None = None
) -> list[RunEvent]:
    """What changed between two retrieved job objects (`previous` None: the first look).

    A new status is a StatusEvent (verbatim; a failed job's error on it), a new
    `fine_tuned_model` an ArtifactEvent of kind `model_id`, and a new status, estimate or
    token count a RemoteJobEvent; the status comes last, so a log that ends with a final
    status holds everything the job said before it. `now` stamps the events; a terminal
    status takes the job's `finished_at` when it has one."""
    if not isinstance(job, Mapping):
        return []
    before: Mapping[str, Any] = previous if isinstance(previous, Mapping) else {}
    out: list[RunEvent] = []
    status = _text(job.get("status"))
    status_changed = status is not None and status != _text(before.get("status"))
    model = _text(job.get("fine_tuned_model"))
    if model and model != _text(before.get("fine_tuned_model")):
        out.append(ArtifactEvent(ts=now, kind="model_id", model_id=model))
    finish = _number(job.get("estimated_finish"))
    tokens = _whole(job.get("trained_tokens"))
    job_id = _text(job.get("id")) or _text(before.get("id"))
    if job_id and (
        status_changed
        or _changed(finish, _number(before.get("estimated_finish")))
        or _changed(tokens, _whole(before.get("trained_tokens")))
    ):
        out.append(
            RemoteJobEvent(
                ts=now,
                job_id=job_id,
                remote_status=status,
                estimated_finish=finish,
                trained_tokens=tokens,
            )
        )
    if status_changed and status is not None:  # last: a final status is the log's last word
        ts = now
        if is_terminal(status):
            ts = _number(job.get("finished_at")) or now
        out.append(StatusEvent(ts=ts, status=status, error=job_error(job)))
    return out


# -- checkpoints and the result file --------------------------------------------------------


def checkpoint_to_run_events(checkpoint: Mapping[str, Any]) -> list[RunEvent]:
    """One checkpoint OpenAI keeps: its step, the model name it is used by (as `path` and
    `model_id`) and its metrics."""
    if not isinstance(checkpoint, Mapping):
        return []
    model = _text(checkpoint.get("fine_tuned_model_checkpoint"))
    metrics = checkpoint.get("metrics")
    step = _whole(checkpoint.get("step_number"))
    if step is None and isinstance(metrics, Mapping):
        step = _whole(metrics.get("step"))
    values = _metric_values(metrics) if isinstance(metrics, Mapping) else {}
    return [
        CheckpointEvent(
            ts=_number(checkpoint.get("created_at")),
            extra=_id_extra(CHECKPOINT_ID, checkpoint.get("id")),
            path=model or "",
            step=step,
            model_id=model,
            metrics=values or NO_EXTRA,
        )
    ]


def _decoded_text(content: bytes | str) -> str:
    """The CSV text of a result file, plain or base64-encoded."""
    raw = content.encode("utf-8", "replace") if isinstance(content, str) else bytes(content)
    text = raw.decode("utf-8", "replace").lstrip("\ufeff")
    first_line = text.lstrip().split("\n", 1)[0]
    if "," in first_line or first_line.strip().lower().startswith("step"):
        return text  # base64 has neither commas nor this header
    compact = b"".join(raw.split())
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return text
    return decoded.decode("utf-8", "replace").lstrip("\ufeff")


def result_csv_to_metric_events(content: bytes | str) -> list[MetricEvent]:
    """The result file's per-step metrics: one MetricEvent per step with a value. Empty,
    missing or non-numeric cells are left out; extra or missing columns are tolerated; the
    content may be base64-encoded. `max_steps` is the file's last step."""
    rows = list(csv.reader(io.StringIO(_decoded_text(content))))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [_metric_name(cell) for cell in rows[0]]
    if "step" not in header:
        return []
    step_at = header.index("step")
    parsed: list[tuple[int, dict[str, float]]] = []
    for row in rows[1:]:
        step = _whole(row[step_at]) if step_at < len(row) else None
        if step is None:
            continue
        values: dict[str, float] = {}
        for name, cell in zip(header, row, strict=False):
            if name and name != "step" and (number := _number(cell)) is not None:
                values[name] = number
        if values:
            parsed.append((step, values))
    last = max((step for step, _ in parsed), default=None)
    return [MetricEvent(step=step, values=values, max_steps=last) for step, values in parsed]
