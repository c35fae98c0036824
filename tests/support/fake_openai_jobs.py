"""The scripted life of one fine-tuning job on the test server, driven by the server's clock.

validating_files (validating_s) → queued (queued_s) → running (running_s: a metrics event per
step, a checkpoint per epoch with the last 3 kept) → succeeded (fine-tuned model, a result file,
trained tokens). A job told to fail fails when its files are validated, with OpenAI's
`error {code, message, param}`. Paused time does not count: a paused job makes no progress, and
resumed it goes on from where it was, in the status it had (queued or running).
"""

from __future__ import annotations

import base64
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
PAUSABLE = frozenset({"validating_files", "queued", "running"})
RESULT_HEADER = "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"
DEFAULT_BATCH_SIZE = 1
DEFAULT_LR_MULTIPLIER = 1.8
TOKENS_PER_STEP = 480

_counter = itertools.count(1)
_counter_lock = threading.Lock()


def new_id(prefix: str) -> str:
    """Unique on this server, and in creation order when sorted."""
    with _counter_lock:
        return f"{prefix}-{next(_counter):08d}"


@dataclass(frozen=True)
class Stages:
    validating_s: float
    queued_s: float
    running_s: float
    total_steps: int
    epochs: int
    base64_results: bool
    organization: str


@dataclass
class FakeJob:
    id: str
    request: dict[str, Any]
    created_at: float
    stages: Stages
    fail: dict[str, Any] | None = None
    status: str = "validating_files"
    events: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    checkpoints: list[dict[str, Any]] = field(default_factory=list)  # oldest first, last 3
    result_file: str | None = None
    finished_at: float | None = None
    paused_at: float | None = None
    paused_total: float = 0.0
    steps_done: int = 0
    reached: set[str] = field(default_factory=set)

    # -- what the request chose ---------------------------------------------------------------

    @property
    def method(self) -> dict[str, Any]:
        method = self.request.get("method")
        return method if isinstance(method, dict) else {"type": "supervised"}

    @property
    def chosen(self) -> dict[str, Any]:
        kind = self.method.get("type", "supervised")
        section = self.method.get(kind)
        chosen = section.get("hyperparameters") if isinstance(section, dict) else None
        return chosen if isinstance(chosen, dict) else {}

    @property
    def epochs(self) -> int:
        n = self.chosen.get("n_epochs")
        return n if isinstance(n, int) and n > 0 else self.stages.epochs

    @property
    def has_validation(self) -> bool:
        return bool(self.request.get("validation_file"))

    @property
    def model_name(self) -> str:
        suffix = self.request.get("suffix") or ""
        short = self.id.rsplit("-", 1)[-1]
        return f"ft:{self.request.get('model')}:{self.stages.organization}:{suffix}:{short}"

    # -- its life -----------------------------------------------------------------------------

    def event(
        self, at: float, message: str, *, kind: str = "message", level: str = "info", **data: Any
    ) -> None:
        self.events.append(
            {
                "object": "fine_tuning.job.event",
                "id": new_id("ftevent"),
                "created_at": int(at),
                "level": level,
                "message": message,
                "type": kind,
                "data": data or {},
            }
        )

    def active_s(self, now: float) -> float:
        """Seconds of the job's life so far, paused time left out."""
        until = self.paused_at if self.paused_at is not None else now
        return until - self.created_at - self.paused_total

    def wall(self, active: float) -> float:
        """The clock time at which the job had lived `active` seconds (since its last resume)."""
        return self.created_at + self.paused_total + active

    def advance(self, now: float, add_file: Callable[[str, bytes, str], str]) -> None:
        """Bring the job up to `now`: statuses, events, checkpoints, the result."""
        if "created" not in self.reached:
            self.reached.add("created")
            self.event(self.created_at, f"Created fine-tuning job: {self.id}")
            self.event(
                self.created_at, f"Validating training file: {self.request.get('training_file')}"
            )
        if self.status in TERMINAL:
            return
        s = self.stages
        active = self.active_s(now)
        paused = self.paused_at is not None
        if active >= s.validating_s and "validated" not in self.reached:
            self.reached.add("validated")
            at = self.wall(s.validating_s)
            if self.fail is not None:
                self.event(at, str(self.fail.get("message")), level="error")
                self.status, self.finished_at = "failed", at
                return
            self.event(at, "Files validated, moving job to queued state")
            if not paused:
                self.status = "queued"
        if active >= s.validating_s + s.queued_s and "started" not in self.reached:
            self.reached.add("started")
            self.event(self.wall(s.validating_s + s.queued_s), "Fine-tuning job started")
            if not paused:
                self.status = "running"
        if "started" in self.reached:
            self._steps(active)
        if active >= s.validating_s + s.queued_s + s.running_s and not paused:
            self._succeed(add_file)

    def _steps(self, active: float) -> None:
        s = self.stages
        run_s = min(s.running_s, active - s.validating_s - s.queued_s)
        target = s.total_steps if s.running_s <= 0 else int(s.total_steps * run_s / s.running_s)
        per_epoch = max(1, s.total_steps // self.epochs)
        while self.steps_done < min(target, s.total_steps):
            self.steps_done += 1
            step = self.steps_done
            at = self.wall(s.validating_s + s.queued_s + s.running_s * step / s.total_steps)
            data: dict[str, Any] = {
                "step": step,
                "total_steps": s.total_steps,
                "train_loss": train_loss(step),
                "train_mean_token_accuracy": train_accuracy(step, s.total_steps),
            }
            if self.has_validation and step % 5 == 0:
                data["valid_loss"] = valid_loss(step)
                data["valid_mean_token_accuracy"] = train_accuracy(step, s.total_steps) - 0.05
            self.event(
                at,
                f"Step {step}/{s.total_steps}: training loss={data['train_loss']:.4f}",
                kind="metrics",
                **data,
            )
            if step % per_epoch == 0 or step == s.total_steps:
                self._checkpoint(at, step, data)

    def _checkpoint(self, at: float, step: int, data: dict[str, Any]) -> None:
        metrics = {k: v for k, v in data.items() if k != "total_steps"}
        if self.has_validation:
            metrics.setdefault("valid_loss", valid_loss(step))
            metrics["full_valid_loss"] = valid_loss(step) + 0.01
            metrics["full_valid_mean_token_accuracy"] = train_accuracy(
                step, self.stages.total_steps
            )
        self.checkpoints.append(
            {
                "object": "fine_tuning.job.checkpoint",
                "id": new_id("ftckpt"),
                "created_at": int(at),
                "fine_tuning_job_id": self.id,
                "fine_tuned_model_checkpoint": f"{self.model_name}:ckpt-step-{step}",
                "step_number": step,
                "metrics": metrics,
            }
        )
        del self.checkpoints[:-3]  # OpenAI keeps the last three
        self.event(at, f"Checkpoint created at step {step}")

    def _succeed(self, add_file: Callable[[str, bytes, str], str]) -> None:
        s = self.stages
        at = self.wall(s.validating_s + s.queued_s + s.running_s)
        content = result_csv(s.total_steps, validation=self.has_validation).encode()
        if s.base64_results:
            content = base64.b64encode(content)
        self.result_file = add_file("step_metrics.csv", content, "fine-tune-results")
        self.event(at, f"New fine-tuned model created: {self.model_name}")
        self.event(at, "The job has successfully completed")
        self.status, self.finished_at = "succeeded", at

    # -- actions ------------------------------------------------------------------------------

    def pause(self, now: float) -> str | None:
        """Pause; an error message when the job cannot be paused."""
        if self.status not in PAUSABLE:
            return f"Job {self.id} is {self.status} and cannot be paused."
        self.paused_at = now
        self.status = "paused"
        self.event(now, "Fine-tuning job paused")
        return None

    def resume(self, now: float) -> str | None:
        if self.paused_at is None:
            return f"Job {self.id} is {self.status}, not paused: nothing to resume."
        self.paused_total += now - self.paused_at
        self.paused_at = None
        self.status = (
            "running"
            if "started" in self.reached
            else "queued"
            if "validated" in self.reached
            else "validating_files"
        )
        self.event(now, "Fine-tuning job resumed")
        return None

    def cancel(self, now: float) -> str | None:
        if self.status in TERMINAL:
            return f"Job {self.id} has already {self.status}."
        self.paused_at = None
        self.status, self.finished_at = "cancelled", now
        self.event(now, "Fine-tuning job cancelled")
        return None

    def fail_now(self, now: float, code: str, message: str, param: str | None = None) -> None:
        self.fail = {"code": code, "message": message, "param": param}
        self.paused_at = None
        self.event(now, message, level="error")
        self.status, self.finished_at = "failed", now

    # -- as OpenAI shows it -------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        s = self.stages
        chosen = self.chosen
        hyperparameters = {
            "n_epochs": self.epochs,
            "batch_size": chosen.get("batch_size")
            if chosen.get("batch_size") not in (None, "auto")
            else DEFAULT_BATCH_SIZE,
            "learning_rate_multiplier": chosen.get("learning_rate_multiplier")
            if chosen.get("learning_rate_multiplier") not in (None, "auto")
            else DEFAULT_LR_MULTIPLIER,
        }
        running = self.status == "running"
        return {
            "object": "fine_tuning.job",
            "id": self.id,
            "created_at": int(self.created_at),
            "model": self.request.get("model"),
            "status": self.status,
            "training_file": self.request.get("training_file"),
            "validation_file": self.request.get("validation_file"),
            "fine_tuned_model": self.model_name if self.status == "succeeded" else None,
            "finished_at": int(self.finished_at) if self.finished_at is not None else None,
            "organization_id": s.organization,
            "result_files": [self.result_file] if self.result_file else [],
            "trained_tokens": s.total_steps * TOKENS_PER_STEP
            if self.status == "succeeded"
            else None,
            "estimated_finish": int(self.wall(s.validating_s + s.queued_s + s.running_s))
            if running
            else None,
            "error": dict(self.fail) if self.status == "failed" and self.fail else None,
            "hyperparameters": hyperparameters,
            "method": {
                **self.method,
                self.method.get("type", "supervised"): {
                    "hyperparameters": {**chosen, **hyperparameters}
                },
            },
            "metadata": self.request.get("metadata"),
            "seed": self.request.get("seed") if isinstance(self.request.get("seed"), int) else 42,
            "user_provided_suffix": self.request.get("suffix"),
            "integrations": [],
        }


def train_loss(step: int) -> float:
    return round(2.0 / (1 + 0.2 * step), 6)


def valid_loss(step: int) -> float:
    return round(2.1 / (1 + 0.18 * step), 6)


def train_accuracy(step: int, total: int) -> float:
    return round(0.5 + 0.4 * step / max(1, total), 6)


def result_csv(total_steps: int, *, validation: bool) -> str:
    """The result file as OpenAI writes it: validation cells empty on steps without one."""
    lines = [RESULT_HEADER]
    for step in range(1, total_steps + 1):
        valid = validation and step % 5 == 0
        lines.append(
            f"{step},{train_loss(step)},{train_accuracy(step, total_steps)},"
            + (f"{valid_loss(step)},{train_accuracy(step, total_steps) - 0.05}" if valid else ",")
        )
    return "\n".join(lines) + "\n"
