"""One small frozen dataclass per kind of run event.

Every event has `ts` (seconds since the epoch, None when the line had none) and `extra`: the fields
of its line that this version of ftui does not know, written back untouched. A line whose kind is
unknown, or whose fields are unusable for its kind, becomes an `UnknownEvent` holding the whole
line, so an older ftui reading a newer log never fails and never loses anything.

Kinds and their fields on disk (`type` names the kind):

- `status`:     `status` (see RunStatus; unknown strings are kept), optional `message`, `error`
- `log`:        `level` ("debug" | "info" | "warning" | "error"), `message`
- `metric`:     `step` (int), optional `max_steps`, `epoch`, and `values`: name -> float.
                Names follow OpenAI's checkpoint metrics where they overlap: `train_loss`,
                `valid_loss`, `train_mean_token_accuracy`, `valid_mean_token_accuracy`,
                `learning_rate`, `grad_norm`, `tokens_per_second`. A local run's step metrics
                carry its training process's resource use too: `gpu_memory_gb` (GiB its CUDA
                allocator holds) and `gpu_utilization` (percent, when the driver says) on a
                GPU, else `cpu_percent` (CPU time over wall time since the last log; 100 is
                one core), and `ram_gb` (resident memory, GiB).
- `checkpoint`: `step`, `path` (relative to the run directory or absolute; for a checkpoint kept
                by a remote service, the model name it is used by, also in `model_id`), optional
                `model_id` and `metrics` (name -> float, the checkpoint's own, named as `metric`'s)
- `artifact`:   `kind` ("adapter" | "merged_model" | "model_id" | "file"), and `path` or `model_id`
- `alert`:      `kind` (see ALERT_KINDS; others are kept), `message`, optional `steps` (the steps
                that showed it), `advice` (what to do)
- `remote_job`: `job_id` of a job run by a remote service, optional `remote_status` (its own
                status string, verbatim), `message`, `estimated_finish` (seconds since the
                epoch, the service's estimate) and `trained_tokens` (int, as it bills them)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

ALERT_KINDS = frozenset(
    {"overfitting", "eval_gap", "nan_loss", "diverging", "stalled", "process_died"}
)


class _NoExtra(Mapping[str, Any]):
    """The `extra` of almost every event: one shared, empty, read-only mapping (no dict made per
    event; hashable, so a dataclass may take it as a default)."""

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"


NO_EXTRA: Mapping[str, Any] = _NoExtra()


@dataclass(frozen=True, kw_only=True)
class RunEvent:
    TYPE: ClassVar[str] = ""

    ts: float | None = None
    extra: Mapping[str, Any] = NO_EXTRA

    @property
    def type(self) -> str:
        return self.TYPE


@dataclass(frozen=True, kw_only=True)
class StatusEvent(RunEvent):
    TYPE: ClassVar[str] = "status"

    status: str
    message: str | None = None
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class LogEvent(RunEvent):
    TYPE: ClassVar[str] = "log"

    message: str
    level: str = "info"


@dataclass(frozen=True, kw_only=True)
class MetricEvent(RunEvent):
    TYPE: ClassVar[str] = "metric"

    step: int
    values: Mapping[str, float]
    max_steps: int | None = None
    epoch: float | None = None


@dataclass(frozen=True, kw_only=True)
class CheckpointEvent(RunEvent):
    TYPE: ClassVar[str] = "checkpoint"

    path: str
    step: int | None = None
    model_id: str | None = None
    metrics: Mapping[str, float] = NO_EXTRA


@dataclass(frozen=True, kw_only=True)
class ArtifactEvent(RunEvent):
    TYPE: ClassVar[str] = "artifact"

    kind: str
    path: str | None = None
    model_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class AlertEvent(RunEvent):
    TYPE: ClassVar[str] = "alert"

    kind: str
    message: str
    steps: tuple[int, ...] = ()
    advice: str | None = None


@dataclass(frozen=True, kw_only=True)
class RemoteJobEvent(RunEvent):
    TYPE: ClassVar[str] = "remote_job"

    job_id: str
    remote_status: str | None = None
    message: str | None = None
    estimated_finish: float | None = None
    trained_tokens: int | None = None


@dataclass(frozen=True, kw_only=True)
class UnknownEvent(RunEvent):
    """A line this ftui cannot use: kept whole, passed through untouched, ignored by the reducer."""

    record: Mapping[str, Any]

    @property
    def type(self) -> str:
        return str(self.record.get("type", ""))


KNOWN_KINDS: tuple[type[RunEvent], ...] = (
    StatusEvent,
    LogEvent,
    MetricEvent,
    CheckpointEvent,
    ArtifactEvent,
    AlertEvent,
    RemoteJobEvent,
)
EVENT_TYPES = frozenset(kind.TYPE for kind in KNOWN_KINDS)
