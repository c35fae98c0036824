"""The local LoRA / QLoRA backend: check a run before it starts, launch it, cancel, resume, re-run,
and reattach to runs left going by an earlier ftui.

The training itself happens in a detached process (`ftui.services.launcher`), which reports
through the run's event log; the store indexes that log, so a launched run shows in the run
history at once and its metrics grow there. Every public method is async; the file checks,
SQLite writes and process starts run in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, ClassVar

from ftui.core.runs.events import TERMINAL_STATUSES, RunStatus
from ftui.core.training.local_config import ConfigError, LocalTrainConfig
from ftui.services import launcher, liveness
from ftui.services.backends.base import Capabilities, LaunchError, TrainingBackend
from ftui.services.backends.local_preflight import (
    Capacity,
    Preflight,
    machine_capacity,
    preflight,
)
from ftui.services.store import Run

__all__ = [
    "BACKEND",
    "Capacity",
    "LaunchError",
    "LocalBackend",
    "Preflight",
    "machine_capacity",
    "preflight",
]

BACKEND = "local"
# A run recorded but never given a process (ftui stopped between the two) is failed after this.
LAUNCH_TIMEOUT_S = 60.0


class LocalBackend(TrainingBackend[LocalTrainConfig, Preflight]):
    """Launch, stop, resume and re-run local training runs recorded in a RunStore."""

    name: ClassVar[str] = BACKEND
    capabilities: ClassVar[Capabilities] = Capabilities(
        label="Local (LoRA / QLoRA)",
        cancel=True,
        resume=True,
        checkpoint_now=True,
        run_again=True,
        local_gpu=True,
        memory_estimate=True,
    )

    # -- launching ----------------------------------------------------------------------------

    async def preflight(
        self,
        job: LocalTrainConfig,
        *,
        capacity: Capacity | None = None,
        validate: bool = True,
    ) -> Preflight:
        """The plan; `validate=False` skips reading the whole dataset (the form's live preview)."""
        return await asyncio.to_thread(
            preflight, job, self.config, capacity=capacity, validate=validate
        )

    async def launch(
        self,
        job: LocalTrainConfig,
        *,
        checked: Preflight | None = None,
        run_id: str | None = None,
    ) -> Run:
        """Check (unless a passing preflight is given), record the run, start its process."""
        result = checked if checked is not None else await self.preflight(job)
        if not result.ok:
            raise LaunchError("Cannot start this run: " + " ".join(result.problems))
        return await asyncio.to_thread(self._record_and_start, job, result, run_id)

    def _record_and_start(
        self, job: LocalTrainConfig, checked: Preflight, run_id: str | None
    ) -> Run:
        job = self._absolute(job)
        run = self.store.create_run(
            backend=BACKEND,
            base_model=job.base_model,
            config=job.to_dict(),
            dataset_path=job.dataset_path,
            validation_path=job.validation_path,
            run_id=run_id,
            dataset_summary=checked.dataset_summary,
        )
        return self._start(run, resume=False, processes=checked.processes)

    def _absolute(self, job: LocalTrainConfig) -> LocalTrainConfig:
        """Paths the detached process can use from its own working directory."""
        changes: dict[str, Any] = {"dataset_path": str(Path(job.dataset_path).resolve())}
        if job.validation_path:
            changes["validation_path"] = str(Path(job.validation_path).resolve())
        model = Path(job.base_model).expanduser()
        if model.is_dir():
            changes["base_model"] = str(model.resolve())
        return job.with_changes(**changes)

    def _start(self, run: Run, *, resume: bool, processes: int = 1) -> Run:
        try:
            record = launcher.launch(
                run.run_dir,
                resume=resume,
                processes=processes,
                # The trainer resolves model names in the same home as we did.
                extra_env={"FTUI_HOME": str(self.config.home)},
            )
        except OSError as exc:
            return self.store.update_run(
                run.id,
                status=RunStatus.FAILED,
                error=f"Could not start the training process: {exc}",
            )
        return self.store.update_run(
            run.id,
            status=RunStatus.QUEUED,
            message=f"Training process started (pid {record.pid}); log in "
            f"{run.run_dir / launcher.LOG_FILE}",
        )

    def run_config(self, run: Run) -> LocalTrainConfig:
        try:
            return LocalTrainConfig.from_dict(dict(run.config))
        except (ConfigError, TypeError) as exc:
            raise LaunchError(f"Run {run.id} has no usable local config: {exc}") from None

    async def resume(self, run_id: str) -> Run:
        """Continue a cancelled or failed run from its last checkpoint, in the same run."""
        run = await asyncio.to_thread(self._resumable, run_id)
        checked = await self.preflight(self.run_config(run))
        if not checked.ok:
            raise LaunchError("Cannot resume this run: " + " ".join(checked.problems))
        return await asyncio.to_thread(self._start, run, resume=True, processes=checked.processes)

    def _resumable(self, run_id: str) -> Run:
        run = self.owned_run(run_id)
        self.store.ingest_events(run.id)
        run = self.store.get_run(run.id)
        if launcher.is_running(run.run_dir):
            raise LaunchError(f"Run {run.id} is still running.")
        if run.status == RunStatus.SUCCEEDED:
            raise LaunchError(
                f"Run {run.id} already succeeded; use run again with changes to train more."
            )
        return run

    async def run_again(self, run_id: str, **changes: Any) -> Run:
        """A new run with this run's config and some settings changed."""
        run = await asyncio.to_thread(self.owned_run, run_id)
        try:
            job = self.run_config(run).with_changes(**changes)
        except TypeError as exc:
            raise LaunchError(str(exc)) from None
        return await self.launch(job)

    # -- stopping -----------------------------------------------------------------------------

    async def cancel(self, run_id: str, grace_s: float | None = None) -> Run:
        """SIGTERM (the trainer checkpoints and exits cancelled), SIGKILL after `grace_s`."""
        grace_s = launcher.DEFAULT_GRACE_S if grace_s is None else grace_s
        run = await asyncio.to_thread(self.owned_run, run_id)
        outcome = await launcher.stop(run.run_dir, grace_s)
        return await asyncio.to_thread(self._record_cancel, run.id, outcome, grace_s)

    def _record_cancel(self, run_id: str, outcome: str, grace_s: float) -> Run:
        self.store.ingest_events(run_id)
        run = self.store.get_run(run_id)
        if run.status in TERMINAL_STATUSES:
            return run
        if outcome == "killed":
            message = f"Killed after {grace_s:g} s without a graceful exit; checkpoints are kept."
        elif outcome == "not-running":
            message = "Cancelled before its process was running."
        else:
            message = "Cancelled; the process exited without writing its final status."
        return self.store.update_run(run.id, status=RunStatus.CANCELLED, message=message)

    async def checkpoint_now(self, run_id: str) -> Run:
        """Ask the training process to save a checkpoint at the end of its current step and train
        on (SIGUSR1); its log then says "Checkpoint requested at step N" and the checkpoint."""
        return await asyncio.to_thread(self._request_checkpoint, run_id)

    def _request_checkpoint(self, run_id: str) -> Run:
        run = self.owned_run(run_id)
        self.store.ingest_events(run.id)
        run = self.store.get_run(run.id)
        if run.is_terminal:
            raise LaunchError(f"Run {run.id} is {run.status}: there is no training to checkpoint.")
        record = launcher.read_process(run.run_dir)
        if record is not None and not record.local:
            raise LaunchError(
                f"Run {run.id} trains on {record.host}: ask for a checkpoint there "
                f"(`ftui train checkpoint {run.id}`)."
            )
        if not launcher.request_checkpoint(run.run_dir):
            raise LaunchError(f"Run {run.id} has no training process running here.")
        return run

    # -- after a restart ----------------------------------------------------------------------

    async def reattach(self) -> list[Run]:
        """Bring the store up to date with every local run that was not finished.

        Runs whose process is alive are returned (the UI tails their logs). A run whose process
        is gone without a final status is marked failed, with the last lines of its train.log.
        """
        return await asyncio.to_thread(self._reattach)

    def _reattach(self) -> list[Run]:
        unfinished = [s.value for s in RunStatus if s not in TERMINAL_STATUSES]
        active = self.store.list_runs(backend=BACKEND, status=unfinished, include_archived=True)
        alive: list[Run] = []
        for run in active:
            # The one liveness rule every reader uses: a process gone without a final status
            # is recorded failed with its last log lines (and a final status just written wins).
            self.store.ingest_events(run.id)
            run = liveness.check_run(self.store, self.store.get_run(run.id))
            if run.is_terminal:
                continue
            if launcher.read_process(run.run_dir) is not None:
                alive.append(run)
            elif time.time() - run.created_at > LAUNCH_TIMEOUT_S:
                self.store.update_run(
                    run.id,
                    status=RunStatus.FAILED,
                    error="ftui stopped while launching this run, so it never started; "
                    "launch it again (run again with changes keeps its settings).",
                )
        return alive

    def is_running(self, run_id: str) -> bool:
        return launcher.is_running(self.store.get_run(run_id).run_dir)
