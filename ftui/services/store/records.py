"""What the store returns: plain dataclasses, never rows."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftui.core.runs.status import is_terminal
from ftui.services.runs import config_path, events_path
from ftui.services.store.connection import loads


@dataclass
class DatasetRecord:
    id: str
    path: Path
    sha256: str
    format: str | None
    examples: int | None
    tokens: int | None
    summary: dict[str, Any]
    created_at: float
    size: int | None = None

    @property
    def name(self) -> str:
        return self.path.name

    def facts(self) -> str:
        """What is known of the content, for people: "openai, 68 examples, 14,190 tokens"."""
        facts = [self.format or "unknown format"]
        if self.examples is not None:
            facts.append(f"{self.examples:,} examples")
        if self.tokens is not None:
            facts.append(f"{self.tokens:,} tokens")
        return ", ".join(facts)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": str(self.path),
            "sha256": self.sha256,
            "size": self.size,
            "format": self.format,
            "examples": self.examples,
            "tokens": self.tokens,
            "summary": self.summary,
            "created_at": self.created_at,
        }


def dataset_from_row(row: Mapping[str, Any], prefix: str = "") -> DatasetRecord | None:
    if row[f"{prefix}id"] is None:
        return None
    return DatasetRecord(
        id=row[f"{prefix}id"],
        path=Path(row[f"{prefix}path"]),
        sha256=row[f"{prefix}sha256"],
        size=row[f"{prefix}size"],
        format=row[f"{prefix}format"],
        examples=row[f"{prefix}examples"],
        tokens=row[f"{prefix}tokens"],
        summary=loads(row[f"{prefix}summary"]),
        created_at=row[f"{prefix}created_at"],
    )


@dataclass
class Run:
    id: str
    backend: str
    status: str
    base_model: str
    dataset_id: str | None
    validation_dataset_id: str | None
    config: dict[str, Any]
    created_at: float
    started_at: float | None
    finished_at: float | None
    output_model: str | None
    adapter_path: str | None
    error: str | None
    run_dir: Path
    archived: bool = False
    dataset: DatasetRecord | None = None
    validation_dataset: DatasetRecord | None = None
    final_metrics: dict[str, float] = field(default_factory=dict)
    cost_usd: float | None = None
    epochs: float | None = None
    last_epoch: float | None = None
    last_step: int | None = None
    max_steps: int | None = None
    events_offset: int = 0
    # A remote job (OpenAI): its id, its own status string, what it billed, when it expects to end.
    remote_job_id: str | None = None
    remote_status: str | None = None
    trained_tokens: int | None = None
    estimated_finish: float | None = None

    @property
    def fine_tuned_model(self) -> str | None:
        """The model a remote job produced (an OpenAI `ft:` name); None for a local run."""
        return self.output_model if self.remote_job_id else None

    @property
    def events_path(self) -> Path:
        return events_path(self.run_dir)

    @property
    def config_path(self) -> Path:
        return config_path(self.run_dir)

    @property
    def is_terminal(self) -> bool:
        return is_terminal(self.status)

    def duration(self, now: float | None = None) -> float | None:
        """Seconds from start to finish (or to `now` while it runs); None if it never started."""
        if self.started_at is None:
            return None
        end = self.finished_at
        if end is None:
            if self.is_terminal:
                return None
            end = time.time() if now is None else now
        return max(0.0, end - self.started_at)

    def to_json_dict(self) -> dict[str, Any]:
        def dataset_json(record: DatasetRecord | None) -> dict[str, Any] | None:
            if record is None:
                return None
            return {
                "id": record.id,
                "path": str(record.path),
                "sha256": record.sha256,
                "format": record.format,
                "examples": record.examples,
                "tokens": record.tokens,
            }

        return {
            "id": self.id,
            "backend": self.backend,
            "status": self.status,
            "base_model": self.base_model,
            "output_model": self.output_model,
            "adapter_path": self.adapter_path,
            "dataset": dataset_json(self.dataset),
            "validation_dataset": dataset_json(self.validation_dataset),
            "config": self.config,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "final_metrics": self.final_metrics,
            "epochs": self.epochs,
            "last_step": self.last_step,
            "max_steps": self.max_steps,
            "cost_usd": self.cost_usd,
            "error": self.error,
            "archived": self.archived,
            "run_dir": str(self.run_dir),
            "remote_job_id": self.remote_job_id,
            "remote_status": self.remote_status,
            "fine_tuned_model": self.fine_tuned_model,
            "trained_tokens": self.trained_tokens,
            "estimated_finish": self.estimated_finish,
        }


@dataclass(frozen=True)
class Upload:
    """A file uploaded to a provider, remembered by the sha256 of its bytes."""

    sha256: str
    account: str
    purpose: str
    file_id: str
    filename: str | None
    bytes: int | None
    created_at: float


@dataclass
class MetricSummary:
    points: int
    last: float
    last_step: int
    min: float
    min_step: int
    max: float


@dataclass
class Alias:
    alias: str
    target: str
    run_id: str | None
    created_at: float
    updated_at: float


@dataclass
class JudgeResult:
    id: int
    session: str
    model_a: str
    model_b: str
    example_key: str | None
    winner: str | None
    scores: dict[str, Any]
    details: dict[str, Any]
    created_at: float


@dataclass(frozen=True)
class CachedCompletion:
    """A model's answer remembered by the hash of what it was asked (model, messages, sampling)."""

    key: str
    model: str
    text: str
    prompt_tokens: int | None
    completion_tokens: int | None
    created_at: float
