"""STAND-IN (not committed): OpenAI objects to run events, until openai-core lands."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ftui.core.runs.kinds import (
    ArtifactEvent,
    CheckpointEvent,
    LogEvent,
    MetricEvent,
    RemoteJobEvent,
    RunEvent,
    StatusEvent,
)

NAMES = (
    "train_loss",
    "valid_loss",
    "full_valid_loss",
    "train_mean_token_accuracy",
    "valid_mean_token_accuracy",
    "full_valid_mean_token_accuracy",
)


def job_event_to_run_events(event: Mapping[str, Any]) -> list[RunEvent]:
    extra = {"openai_event_id": event["id"]}
    ts = event.get("created_at")
    data = event.get("data") or {}
    if event.get("type") == "metrics" and "step" in data:
        values = {k: float(data[k]) for k in NAMES if data.get(k) is not None}
        return [
            MetricEvent(
                ts=ts,
                extra=extra,
                step=int(data["step"]),
                values=values,
                max_steps=data.get("total_steps"),
            )
        ]
    level = {"warn": "warning"}.get(event.get("level", "info"), event.get("level", "info"))
    return [LogEvent(ts=ts, extra=extra, message=str(event.get("message", "")), level=level)]


def unseen_events(
    page_newest_first: Sequence[Mapping[str, Any]], last_seen_id: str | None
) -> tuple[list[Mapping[str, Any]], bool]:
    fresh: list[Mapping[str, Any]] = []
    for event in page_newest_first:
        if event["id"] == last_seen_id:
            return list(reversed(fresh)), True
        fresh.append(event)
    return list(reversed(fresh)), False


def last_openai_event_id(events: Iterable[RunEvent]) -> str | None:
    last = None
    for event in events:
        if "openai_event_id" in event.extra:
            last = str(event.extra["openai_event_id"])
    return last


def job_to_run_events(job: Mapping[str, Any], previous: Mapping[str, Any] | None) -> list[RunEvent]:
    previous = previous or {}
    out: list[RunEvent] = []
    status = job.get("status")
    if status != previous.get("status"):
        error = None
        if job.get("error"):
            err = job["error"]
            error = f"{err.get('code')}: {err.get('message')}"
        out.append(StatusEvent(status=str(status), error=error))
    if job.get("fine_tuned_model") and job.get("fine_tuned_model") != previous.get(
        "fine_tuned_model"
    ):
        out.append(ArtifactEvent(kind="model_id", model_id=job["fine_tuned_model"]))
    if (
        status != previous.get("status")
        or job.get("trained_tokens") != previous.get("trained_tokens")
        or job.get("estimated_finish") != previous.get("estimated_finish")
    ):
        out.append(
            RemoteJobEvent(
                job_id=str(job["id"]),
                remote_status=str(status),
                extra={"trained_tokens": job.get("trained_tokens")},
            )
        )
    return out


def checkpoint_to_run_events(checkpoint: Mapping[str, Any]) -> list[RunEvent]:
    return [
        CheckpointEvent(
            step=checkpoint.get("step_number"),
            path=str(checkpoint.get("fine_tuned_model_checkpoint")),
            extra={"openai_checkpoint_id": checkpoint["id"]},
        )
    ]


def result_csv_to_metric_events(content: bytes | str) -> list[MetricEvent]:
    if isinstance(content, bytes):
        content = content.decode()
    if not content.lstrip().startswith("step"):
        content = base64.b64decode(content).decode()
    out = []
    for row in csv.DictReader(io.StringIO(content)):
        values = {k: float(v) for k, v in row.items() if k != "step" and v}
        out.append(MetricEvent(step=int(row["step"]), values=values))
    return out
