"""The workbench screen: header, the sections (one shown at a time) and the footer.

The screen is where siblings meet: the Data section reports its state and the header shows it; the
Runs section asks for a dataset and the Data section opens it. Sections other than Data are built
on first visit, their modules imported in a thread so that neither start-up nor the keyboard waits
for SQLite or the training stack.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from textual import events, on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer

from ftui.services.root import Services
from ftui.tui.messages import (
    DatasetStateChanged,
    JudgeRun,
    OpenDataset,
    RunLaunched,
    ShowSection,
)
from ftui.tui.sections.data.section import DataSection
from ftui.tui.sections.slot import (
    SECTIONS,
    BackendsDetected,
    SectionModulesLoaded,
    SectionSlot,
    detect_backends,
    import_section_modules,
)
from ftui.tui.widgets.header import WorkbenchHeader

__all__ = ["SECTIONS", "WorkbenchScreen"]


class WorkbenchScreen(Screen[None]):
    COMMAND_GROUP = "Workbench"
    REATTACH_DELAY_S = 2.0

    def __init__(
        self, services: Services, path: Path | None = None, *, fmt: str | None = None
    ) -> None:
        super().__init__(id="workbench")
        self.services = services
        self.config = services.config
        self._initial_path = path
        self._fmt = fmt
        # "Judge this run" (and the model to judge as B) before the Judge pane is built.
        self._judge_run: tuple[str, str | None] | None = None
        self._resumed_once = False

    def compose(self) -> ComposeResult:
        yield WorkbenchHeader(SECTIONS, id="header")
        # Other sections are mounted on first visit (start-up pays only for Data).
        with ContentSwitcher(initial="data", id="sections"):
            yield DataSection(self.config, self._initial_path, fmt=self._fmt, id="data")
        yield Footer(id="footer", compact=True, show_command_palette=False)

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # On its first resume Textual styles the whole screen again, though every widget was
        # styled as it mounted a moment ago (and focus restyles what it changes): a third of
        # the time from compose to the first frame. Later resumes (after a theme change, say)
        # still restyle.
        if not self._resumed_once:
            self._resumed_once = True
            event.refresh_styles = False

    def on_mount(self) -> None:
        self.query_one(DataSection).focus_list()
        self._detect_backends()
        # Training runs outlive ftui, so on every start find the ones still going and mark those
        # whose process died without a final status as failed. Deferred until start-up is over:
        # the store's import costs half a second that the first rows must not wait for (it is
        # imported in a thread, see Services.reattach_all).
        self.set_timer(self.REATTACH_DELAY_S, self._reattach_runs)

    @work(exclusive=True, group="reattach", exit_on_error=False)
    async def _reattach_runs(self) -> None:
        await self.services.reattach_all()

    @property
    def data(self) -> DataSection:
        return self.query_one(DataSection)

    @property
    def current_section(self) -> str:
        return self.query_one(ContentSwitcher).current or "data"

    def show_section(self, section: str) -> None:
        titles = {section_id: title for _key, section_id, title in SECTIONS}
        if section not in titles:
            return
        switcher = self.query_one(ContentSwitcher)
        if not switcher.query_children(f"#{section}"):
            switcher.mount(SectionSlot(section, titles[section], id=section))
        switcher.current = section
        self.query_one(WorkbenchHeader).section = section
        slot = switcher.query_one(f"#{section}")
        if isinstance(slot, SectionSlot):
            if slot.state in ("empty", "unavailable"):
                slot.state = "loading"
                self._load_section(section)
            else:
                slot.focus_content()
        else:
            self.data.focus_list()
        self.refresh_bindings()

    @work(thread=True, group="sections", exit_on_error=False)
    def _load_section(self, section: str) -> None:
        error = import_section_modules(section)
        self.post_message(SectionModulesLoaded(section, error))

    @on(SectionModulesLoaded)
    def _section_loaded(self, event: SectionModulesLoaded) -> None:
        slot = self.query_one(f"#{event.section}", SectionSlot)
        if event.error is not None:
            slot.show_unavailable(event.error)
            return
        try:
            pane = self._build_pane(event.section)
        except Exception as exc:  # a section that fails to build must not take the app down
            slot.show_unavailable(f"The {slot.title} section failed to start: {exc}")
            return
        slot.show_pane(pane)

    def _build_pane(self, section: str) -> Widget:
        if section == "runs":
            runs = importlib.import_module("ftui.tui.sections.runs")
            return runs.RunsPane(self.services)
        if section == "jobs":
            jobs = importlib.import_module("ftui.tui.sections.jobs")
            # The Jobs form starts on the dataset the user is curating.
            return jobs.JobsPane(self.services, dataset=self.data.path)
        if section == "judge":
            judge = importlib.import_module("ftui.tui.sections.judge")
            wanted, self._judge_run = self._judge_run, None
            run_id, model_b = wanted if wanted is not None else (None, None)
            return judge.JudgePane(self.services, run_id=run_id, model_b=model_b)
        raise LookupError(section)

    @work(thread=True, group="backends", exit_on_error=False)
    def _detect_backends(self) -> None:
        self.post_message(BackendsDetected(detect_backends(self.config)))

    @on(BackendsDetected)
    def _backends_detected(self, event: BackendsDetected) -> None:
        self.query_one(WorkbenchHeader).backends = event.summary

    @on(DatasetStateChanged)
    def _dataset_state(self, event: DatasetStateChanged) -> None:
        self.query_one(WorkbenchHeader).dataset = event

    @on(OpenDataset)
    def _open_dataset(self, event: OpenDataset) -> None:
        event.stop()
        self.show_section("data")
        self.data.request_open(event.path)

    @on(ShowSection)
    def _show_section(self, event: ShowSection) -> None:
        event.stop()
        self.show_section(event.section)

    @on(RunLaunched)
    def _run_launched(self, event: RunLaunched) -> None:
        # The Runs section, if it was opened already, lists the new run at once (it re-reads
        # only runs still going by itself, and this one is not in its list yet).
        if self.query("#runs RunsPane"):
            from ftui.tui.sections.runs import RunsPane

            for pane in self.query("#runs RunsPane").results(RunsPane):
                pane.reload(select=event.run.id)

    @on(JudgeRun)
    def _judge_run_requested(self, event: JudgeRun) -> None:
        # The Judge section opens on the run (its base as A, the run as B); built on first
        # visit, it takes the run when it is built.
        event.stop()
        panes = self.query("#judge JudgePane")
        if panes:
            from ftui.tui.sections.judge import JudgePane

            for pane in panes.results(JudgePane):
                pane.judge_run(event.run_id, model_b=event.model_b)
        else:
            self._judge_run = (event.run_id, event.model_b)
        self.show_section("judge")
