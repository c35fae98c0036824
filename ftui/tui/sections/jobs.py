"""The Jobs section: launch a run on a backend (local LoRA / QLoRA, or OpenAI) and act on its runs.

`JobsPane(services)` is what the workbench mounts (the app's services root: its run history and
its backends); it works on its own in any App too. A choice at the top (ctrl+b) picks the
backend: its form is shown (the OpenAI one is `jobs_openai.OpenAIJobs`), and the table lists its
runs with the actions its `capabilities` offer. It starts on the OpenAI form for someone who can
only train there (an OpenAI key, no torch: a laptop), on the local form otherwise. Backends are
async: checks, launches, cancels, pauses and resumes are async workers awaiting them. Model
discovery and nvidia-smi run in thread workers and come back as messages. Nothing here imports
torch: the form reads models' config.json files only (torch is looked up, never imported), and
training happens in a detached process that outlives the app.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Label, Select, Static
from textual.worker import Worker, WorkerState

from ftui.core.training.local_config import LocalTrainConfig
from ftui.core.training.model_files import LocalModel, list_local_models
from ftui.services.backends.base import TrainingBackend
from ftui.services.backends.local import Capacity, LaunchError, Preflight, machine_capacity
from ftui.services.gpu import GpuInfo, detect_gpus
from ftui.services.root import Services
from ftui.services.store import Run
from ftui.tui.keymap import command
from ftui.tui.messages import RunLaunched, ShowSection
from ftui.tui.screens.confirm import CANCEL, KEEP_RUNNING, Choice, ConfirmScreen
from ftui.tui.sections.jobs_openai import OpenAIJobs
from ftui.tui.widgets.jobs_form import FormError, JobsLaunchForm
from ftui.tui.widgets.jobs_table import JOBS_SHOWN, JobsTable

ACTION_GROUP = "jobs-action"
REFRESH_GROUP = "jobs-refresh"
PLAN_DELAY_S = 0.3  # re-check the plan once typing pauses, not on every key
GPU_POLL_S = 2.0
LOCAL, OPENAI = "local", "openai"
BACKEND_CHOICES = [("local", LOCAL), ("OpenAI", OPENAI)]
# What a cancel does, per backend, in the question before it.
CANCEL_NOTES = {
    LOCAL: "It saves a checkpoint at the end of the current step and stops; r resumes it later.",
    OPENAI: "OpenAI stops the job and bills the tokens trained so far; it cannot be resumed.",
}


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


def torch_installed() -> bool:
    """Whether local training could run here: torch is importable (looked up, not imported)."""
    return importlib.util.find_spec("torch") is not None


def starting_backend(has_openai_key: bool, has_torch: bool) -> str:
    """The form the pane opens on: OpenAI for a key without torch, local otherwise."""
    return OPENAI if has_openai_key and not has_torch else LOCAL


def _key_of(action: str) -> str:
    binding = next(b for b in Binding.make_bindings(JobsPane.BINDINGS) if b.action == action)
    return str(binding.key_display or binding.key)


class JobsPane(Container):
    """Jobs: the runs table, the backend choice, its launch form and the plan beside it."""

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
            "Move to the table of runs (c cancel, p pause, r resume, a again with changes).",
            show=True,
            key_display="^j",
        ),
        command(
            "ctrl+b",
            "switch_backend",
            "Backend",
            "Switch the form and the table between local training and OpenAI fine-tuning.",
            key_display="^b",
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
        backend: str | None = None,
        torch_check: Callable[[], bool] | None = None,
        id: str | None = None,
    ) -> None:
        """`backend` None: the OpenAI form when a key is set and `torch_check()` (by default
        `torch_installed`) finds no torch, the local form otherwise."""
        super().__init__(id=id)
        self.services = services
        self.config = services.config
        self.initial_dataset = dataset  # the dataset open in the workbench, if any
        self.store = services.store
        self.backend = services.local
        if backend is None:
            has_torch = (torch_check or torch_installed)()
            backend = starting_backend(bool(self.config.openai.api_key), has_torch)
        self.backend_name = backend  # the backend the form and the table are on
        self._gpus: list[GpuInfo] = []
        self.capacity = capacity  # None: detected in a worker at mount
        self.refresh_interval = refresh_interval
        self.grace_s = grace_s
        self.checked: Preflight | None = None
        self._plan_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield JobsTable(id="jobs-table")
        with Horizontal(id="jobs-bar"):
            # Out of the footer (full at 80 columns): its key is written beside the choice.
            yield Label(f"{_key_of('switch_backend')} Backend", id="jobs-backend-label")
            yield Select[str](
                BACKEND_CHOICES,
                value=self.backend_name,
                allow_blank=False,
                id="jobs-backend",
                compact=True,
            )
            yield Static("Looking at this machine…", id="jobs-machine", markup=False)
        with Horizontal(id="jobs-main"):
            form = JobsLaunchForm(id="jobs-form")
            form.border_title = "New local run (LoRA / QLoRA)"
            yield form
            plan = Static(render_plan(None), id="jobs-plan")
            plan.border_title = "Plan"
            yield plan
        yield OpenAIJobs(self.services, dataset=self.initial_dataset, id="openai-main")

    def on_mount(self) -> None:
        if self.initial_dataset is not None:
            self.set_dataset(self.initial_dataset)
        self._discover(self.capacity)
        self._show_backend(initial=True)
        if self.refresh_interval:
            self.set_interval(self.refresh_interval, self._refresh_tick)

    @property
    def form(self) -> JobsLaunchForm:
        return self.query_one(JobsLaunchForm)

    @property
    def table(self) -> JobsTable:
        return self.query_one(JobsTable)

    @property
    def openai(self) -> OpenAIJobs:
        return self.query_one(OpenAIJobs)

    def set_dataset(self, path: Path) -> None:
        """The dataset open in the workbench becomes the forms' dataset."""
        self.form.set_dataset(path)
        self.openai.form.set_dataset(path)

    # -- the backend ----------------------------------------------------------------------------

    def action_switch_backend(self) -> None:
        self.query_one("#jobs-backend", Select).value = (
            OPENAI if self.backend_name == LOCAL else LOCAL
        )

    @on(Select.Changed, "#jobs-backend")
    def _backend_chosen(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str) and event.value != self.backend_name:
            self.backend_name = event.value
            self._show_backend()

    def _show_backend(self, *, initial: bool = False) -> None:
        """Show the chosen backend's form, its runs, and what it needs (the machine or a key)."""
        local = self.backend_name == LOCAL
        self.query_one("#jobs-main").display = local
        self.openai.display = not local
        if not local:
            self.openai.schedule_check()  # it does not read the data while hidden
        self.table.border_title = "Local runs" if local else "OpenAI jobs"
        if not initial:
            self.table.set_runs([])  # the other backend's runs until its own are read
        self._show_machine(self._gpus)
        self.refresh_jobs()
        self.refresh_bindings()

    def _table_backend(self) -> TrainingBackend[Any, Any]:
        return self.services.backend(self.backend_name)

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
        self._gpus = gpus
        line = self.query_one("#jobs-machine", Static)
        if self.backend_name == OPENAI:
            settings = self.config.openai
            where = settings.base_url or "api.openai.com"
            line.update(
                f"OpenAI at {where}: key set"
                if settings.api_key
                else "OpenAI: no API key (how to set one: on the right)"
            )
            return
        if self.capacity is None:
            line.update("Looking at this machine…")
            return
        text = self.capacity.describe() if not gpus else "; ".join(g.describe() for g in gpus)
        line.update(text)

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
        name = self.backend_name
        # Built on first use (its module and the store): not on the event loop.
        backend = await asyncio.to_thread(self.services.backend, name)
        # Reattaching marks local runs whose process died without a word as failed, and gives
        # an OpenAI job whose follower is gone a new one.
        await backend.reattach()
        runs = await asyncio.to_thread(self.store.list_runs, backend=name, limit=JOBS_SHOWN)
        if name == self.backend_name:  # not an answer for the backend shown before
            self.table.set_capabilities(backend.capabilities)
            self.table.set_runs(runs)

    @on(JobsTable.ActionRequested)
    def _table_action(self, event: JobsTable.ActionRequested) -> None:
        event.stop()
        run = event.run
        if event.action == "show":
            self.post_message(ShowSection("runs"))
        elif event.action == "again":
            if run.backend != LOCAL:
                self.notify(f"{run.backend} runs cannot be run again from here.", title="Jobs")
                return
            try:
                self.form.load_config(self.backend.run_config(run))
            except LaunchError as exc:
                self.notify(str(exc), title="Jobs", severity="error", markup=False)
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
                    CANCEL_NOTES.get(run.backend, "It stops the run."),
                    [Choice("y", "cancel-run", "Cancel the run", "error"), KEEP_RUNNING],
                ),
                decided,
            )
        elif event.action in ("pause", "resume"):
            if run.is_terminal:
                self.notify(f"Run {run.id} is already {run.status}.", title="Jobs")
                return
            self._act(event.action, run)

    @work(group=ACTION_GROUP, exit_on_error=False)
    async def _act(self, action: str, run: Run) -> None:
        # The backend that owns the run, asked what it can do first (never assumed local).
        backend = await asyncio.to_thread(self.services.backend_for, run)
        label = backend.capabilities.label
        if not getattr(backend.capabilities, action):
            self.post_message(JobActionDone(f"{label} runs cannot {action}.", "warning"))
            return
        if action == "cancel":
            self.post_message(JobActionDone(f"Stopping run {run.id}…"))
            done = await backend.cancel(run.id, self.grace_s)
            self.post_message(JobActionDone(f"Run {run.id} {done.status}."))
        elif action == "pause":
            paused = await backend.pause(run.id)
            self.post_message(JobActionDone(f"Run {run.id} {paused.status}; r resumes it."))
        elif run.backend == LOCAL:
            resumed = await backend.resume(run.id)
            self.post_message(JobActionDone(f"Run {resumed.id} resumes from its last checkpoint."))
        else:
            resumed = await backend.resume(run.id)
            self.post_message(JobActionDone(f"Run {resumed.id} resumed ({resumed.status})."))
        self.refresh_jobs()

    @on(JobActionDone)
    def _action_done(self, event: JobActionDone) -> None:
        event.stop()
        self.notify(event.message, title="Jobs", severity=event.severity, markup=False)  # type: ignore[arg-type]

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.group in (ACTION_GROUP, "jobs-launch"):
            self.notify(str(event.worker.error), title="Jobs", severity="error", markup=False)

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
        if self.backend_name == OPENAI:
            self.openai.launch()
            return
        try:
            config = self.form.read_config()
        except FormError as exc:
            self._show_plan(None, str(exc))
            self.form.focus_field(exc.field)
            self.notify(str(exc), title="Jobs", severity="error", markup=False)
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
        # Let it bubble: the workbench tells the Runs section; the table shows it now.
        if event.run.backend == LOCAL:
            self.notify(
                f"Run {event.run.id} started ({event.run.status}); it keeps going if ftui "
                "closes. Press 3 to watch it in Runs.",
                title="Jobs",
            )
        self.refresh_jobs()
        # Out of the form: there `3` would be typed into a field instead of opening Runs.
        self.table.focus()
