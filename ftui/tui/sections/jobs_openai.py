"""The OpenAI side of the Jobs section: the job form, its check and cost, and the launch.

`OpenAIJobs(services)` is mounted by `JobsPane` beside the local form and shown when the backend
choice is OpenAI. Every check runs in an async worker awaiting the backend (`preflight` reads and
tokenizes the data in a thread), so typing never waits for it:

- after each pause in typing, the cheap preview (`validate=False`: the settings, the key, the
  model's price) and then the data check (findings with their lines, examples, billed tokens,
  cost). The data check is redone only when what it depends on changes (the files, the model,
  the method, the epochs); a new suffix or seed reuses the last one.
- ctrl+l (the pane's command) runs the full gate again: errors refuse the launch, listed with
  their file and line; otherwise a confirmation shows the cost and any warnings before anything
  is uploaded, and the launch reports its steps (uploading, creating the job) as it goes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from ftui.config import settings_path
from ftui.services.backends.base import LaunchError
from ftui.services.backends.openai_client import HOW_TO_SET_KEY, scrub
from ftui.services.root import Services
from ftui.tui.messages import RunLaunched
from ftui.tui.screens.confirm import CANCEL, Choice, ConfirmScreen
from ftui.tui.widgets.jobs_form import FormError
from ftui.tui.widgets.openai_form import OpenAILaunchForm

if TYPE_CHECKING:
    from ftui.core.training.openai_job import OpenAIJobConfig
    from ftui.services.backends.openai import OpenAIBackend, OpenAIPlan

CHECK_GROUP = "openai-check"
GATE_GROUP = "openai-gate"
LAUNCH_GROUP = "openai-launch"
CHECK_DELAY_S = 0.3  # re-check once typing pauses, not on every key


@dataclass
class ModelsListed(Message):
    models: list[str]


@dataclass
class CheckReady(Message):
    """A check of the form's job: a preview (`data_checked` False) or with the data read."""

    plan: OpenAIPlan | None = field(repr=False)
    error: str | None = None
    data_checked: bool = False
    gate: bool = False  # the launch's own check (ctrl+l), which leads to the confirmation


@dataclass
class LaunchProgress(Message):
    step: str


@dataclass
class LaunchFailed(Message):
    reason: str


def _file_state(path: Any) -> tuple[str, int, int] | None:
    if not path:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return (str(path), -1, -1)
    return (str(path), stat.st_mtime_ns, stat.st_size)


def data_key(job: OpenAIJobConfig) -> tuple[Any, ...]:
    """What the data check depends on: the files as they are on disk, the model, the method and
    the epochs (the bill's multiplier)."""
    return (
        _file_state(job.dataset),
        _file_state(job.validation_file),
        job.model,
        job.method,
        job.n_epochs,
    )


def _suffix_after(full: list[str], prefix: list[str]) -> list[str] | None:
    return full[len(prefix) :] if full[: len(prefix)] == prefix else None


@dataclass(frozen=True)
class DataCheck:
    """A data check kept for reuse: the full plan and the preview of the same job, whose
    problems and warnings it starts with (the rest are the data's)."""

    key: tuple[Any, ...]
    full: OpenAIPlan
    preview: OpenAIPlan

    def applied_to(self, preview: OpenAIPlan) -> OpenAIPlan | None:
        """The data's findings and cost with a newer preview's settings; None if it cannot be
        told which problems were the data's."""
        problems = _suffix_after(self.full.problems, self.preview.problems)
        warnings = _suffix_after(self.full.warnings, self.preview.warnings)
        if problems is None or warnings is None:
            return None
        return dataclasses.replace(
            self.full,
            job=preview.job,
            problems=preview.problems + problems,
            warnings=preview.warnings + warnings,
            has_key=preview.has_key,
        )


def render_openai_plan(
    plan: OpenAIPlan | None,
    *,
    error: str | None = None,
    data_checked: bool = False,
    progress: list[str] | None = None,
) -> Text:
    """The check panel: the job and its cost, then what refuses it (red, with the file and line
    of each error), what to confirm (yellow), and the launch's steps."""
    text = Text()
    if error:
        text.append(f"✗ {error}\n", style="bold red")
        return text
    if plan is None:
        text.append("Fill in a dataset to see the check and the cost.", style="dim")
        return text
    for line in plan.plan_lines():
        text.append(line + "\n")
    if not data_checked:
        text.append("\nReading the data…\n", style="dim")
    # The problems name each error's file and line (the gate lists the first few of each file).
    for problem in plan.problems:
        text.append(f"\n✗ {problem}\n", style="bold red")
        if HOW_TO_SET_KEY in problem:
            text.append(f"  The settings file: {settings_path(os.environ)}\n", style="red")
    for warning in plan.warnings:
        text.append(f"\n! {warning}\n", style="yellow")
    if progress:
        text.append("\n")
        for step in progress:
            text.append(step + "\n", style="bold")
    elif plan.ok and data_checked:
        confirm = " (warnings to confirm)" if plan.needs_confirmation else ""
        text.append(f"\nReady{confirm}: ctrl+l asks, then uploads and starts.", style="green")
    return text


