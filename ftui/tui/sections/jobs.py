"""The Jobs section: launch local LoRA / QLoRA runs from a form, and act on the local runs.

`JobsPane(services)` is what the workbench mounts (the app's services root: its run history and
its local backend); it works on its own in any App too. The backend is async: checks, launches,
cancels and resumes are async workers awaiting it. Model discovery and nvidia-smi run in thread
workers and come back as messages. Nothing here imports torch: the form reads models'
config.json files only, and training happens in a detached process that outlives the app.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Container, Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from ftui.core.training.local_config import LocalTrainConfig
from ftui.core.training.model_files import LocalModel, list_local_models
from ftui.services.backends.local import Capacity, LaunchError, Preflight, machine_capacity
from ftui.services.gpu import GpuInfo, detect_gpus
from ftui.services.root import Services
from ftui.services.store import Run
from ftui.tui.keymap import command
from ftui.tui.messages import ShowSection
from ftui.tui.screens.confirm import CANCEL, Choice, ConfirmScreen
from ftui.tui.widgets.jobs_form import FormError, JobsLaunchForm
from ftui.tui.widgets.jobs_table import JOBS_SHOWN, JobsTable

ACTION_GROUP = "jobs-action"
REFRESH_GROUP = "jobs-refresh"
PLAN_DELAY_S = 0.3  # re-check the plan once typing pauses, not on every key
GPU_POLL_S = 2.0


@dataclass
class MachineFound(Message):
    models: list[LocalModel] = field(repr=False)
    capacity: Capacity


@dataclass
class PlanReady(Message):
    checked: Preflight | None
    error: str | None = None
    full: bool = False  # a launch check (dataset validated), not a preview


@dataclass
class GpusRead(Message):
    gpus: list[GpuInfo]


@dataclass
class RunLaunched(Message):
    """Fact: a local run was started (it is in the store, so the Runs section lists it)."""

    run: Run


@dataclass
class JobActionDone(Message):
    message: str
    severity: str = "information"


def render_plan(checked: Preflight | None, error: str | None = None) -> Text:
    """The plan panel: the plan, then what blocks it (red) and what to know (yellow)."""
    text = Text()
    if error:
        text.append(f"✗ {error}\n", style="bold red")
        return text
    if checked is None:
        text.append("Fill in a dataset and a base model to see the plan.", style="dim")
        return text
    for line in checked.plan_lines():
        text.append(line + "\n")
    for problem in checked.problems:
        text.append(f"\n✗ {problem}\n", style="bold red")
    for warning in checked.warnings:
        text.append(f"\n! {warning}\n", style="yellow")
    if checked.ok:
        text.append("\nReady: ctrl+l checks the dataset and launches.", style="green")
    return text


class JobsPane(Container):
    """Local jobs: the runs table, the machine, the launch form and its plan."""

    COMMAND_GROUP = "Jobs"
    BINDINGS: ClassVar = [
        command(
            "ctrl+l",
            "launch",
            "Launch…",
            "Check the dataset and the model, show the plan and the memory estimate, then launch.",
            show=True,
            key_display="^l",
        ),
        command(
            "ctrl+j",
            "focus_jobs",
            "Jobs table",
            "Move to the table of local runs (c cancel, r resume, a again with changes).",
            show=True,
            key_display="^j",
        ),
    ]

    def __init__(
        self,
        services: Services,
        *,
        capacity: Capacity | None = None,
        refresh_interval: float | None = 3.0,
        grace_s: float = 120.0,
        dataset: Path | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.services = services
        self.config = services.config
        self.initial_dataset = dataset  # the dataset open in the workbench, if any
        self.store = services.store
        self.backend = services.local
        self.capacity = capacity  # None: detected in a worker at mount
        self.refresh_interval = refresh_interval
        self.grace_s = grace_s
        self.checked: Preflight | None = None
        self._plan_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield JobsTable(id="jobs-table")
        yield Static("Looking at this machine…", id="jobs-machine", markup=False)
        with Horizontal(id="jobs-main"):
            form = JobsLaunchForm(id="jobs-form")
            form.border_title = "New local run (LoRA / QLoRA)"
            yield form
            plan = Static(render_plan(None), id="jobs-plan")
            plan.border_title = "Plan"
            yield plan

    def on_mount(self) -> None:
        if self.initial_dataset is not None:
            self.set_dataset(self.initial_dataset)
        self._discover(self.capacity)
        self.refresh_jobs()
        if self.refresh_interval:
            self.set_interval(self.refresh_interval, self._refresh_tick)

    @property
    def form(self) -> JobsLaunchForm:
        return self.query_one(JobsLaunchForm)

    @property
    def table(self) -> JobsTable:
        return self.query_one(JobsTable)

    def set_dataset(self, path: Path) -> None:
        """The dataset open in the workbench becomes the form's dataset."""
        self.form.set_dataset(path)

    # -- the machine ----------------------------------------------------------------------------

    @work(thread=True, group="jobs-discover", exit_on_error=False)
    def _discover(self, capacity: Capacity | None) -> None:
        models = list_local_models(self.config.models_dir)
        self.post_message(MachineFound(models, capacity or machine_capacity()))

    @on(MachineFound)
    def _machine_found(self, event: MachineFound) -> None:
        event.stop()
        self.capacity = event.capacity
        self.form.set_models(event.models)
        self._show_machine(event.capacity.gpus)
        if event.capacity.gpus:
            self.set_interval(GPU_POLL_S, self._poll_gpus)
        self._schedule_plan()

    def _show_machine(self, gpus: list[GpuInfo]) -> None:
        if self.capacity is None:
            return
        text = self.capacity.describe() if not gpus else "; ".join(g.describe() for g in gpus)
        self.query_one("#jobs-machine", Static).update(text)

    @work(thread=True, exclusive=True, group="jobs-gpu", exit_on_error=False)
    def _poll_gpus(self) -> None:
        self.post_message(GpusRead(detect_gpus()))

    @on(GpusRead)
    def _gpus_read(self, event: GpusRead) -> None:
        event.stop()
        self._show_machine(event.gpus)

    # -- the runs -------------------------------------------------------------------------------

    def _refresh_tick(self) -> None:
        # A periodic refresh waits for the one in flight instead of replacing it: on a busy
        # machine a refresh may take longer than the interval, and replacing it each time would
        # never let one finish.
        running = (w for w in self.workers if w.node is self and w.group == REFRESH_GROUP)
        if all(worker.is_finished for worker in running):
            self.refresh_jobs()

    @work(exclusive=True, group=REFRESH_GROUP, exit_on_error=False)
    async def refresh_jobs(self) -> None:
        # Reattaching also marks runs whose process died without a word as failed.
        await self.backend.reattach()
        runs = await asyncio.to_thread(
            self.store.list_runs, backend=self.backend.name, limit=JOBS_SHOWN
        )
        self.table.set_runs(runs)

    @on(JobsTable.ActionRequested)
    def _table_action(self, event: JobsTable.ActionRequested) -> None:
        event.stop()
        run = event.run
        if event.action == "show":
            self.post_message(ShowSection("runs"))
        elif event.action == "again":
            try:
                self.form.load_config(self.backend.run_config(run))
            except LaunchError as exc:
                self.notify(str(exc), title="Jobs", severity="error")
                return
            self.form.focus_field("dataset_path")
            self.notify(f"Settings of run {run.id} loaded: change what you want, then ctrl+l.")
        elif event.action == "cancel":
            if run.is_terminal:
                self.notify(f"Run {run.id} is already {run.status}.", title="Jobs")
                return

            def decided(choice: str | None) -> None:
                if choice == "cancel-run":
                    self._act("cancel", run)

            self.app.push_screen(
                ConfirmScreen(
                    f"Cancel run {run.id}?",
                    "It saves a checkpoint at the end of the current step and stops; "
                    "r resumes it later.",
                    [Choice("y", "cancel-run", "Cancel the run", "error"), CANCEL],
                ),
                decided,
            )
        elif event.action == "resume":
            self._act("resume", run)

    @work(group=ACTION_GROUP, exit_on_error=False)
    async def _act(self, action: str, run: Run) -> None:
        if action == "cancel":
            self.post_message(JobActionDone(f"Stopping run {run.id}…"))
            done = await self.backend.cancel(run.id, self.grace_s)
            self.post_message(JobActionDone(f"Run {run.id} {done.status}."))
        else:
            resumed = await self.backend.resume(run.id)
            self.post_message(JobActionDone(f"Run {resumed.id} resumes from its last checkpoint."))
        self.refresh_jobs()

    @on(JobActionDone)
    def _action_done(self, event: JobActionDone) -> None:
        event.stop()
        self.notify(event.message, title="Jobs", severity=event.severity)  # type: ignore[arg-type]

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.group in (ACTION_GROUP, "jobs-launch"):
            self.notify(str(event.worker.error), title="Jobs", severity="error")

    # -- the plan -------------------------------------------------------------------------------

    @on(JobsLaunchForm.Edited)
    def _form_edited(self, event: JobsLaunchForm.Edited) -> None:
        event.stop()
        self._schedule_plan()

    def _schedule_plan(self) -> None:
        if self._plan_timer is not None:
            self._plan_timer.stop()
        self._plan_timer = self.set_timer(PLAN_DELAY_S, self._plan_now)

    def _plan_now(self) -> None:
        self._plan_timer = None
        try:
            config = self.form.read_config()
        except FormError as exc:
            self._show_plan(None, str(exc))
            return
        self._check(config, full=False)

    @work(exclusive=True, group="jobs-plan", exit_on_error=False)
    async def _check(self, config: LocalTrainConfig, full: bool) -> None:
        try:
            checked = await self.backend.preflight(config, capacity=self.capacity, validate=full)
        except Exception as exc:  # a check that breaks must say so, not freeze the form
            self.post_message(PlanReady(None, f"The check failed: {exc}", full))
            return
        self.post_message(PlanReady(checked, None, full))

    @on(PlanReady)
    def _plan_ready(self, event: PlanReady) -> None:
        event.stop()
        self._show_plan(event.checked, event.error)
        if not event.full:
            return
        if event.checked is None or not event.checked.ok:
            count = len(event.checked.problems) if event.checked else 1
            self.notify(
                f"Cannot launch: {count} problem(s), listed in the plan.",
                title="Jobs",
                severity="error",
            )
            return
        self._confirm_launch(event.checked)

    def _show_plan(self, checked: Preflight | None, error: str | None) -> None:
        self.checked = checked
        self.query_one("#jobs-plan", Static).update(render_plan(checked, error))

    # -- launching ------------------------------------------------------------------------------

    def action_launch(self) -> None:
        try:
            config = self.form.read_config()
        except FormError as exc:
            self._show_plan(None, str(exc))
            self.form.focus_field(exc.field)
            self.notify(str(exc), title="Jobs", severity="error")
            return
        self.notify("Checking the dataset and the model…", title="Jobs")
        self._check(config, full=True)

    def action_focus_jobs(self) -> None:
        self.table.focus()

    def _confirm_launch(self, checked: Preflight) -> None:
        body = "\n".join(checked.plan_lines())
        if checked.warnings:
            body += "\n\n" + "\n".join(f"! {w}" for w in checked.warnings)
        body += "\n\nThe run goes on in the background if ftui closes or the connection drops."

        def decided(choice: str | None) -> None:
            if choice == "launch":
                self._launch(checked)

        self.app.push_screen(
            ConfirmScreen(
                "Launch this local run?",
                body,
                [Choice("y", "launch", "Launch", "primary"), CANCEL],
            ),
            decided,
        )

    @work(group="jobs-launch", exit_on_error=False)
    async def _launch(self, checked: Preflight) -> None:
        run = await self.backend.launch(checked.config, checked=checked)
        self.post_message(RunLaunched(run))

    @on(RunLaunched)
    def _launched(self, event: RunLaunched) -> None:
        # Let it bubble: the workbench may follow the new run; the table shows it now.
        self.notify(
            f"Run {event.run.id} started ({event.run.status}); it keeps going if ftui closes. "
            "Press 3 to watch it in Runs.",
            title="Jobs",
        )
        self.refresh_jobs()
