"""The OpenAI fine-tuning backend: check, upload once, create the job, follow it, act on it.

The second implementation of `TrainingBackend`. A run is recorded in the store like a local one
(backend "openai"), and its `events.jsonl` is written by a detached follower process
(`openai_follower`) that polls the job, so `ftui runs`, the Runs pane and `follow_run` show it
with no code of their own. The pieces, each in its module:

- `openai_preflight`: the gate (the data's errors, warnings to confirm, the cost);
- `openai_client`: the client from the `[openai]` settings, retries, clear messages;
- `openai_uploads`: the same bytes are uploaded once per account;
- `openai_follower`: the follower process and the one-poll `Follower.sync` (imports use it too).

Cancel, pause and resume call the API and write what the job says into the run's log at once
(the follower sees those lines and does not repeat them). A run whose follower is gone is never
marked failed: `reattach` (and liveness) start another one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ftui.core.pricing.models import DEFAULT_OPENAI_MODEL, fine_tunable_models
from ftui.core.runs.events import TERMINAL_STATUSES, RunStatus
from ftui.core.runs.kinds import LogEvent, RunEvent
from ftui.services.backends.base import Capabilities, LaunchError, TrainingBackend
from ftui.services.backends.openai_client import (
    DEFAULT_POLICY,
    OpenAIProblem,
    RetryPolicy,
    account_name,
    build_client,
    call,
    settings_without_key,
)
from ftui.services.backends.openai_follower import (
    Follower,
    ensure_follower,
    is_following,
    start_follower,
)
from ftui.services.backends.openai_preflight import OpenAIPlan, PlanFinding, preflight
from ftui.services.backends.openai_uploads import upload_once
from ftui.services.store import Run

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from ftui.core.training.openai_job import OpenAIJobConfig

__all__ = ["BACKEND", "OpenAIBackend", "OpenAIPlan", "PlanFinding"]

BACKEND = "openai"
RUN_TAG = "ftui_run"  # metadata key naming the run, so a retried create finds its own job
MAX_METADATA_PAIRS = 16
Progress = Callable[[str], None]


class OpenAIBackend(TrainingBackend["OpenAIJobConfig", OpenAIPlan]):
    """Fine-tuning jobs on OpenAI (or an OpenAI-compatible server), recorded in a RunStore."""

    name: ClassVar[str] = BACKEND
    capabilities: ClassVar[Capabilities] = Capabilities(
        label="OpenAI",
        cancel=True,
        pause=True,
        resume=True,
        cost_estimate=True,
        needs_api_key=True,
        survives_exit=True,
    )
    default_model: ClassVar[str] = DEFAULT_OPENAI_MODEL
    # Whether launch and reattach start follower processes (a test drives a Follower itself).
    start_followers: bool = True
    policy: RetryPolicy = DEFAULT_POLICY

    @staticmethod
    def models() -> list[str]:
        """The fine-tunable models, with prices in `ftui.core.pricing.models`."""
        return fine_tunable_models()

    def with_default_model(self, job: OpenAIJobConfig) -> OpenAIJobConfig:
        """The job with the default base model when it names none."""
        return job if job.model else dataclasses.replace(job, model=self.default_model)

    def client(self) -> AsyncOpenAI:
        """A client from the settings; `MissingKey` (with how to set one) without a key."""
        return build_client(self.config.openai)

    async def _call(self, operation: Callable[[], Any], what: str) -> Any:
        secret = self.config.openai.api_key
        return await call(operation, what=what, policy=self.policy, secret=secret)

    # -- launching ----------------------------------------------------------------------------

    async def preflight(self, job: OpenAIJobConfig, *, validate: bool = True) -> OpenAIPlan:
        """The gate and the cost; `validate=False` skips reading the data (a live preview)."""
        job = self.with_default_model(job)
        return await asyncio.to_thread(preflight, job, self.config, validate=validate)

    async def launch(
        self,
        job: OpenAIJobConfig,
        *,
        checked: OpenAIPlan | None = None,
        run_id: str | None = None,
        progress: Progress | None = None,
    ) -> Run:
        """Check (unless a passing plan is given), record the run, upload, create the job, start
        its follower. A failure before the job exists fails the run with the reason (nothing
        runs on OpenAI); `progress` hears each step ("Uploading train.jsonl...")."""
        job = self.with_default_model(job)
        plan = checked if checked is not None else await self.preflight(job)
        if not plan.ok:
            raise LaunchError("Cannot start this job: " + " ".join(plan.problems))
        tell = progress or (lambda _message: None)
        client = self.client()
        run = await asyncio.to_thread(self._record, job, plan, run_id)
        try:
            remote = await self._upload_and_create(client, job, run, tell)
        except OpenAIProblem as problem:
            await asyncio.to_thread(
                self.store.update_run,
                run.id,
                status=RunStatus.FAILED,
                error=f"Nothing was started on OpenAI: {problem}",
                cost_usd=None,  # the estimate was never spent
            )
            raise
        finally:
            await client.close()
        return await asyncio.to_thread(self._started, run, remote)

    def _record(self, job: OpenAIJobConfig, plan: OpenAIPlan, run_id: str | None) -> Run:
        config = {**job.to_json_dict(), "openai": settings_without_key(self.config.openai)}
        run = self.store.create_run(
            backend=BACKEND,
            base_model=job.model,
            config=config,
            dataset_path=Path(job.dataset),
            validation_path=Path(job.validation_file) if job.validation_file else None,
            run_id=run_id,
            dataset_summary=plan.dataset_summary,
        )
        epochs = float(plan.epochs) if plan.epochs is not None else None
        return self.store.update_run(run.id, cost_usd=plan.cost_usd, epochs=epochs)

    async def _upload_and_create(
        self, client: AsyncOpenAI, job: OpenAIJobConfig, run: Run, tell: Progress
    ) -> dict[str, Any]:
        account = account_name(self.config.openai)
        secret = self.config.openai.api_key
        file_ids: list[str | None] = []
        for path in (job.dataset, job.validation_file):
            if not path:
                file_ids.append(None)
                continue
            tell(f"Uploading {Path(path).name}...")
            uploaded = await upload_once(
                client, self.store, Path(path), account=account, secret=secret, policy=self.policy
            )
            note = "reused (same bytes uploaded before)" if uploaded.reused else "uploaded"
            await asyncio.to_thread(
                self._log, run.id, f"{Path(path).name}: {note} as {uploaded.file_id}"
            )
            file_ids.append(uploaded.file_id)
        params = job.create_params(file_ids[0] or "", file_ids[1])
        metadata = dict(params.get("metadata") or {})
        if len(metadata) < MAX_METADATA_PAIRS:
            metadata[RUN_TAG] = run.id
            params["metadata"] = metadata
        tell("Creating the fine-tuning job...")
        return await self._create_job(client, params, run.id)

    async def _create_job(
        self, client: AsyncOpenAI, params: Mapping[str, Any], run_id: str
    ) -> dict[str, Any]:
        """Create the job once: a retry after a timeout or a dropped connection first looks for
        the job the lost answer may have created (by its metadata tag), so none is paid twice."""
        attempts = 0

        async def create() -> Any:
            nonlocal attempts
            attempts += 1
            if attempts > 1 and RUN_TAG in (params.get("metadata") or {}):
                page = await client.fine_tuning.jobs.list(limit=20)
                for item in page.data:
                    if (item.metadata or {}).get(RUN_TAG) == run_id:
                        return item
            return await client.fine_tuning.jobs.create(**params)

        job = await self._call(create, "create the fine-tuning job")
        return dict(job.model_dump())

    def _started(self, run: Run, job: Mapping[str, Any]) -> Run:
        from ftui.core.runs.openai import job_to_run_events

        self._write(run.id, job_to_run_events(job, None, now=time.time()))
        run = self.store.get_run(run.id)
        if run.remote_job_id is None:  # the translation always names the job; be sure of it
            from ftui.core.runs.kinds import RemoteJobEvent

            self._write(run.id, [RemoteJobEvent(job_id=str(job["id"]))])
        self._start_follower(run.id, str(job["id"]))
        return self.store.get_run(run.id)

    def _start_follower(self, run_id: str, job_id: str) -> None:
        if not self.start_followers:
            return
        run = self.store.get_run(run_id)
        try:
            start_follower(run.run_dir, job_id, self.config.openai)
        except OSError as exc:
            self._log(
                run_id,
                f"Could not start the follower ({exc}); any ftui command starts it again.",
                "warning",
            )

    def _write(self, run_id: str, events: list[RunEvent]) -> None:
        for event in events:
            self.store.append_event(run_id, event)

    def _log(self, run_id: str, message: str, level: str = "info") -> None:
        self.store.append_event(run_id, LogEvent(ts=time.time(), message=message, level=level))

    # -- acting on a job ----------------------------------------------------------------------

    def _remote(self, run_id: str) -> Run:
        run = self.owned_run(run_id)
        self.store.ingest_events(run.id)
        run = self.store.get_run(run.id)
        if not run.remote_job_id:
            raise LaunchError(f"Run {run.id} has no OpenAI job (it never started).")
        return run

    async def _act(self, run_id: str, action: str) -> Run:
        run = await asyncio.to_thread(self._remote, run_id)
        if run.status in TERMINAL_STATUSES:
            raise LaunchError(f"Run {run.id} already {run.status}; there is nothing to {action}.")
        job_id = run.remote_job_id
        assert job_id is not None
        client = self.client()
        try:
            jobs = client.fine_tuning.jobs
            method = {"cancel": jobs.cancel, "pause": jobs.pause, "resume": jobs.resume}[action]
            job = await self._call(lambda: method(job_id), f"{action} job {job_id}")
        finally:
            await client.close()
        return await asyncio.to_thread(self._record_job, run.id, dict(job.model_dump()))

    def _record_job(self, run_id: str, job: Mapping[str, Any]) -> Run:
        from ftui.core.runs.openai import job_to_run_events, recorded_job

        run = self.store.get_run(run_id)
        previous = recorded_job(run.remote_job_id, run)
        self._write(run.id, job_to_run_events(job, previous, now=time.time()))
        run = self.store.get_run(run.id)
        if not run.is_terminal:
            self._ensure_follower(run)
        return self.store.get_run(run.id)

    async def cancel(self, run_id: str, grace_s: float | None = None) -> Run:
        """Cancel the job (OpenAI stops it and bills what was trained)."""
        return await self._act(run_id, "cancel")

    async def pause(self, run_id: str) -> Run:
        """Pause the job; `resume` continues it. Its status is OpenAI's own ("paused")."""
        return await self._act(run_id, "pause")

    async def resume(self, run_id: str) -> Run:
        """Resume a paused job."""
        return await self._act(run_id, "resume")

    # -- after a restart ----------------------------------------------------------------------

    def _ensure_follower(self, run: Run) -> str:
        if not self.start_followers or run.is_terminal:
            return "off"
        return ensure_follower(run.run_dir, run.remote_job_id, self.config.openai)

    async def reattach(self) -> list[Run]:
        """Every unfinished OpenAI run gets a follower if it has none; never marked failed."""
        return await asyncio.to_thread(self._reattach)

    def _reattach(self) -> list[Run]:
        # Statuses ftui does not know (a paused job's) are unfinished too: not a status filter.
        runs = [
            run
            for run in self.store.list_runs(backend=BACKEND, include_archived=True)
            if not run.is_terminal
        ]
        alive = []
        for run in runs:
            self.store.ingest_events(run.id)
            run = self.store.get_run(run.id)
            if run.is_terminal:
                continue
            self._ensure_follower(run)
            alive.append(run)
        return alive

    def is_following(self, run_id: str) -> bool:
        return is_following(self.store.get_run(run_id).run_dir)

    # -- the account's jobs -------------------------------------------------------------------

    async def list_jobs(self, *, limit: int = 20, after: str | None = None) -> list[dict[str, Any]]:
        """The account's jobs, newest first, each with `ftui_run_id` when the history has it."""
        client = self.client()
        try:
            kwargs: dict[str, Any] = {"limit": limit}
            if after:
                kwargs["after"] = after
            page = await self._call(
                lambda: client.fine_tuning.jobs.list(**kwargs), "list the fine-tuning jobs"
            )
        finally:
            await client.close()
        jobs = [dict(item.model_dump()) for item in page.data]
        for job in jobs:
            job["ftui_run_id"] = await asyncio.to_thread(self.store.run_for_remote_job, job["id"])
        return jobs

    async def import_job(self, job_id: str) -> Run:
        """Put a job of the account into the history, its events back-filled; a job already
        there returns its run. An unfinished one gets a follower."""
        existing = await asyncio.to_thread(self.store.run_for_remote_job, job_id)
        if existing is not None:
            return await asyncio.to_thread(self.store.get_run, existing)
        client = self.client()
        try:
            job = dict(
                (
                    await self._call(
                        lambda: client.fine_tuning.jobs.retrieve(job_id), f"read job {job_id}"
                    )
                ).model_dump()
            )
            run = await asyncio.to_thread(self._record_import, job)
            follower = Follower(
                client, run.run_dir, job_id, secret=self.config.openai.api_key, policy=self.policy
            )
            try:
                await follower.sync()
            finally:
                follower.close()
        finally:
            await client.close()
        return await asyncio.to_thread(self._imported, run.id, job_id)

    def _record_import(self, job: Mapping[str, Any]) -> Run:
        from ftui.core.runs.kinds import RemoteJobEvent

        config = {
            "imported": True,
            "model": job.get("model"),
            "method": job.get("method"),
            "training_file": job.get("training_file"),
            "validation_file": job.get("validation_file"),
            "suffix": job.get("user_provided_suffix"),
            "seed": job.get("seed"),
            "metadata": job.get("metadata"),
            "openai": settings_without_key(self.config.openai),
        }
        run = self.store.create_run(
            backend=BACKEND,
            base_model=str(job.get("model") or "unknown"),
            config=config,
            created_at=job.get("created_at"),
        )
        self._write(run.id, [RemoteJobEvent(job_id=str(job["id"]), message="imported")])
        return self.store.get_run(run.id)

    def _imported(self, run_id: str, job_id: str) -> Run:
        self.store.ingest_events(run_id)
        run = self.store.get_run(run_id)
        if not run.is_terminal:
            self._start_follower(run.id, job_id)
        return self.store.get_run(run.id)