class OpenAIJobs(Horizontal):
    """The OpenAI job form and, beside it, its check and cost."""

    def __init__(self, services: Services, *, dataset: Any = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.services = services
        self.initial_dataset = dataset
        self.plan: OpenAIPlan | None = None
        self.data_checked = False
        self.launching = False
        self.progress: list[str] = []
        self._data_check: DataCheck | None = None
        self._check_timer: Timer | None = None
        self._plan_error: str | None = None

    def compose(self) -> ComposeResult:
        form = OpenAILaunchForm(id="openai-form")
        form.border_title = "New OpenAI fine-tuning job"
        yield form
        # Scrolls (Tab reaches it) when the findings are longer than the pane.
        with VerticalScroll(id="openai-plan") as plan:
            plan.border_title = "Check and cost"
            yield Static(render_openai_plan(None), id="openai-plan-text")

    def on_mount(self) -> None:
        if self.initial_dataset is not None:
            self.form.set_dataset(self.initial_dataset)
        self._list_models()

    @property
    def form(self) -> OpenAILaunchForm:
        return self.query_one(OpenAILaunchForm)

    async def _backend(self) -> OpenAIBackend:
        # Built on first use: that imports the store and the backend's module, not on the loop.
        return await asyncio.to_thread(lambda: self.services.openai)

    @work(group="openai-models", exit_on_error=False)
    async def _list_models(self) -> None:
        backend = await self._backend()
        self.post_message(ModelsListed(backend.models()))

    @on(ModelsListed)
    def _models_listed(self, event: ModelsListed) -> None:
        event.stop()
        self.form.set_models(event.models)
        self.schedule_check()

    # -- the live check -------------------------------------------------------------------------

    @on(OpenAILaunchForm.Edited)
    def _edited(self, event: OpenAILaunchForm.Edited) -> None:
        event.stop()
        self.schedule_check()

    def schedule_check(self) -> None:
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check_timer = self.set_timer(CHECK_DELAY_S, self._check_now)

    def _check_now(self) -> None:
        self._check_timer = None
        if not self.display:
            return  # hidden behind the local form: checked when it is shown (the pane asks)
        try:
            job = self.form.read_job()
        except FormError as exc:
            self._show(None, error=str(exc))
            return
        self._check(job)

    @work(exclusive=True, group=CHECK_GROUP, exit_on_error=False)
    async def _check(self, job: OpenAIJobConfig) -> None:
        try:
            backend = await self._backend()
            preview = await backend.preflight(job, validate=False)
            reuse = self._data_check
            key = await asyncio.to_thread(data_key, preview.job)
            if reuse is not None and reuse.key == key:
                combined = reuse.applied_to(preview)
                if combined is not None:
                    self.post_message(CheckReady(combined, data_checked=True))
                    return
            self.post_message(CheckReady(preview))
            full = await backend.preflight(job)
        except Exception as exc:  # a check that breaks says so, and the form stays usable
            self.post_message(CheckReady(None, f"The check failed: {self._scrub(exc)}"))
            return
        self._data_check = DataCheck(key, full, preview)
        self.post_message(CheckReady(full, data_checked=True))

    @on(CheckReady)
    def _check_ready(self, event: CheckReady) -> None:
        event.stop()
        if self.launching:
            return  # the panel shows the launch's steps until it is done
        self._show(event.plan, error=event.error, data_checked=event.data_checked)
        if event.gate:
            self._gate_done(event.plan, event.error)

    def _show(
        self, plan: OpenAIPlan | None, *, error: str | None = None, data_checked: bool = False
    ) -> None:
        self.plan = plan
        self._plan_error = error
        self.data_checked = data_checked
        self._repaint_plan()

    def _repaint_plan(self) -> None:
        self.query_one("#openai-plan-text", Static).update(
            render_openai_plan(
                self.plan,
                error=self._plan_error,
                data_checked=self.data_checked,
                progress=self.progress,
            )
        )

    def _scrub(self, exc: BaseException) -> str:
        return scrub(str(exc), self.services.config.openai.api_key)

    # -- launching ------------------------------------------------------------------------------

    def launch(self) -> None:
        """ctrl+l: the full gate, then the confirmation, then the launch."""
        if self.launching:
            self.notify("A launch is under way.", title="Jobs")
            return
        try:
            job = self.form.read_job()
        except FormError as exc:
            self._show(None, error=str(exc))
            self.form.focus_field(exc.field)
            self.notify(str(exc), title="Jobs", severity="error", markup=False)
            return
        self.progress = []
        self.notify("Checking the data and the cost…", title="Jobs")
        self._gate(job)

    @work(exclusive=True, group=GATE_GROUP, exit_on_error=False)
    async def _gate(self, job: OpenAIJobConfig) -> None:
        try:
            backend = await self._backend()
            plan = await backend.preflight(job)
        except Exception as exc:
            self.post_message(CheckReady(None, f"The check failed: {self._scrub(exc)}", gate=True))
            return
        self._data_check = None  # the next live check reads the data as the gate found it
        self.post_message(CheckReady(plan, data_checked=True, gate=True))

    def _gate_done(self, plan: OpenAIPlan | None, error: str | None) -> None:
        if plan is None or not plan.ok:
            if plan is not None and not plan.has_key:
                message = "Cannot launch: no OpenAI API key. " + HOW_TO_SET_KEY
            else:
                count = len(plan.problems) if plan else 1
                message = f"Cannot launch: {count} problem(s), listed beside the form."
            self.notify(message, title="Jobs", severity="error", markup=False)
            return
        self._confirm(plan)

    def _confirm(self, plan: OpenAIPlan) -> None:
        body = "\n".join(plan.plan_lines())
        if plan.warnings:
            body += "\n\nWarnings (confirm to go on anyway):\n" + "\n".join(
                f"! {warning}" for warning in plan.warnings
            )
        body += (
            "\n\nNothing has been sent yet. Confirming uploads the data and creates the job; "
            "it goes on on OpenAI if ftui closes."
        )
        label = "Start despite the warnings" if plan.needs_confirmation else "Upload and start"

        def decided(choice: str | None) -> None:
            if choice == "launch":
                self._launch(plan)

        self.app.push_screen(
            ConfirmScreen(
                f"Start this OpenAI job? Cost: {plan.cost_line()}",
                body,
                [Choice("y", "launch", label, "primary"), CANCEL],
            ),
            decided,
        )

    @work(exclusive=True, group=LAUNCH_GROUP, exit_on_error=False)
    async def _launch(self, plan: OpenAIPlan) -> None:
        self.post_message(LaunchProgress("Starting…"))
        try:
            backend = await self._backend()

            def tell(step: str) -> None:
                self.post_message(LaunchProgress(step))

            run = await backend.launch(plan.job, checked=plan, progress=tell)
        except LaunchError as exc:
            self.post_message(LaunchFailed(self._scrub(exc)))
            return
        except Exception as exc:  # never a traceback on screen: the reason, without the key
            self.post_message(LaunchFailed(f"The launch failed: {self._scrub(exc)}"))
            return
        self.post_message(LaunchProgress(f"Started: run {run.id}, OpenAI job {run.remote_job_id}."))
        self.post_message(RunLaunched(run))

    @on(LaunchProgress)
    def _launch_progress(self, event: LaunchProgress) -> None:
        event.stop()
        if event.step == "Starting…":
            self.launching = True
            self.progress = []
        self.progress.append(event.step)
        self._repaint_plan()

    @on(LaunchFailed)
    def _launch_failed(self, event: LaunchFailed) -> None:
        event.stop()
        self.launching = False
        self.progress.append(f"✗ Not started: {event.reason}")
        self._repaint_plan()
        self.notify(event.reason, title="Jobs: not started", severity="error", markup=False)

    @on(RunLaunched)
    def _launched(self, event: RunLaunched) -> None:
        # Bubbles on: the pane refreshes its table, the workbench the Runs section.
        self.launching = False
        self._repaint_plan()
        self.notify(
            f"Run {event.run.id} started on OpenAI (job {event.run.remote_job_id}, "
            f"{event.run.remote_status}); it goes on if ftui closes. Press 3 to follow it in Runs.",
            title="Jobs",
        )
