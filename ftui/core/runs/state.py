"""The pure reducer: a run's state is its events folded in order, `RunState.apply(event)`.

The store folds each chunk it indexes into the run's row, and a live view folds what it follows,
with the same code: a run watched live and a run replayed from history end in the same state.
Unknown events change nothing but the count.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

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
from ftui.core.runs.status import BEFORE_START, STARTED, RunStatus, is_terminal

LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class MetricPoint:
    step: int
    value: float


def lower_is_better(name: str) -> bool | None:
    """Which way a metric improves: losses fall, accuracies rise; None when it has no best."""
    if "loss" in name:
        return True
    if "accuracy" in name:
        return False
    return None


_DIRECTIONS: dict[str, bool | None] = {}  # lower_is_better per name seen (few names, many points)


@dataclass(frozen=True)
class RunState:
    status: str = RunStatus.CREATED.value
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    message: str | None = None  # the latest status message
    step: int | None = None
    max_steps: int | None = None
    epoch: float | None = None
    last_metrics: Mapping[str, float] = field(default_factory=dict)
    best_metrics: Mapping[str, MetricPoint] = field(default_factory=dict)
    checkpoints: tuple[CheckpointEvent, ...] = ()
    artifacts: tuple[ArtifactEvent, ...] = ()
    adapter_path: str | None = (
        None  # as the log wrote it: relative to the run directory or absolute
    )
    output_model: str | None = None
    alerts: tuple[AlertEvent, ...] = ()
    log_tail: tuple[str, ...] = ()  # the last LOG_TAIL_LINES lines of log messages
    remote_job_id: str | None = None
    remote_status: str | None = None
    trained_tokens: int | None = None  # a remote job's, as last reported
    estimated_finish: float | None = None  # a remote job's estimate, as last reported
    events: int = 0  # how many events were folded in

    @property
    def is_terminal(self) -> bool:
        return is_terminal(self.status)

    def apply(self, event: RunEvent) -> RunState:
        return self.apply_all((event,))

    def apply_all(self, events: Iterable[RunEvent]) -> RunState:
        """Fold many events at once: the same result as `apply` one by one, without a new state
        per event (an ingest folds millions)."""
        fold = _Fold(self)
        for event in events:
            fold.apply(event)
        return fold.result()


class _Fold:
    """The reducer's working copy: mutable while a batch is folded, frozen again at the end."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.fields: dict[str, Any] = {}
        self.last = dict(state.last_metrics)
        # (step, value) while folding: a MetricPoint per improvement would cost more than the rest.
        self.best = {name: (point.step, point.value) for name, point in state.best_metrics.items()}
        self.log_tail = deque(state.log_tail, maxlen=LOG_TAIL_LINES)
        self.checkpoints = list(state.checkpoints)
        self.artifacts = list(state.artifacts)
        self.alerts = list(state.alerts)
        self.count = state.events

    def get(self, name: str) -> Any:
        return self.fields[name] if name in self.fields else getattr(self.state, name)

    def apply(self, event: RunEvent) -> None:
        self.count += 1
        if isinstance(event, MetricEvent):
            self._metric(event)
        elif isinstance(event, StatusEvent):
            self._status(event)
        elif isinstance(event, LogEvent):
            self.log_tail.extend(line for line in event.message.splitlines() if line.strip())
        elif isinstance(event, CheckpointEvent):
            self.checkpoints.append(event)
        elif isinstance(event, ArtifactEvent):
            self.artifacts.append(event)
            if event.kind == "adapter" and event.path:
                self.fields["adapter_path"] = event.path
            elif event.kind == "model_id" and event.model_id:
                self.fields["output_model"] = event.model_id
        elif isinstance(event, AlertEvent):
            self.alerts.append(event)
        elif isinstance(event, RemoteJobEvent):
            self.fields["remote_job_id"] = event.job_id
            if event.remote_status is not None:
                self.fields["remote_status"] = event.remote_status
            if event.trained_tokens is not None:
                self.fields["trained_tokens"] = event.trained_tokens
            if event.estimated_finish is not None:
                self.fields["estimated_finish"] = event.estimated_finish

    def _metric(self, event: MetricEvent) -> None:
        for name, value in event.values.items():
            self.last[name] = value
            if name not in _DIRECTIONS:
                _DIRECTIONS[name] = lower_is_better(name)
            direction = _DIRECTIONS[name]
            if direction is None:
                continue
            best = self.best.get(name)
            if best is None or (value < best[1] if direction else value > best[1]):
                self.best[name] = (event.step, value)
        self.fields["step"] = event.step
        if event.max_steps is not None:
            self.fields["max_steps"] = event.max_steps
        if event.epoch is not None:
            self.fields["epoch"] = event.epoch

    def _status(self, event: StatusEvent) -> None:
        status = event.status
        current = self.get("status")
        if status in BEFORE_START and current in STARTED and current != RunStatus.PAUSED:
            # A launcher's "queued" can land after the process already wrote "running": a run
            # never goes back to waiting once it runs (a resumed run comes from a terminal status).
            # Out of "paused" it may: a job paused while queued is queued again when resumed.
            return
        self.fields["status"] = status
        self.fields["message"] = event.message
        if status == RunStatus.RUNNING and self.get("started_at") is None:
            self.fields["started_at"] = event.ts
        if is_terminal(status):
            self.fields["finished_at"] = event.ts
            if self.get("started_at") is None:
                self.fields["started_at"] = event.ts
        else:
            self.fields["finished_at"] = None  # resumed after a terminal status (a retried job)
        if event.error:
            self.fields["error"] = event.error
        elif status == RunStatus.FAILED and event.message and not self.get("error"):
            self.fields["error"] = event.message

    def result(self) -> RunState:
        return replace(
            self.state,
            **self.fields,
            last_metrics=self.last,
            best_metrics={name: MetricPoint(*point) for name, point in self.best.items()},
            log_tail=tuple(self.log_tail),
            checkpoints=tuple(self.checkpoints),
            artifacts=tuple(self.artifacts),
            alerts=tuple(self.alerts),
            events=self.count,
        )
