"""The Runs section: every run, newest first, filterable, each one a key away from its page.

`RunsPane(services)` is what the workbench mounts (the app's services root: its run history and
its backends); it works on its own in any App too (with `CSS_PATH = ftui.tui.stylesheet.APP_CSS`,
where its styles are). The store is only touched from thread workers; results come back as
messages. Runs still going are re-read every few seconds, by one timer and one worker for all of
them, so their status, step, loss sparklines and durations move while the list is open; the
sparklines of every listed run come from one store query (`RunStore.recent_series`). Cancel,
pause and resume act on the run under the cursor through the backend that owns it, and are
offered only where that backend and the run's status allow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Container, Horizontal
from textual.message import Message
from textual.widgets import Input, Select, Static
from textual.worker import Worker, WorkerState

from ftui.core.runs.events import RunStatus
from ftui.services.backends.base import Capabilities
from ftui.services.root import Services
from ftui.services.store import Run
from ftui.tui.keymap import command
from ftui.tui.messages import JudgeRun, OpenDataset
from ftui.tui.screens.run_page import RunPageResult, RunScreen
from ftui.tui.screens.runs_compare import CompareScreen
from ftui.tui.sections.runs_actions import (
    ACTION_GROUP,
    RUN_CONTROL_COMMANDS,
    ask_export_path,
    can_control,
    confirm_archive,
    confirm_delete,
    control_run,
)
from ftui.tui.widgets.runs_table import SERIES_NAMES, RunsTable

# The first page is shown at once; the rest of a long history follows from the same worker.
FIRST_PAGE = 200
ANY = "any"
STATUS_CHOICES = [(status.value, status.value) for status in RunStatus]
BACKEND_CHOICES = [("openai", "openai"), ("local", "local")]
# Points per loss series read for the sparklines (the widest table draws 24 cells).
SERIES_POINTS = 24
Series = dict[str, dict[str, list[float]]]  # by run id, then metric name


@dataclass(frozen=True)
class RunFilters:
    status: str | None = None
    backend: str | None = None
    base_model: str = ""
    dataset: str = ""
    include_archived: bool = False

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "backend": self.backend,
            "base_model": self.base_model or None,
            "dataset": self.dataset or None,
            "include_archived": self.include_archived,
        }

    @property
    def active(self) -> bool:
        return bool(self.status or self.backend or self.base_model or self.dataset)


@dataclass
class RunsLoaded(Message):
    """A worker read the runs matching `filters` (`complete` False: only the first page so far)."""

    filters: RunFilters
    runs: list[Run] = field(repr=False)
    total: int
    complete: bool
    series: Series = field(default_factory=dict, repr=False)  # for some or all of `runs`


@dataclass
class SeriesRead(Message):
    """The loss series of listed runs, read after the list itself (a long history's take time)."""

    filters: RunFilters
    series: Series = field(repr=False)


@dataclass
class BackendsRead(Message):
    """What each backend can do, by name (read once, in a worker: it builds the backends)."""

    capabilities: dict[str, Capabilities]


@dataclass
class RunsRefreshed(Message):
    """The runs still going, re-read from their event logs."""

    filters: RunFilters
    runs: list[Run] = field(repr=False)
    series: Series = field(default_factory=dict, repr=False)


class RunsPane(Container):
    """The run history: a filter bar, the runs table and a status line."""

    COMMAND_GROUP = "Runs"
    BINDINGS: ClassVar = [
        command(
            "f",
            "focus_filter",
            "Filter",
            "Filter runs by status, backend, base model or dataset (Tab moves, Esc returns).",
            show=True,
        ),
        command(
            "c",
            "compare",
            "Compare",
            "Compare the marked runs (two or more): curves on one chart, configs as a diff.",
            show=True,
        ),
        command("e", "export", "Export", "Export the run under the cursor as JSON.", show=True),
        command(
            "a",
            "archive",
            "Archive",
            "Archive the marked runs (or the one under the cursor), or restore archived ones.",
            show=True,
        ),
        command(
            "d",
            "delete",
            "Delete",
            "Delete the marked runs (or the one under the cursor) with their files; asks first.",
            show=True,
        ),
        *RUN_CONTROL_COMMANDS,
        command("A", "toggle_archived", "Archived", "Show or hide archived runs."),
        command("r", "reload", "Reload", "Read the history and the runs' event logs again."),
        command("J", "judge", "Judge", "Judge the run under the cursor against its base model."),
        command("escape", "back_to_table", "Back to the list", "Leave the filters."),
    ]

    def __init__(
        self,
        services: Services,
        *,
        refresh_interval: float | None = 3.0,
        now: float | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.services = services
        self.store = services.store
        self.capabilities: dict[str, Capabilities] = {}  # by backend name, once read
        self.filters = RunFilters()
        self.refresh_interval = refresh_interval
        self.now = now  # a fixed clock for durations (tests); None: the real one
        self.total = 0
        self.loaded = False
        self.complete = False
        self.error: str | None = None
        self._select_after_load: str | None = None  # a run to put the cursor on once listed

    def compose(self) -> ComposeResult:
        # The table comes first in the DOM (the filters are docked above it) so that it is what
        # gets the focus when the section opens, and Tab goes from it to the filters.
        table = RunsTable(id="runs-table")
        table.now = self.now
        yield table
        with Horizontal(id="runs-filters"):
            yield Select(STATUS_CHOICES, prompt="status: any", id="filter-status", compact=True)
            yield Select(BACKEND_CHOICES, prompt="backend: any", id="filter-backend", compact=True)
            yield Input(placeholder="base model contains…", id="filter-model", compact=True)
            yield Input(placeholder="dataset contains…", id="filter-dataset", compact=True)
        yield Static("Reading the run history…", id="runs-status", markup=False)

    def on_mount(self) -> None:
        for field_input in self.query(Input):
            field_input.cursor_blink = False
        self.load_runs(self.filters)
        self._read_backends()
        if self.refresh_interval:
            self.set_interval(self.refresh_interval, self._refresh_active)

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    # -- loading --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="runs-load", exit_on_error=False)
    def load_runs(self, filters: RunFilters) -> None:
        kwargs = filters.as_kwargs()
        first = self.store.list_runs(**kwargs, limit=FIRST_PAGE)
        complete = len(first) < FIRST_PAGE
        total = len(first) if complete else self.store.count_runs(**kwargs)
        series = self._read_series(first)
        self.post_message(RunsLoaded(filters, first, total, complete, series))
        # Bring runs that are still going up to date with their event logs, then read it all.
        if self.store.ingest_all(only_active=True) or not complete:
            runs = self.store.list_runs(**kwargs)
            # The list first (the table keeps the first page's sparklines meanwhile), then
            # every listed run's series in one query.
            self.post_message(RunsLoaded(filters, runs, len(runs), True))
            self.post_message(SeriesRead(filters, self._read_series(runs)))

    def _read_series(self, runs: list[Run]) -> Series:
        return self.store.recent_series(
            [run.id for run in runs], names=SERIES_NAMES, points=SERIES_POINTS
        )

    @work(thread=True, group="runs-backends", exit_on_error=False)
    def _read_backends(self) -> None:
        capabilities = {}
        for name in self.services.backend_names:
            try:
                capabilities[name] = self.services.backend(name).capabilities
            except Exception:  # a backend that cannot be built offers no actions
                continue
        self.post_message(BackendsRead(capabilities))

    @on(BackendsRead)
    def _backends_read(self, event: BackendsRead) -> None:
        event.stop()
        self.capabilities = event.capabilities
        self.refresh_bindings()

    @on(RunsLoaded)
    def _runs_loaded(self, event: RunsLoaded) -> None:
        event.stop()
        if event.filters != self.filters:
            return  # an answer to filters that have changed since
        self.loaded = True
        self.error = None
        self.total = event.total
        self.complete = event.complete
        self.table.set_runs(event.runs, select=self._select_after_load, series=event.series)
        self._select_after_load = None
        self._show_status()
        self.refresh_bindings()  # the run under the cursor may have a new status

    @on(SeriesRead)
    def _series_read(self, event: SeriesRead) -> None:
        event.stop()
        if event.filters == self.filters:
            self.table.update_series(event.series)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group == "runs-load":
            self.error = f"The run history could not be read: {event.worker.error}"
            self._show_status()
        elif event.worker.group == ACTION_GROUP:
            self.notify(str(event.worker.error), title="Runs", severity="error", markup=False)
            self.reload()

    def _refresh_active(self) -> None:
        # Only the runs still going are re-read (a long finished history does not change under
        # us); a run added by another process shows up as a change in the count.
        # With none going, the count is still read: a run launched from a shell must show up.
        active = [run.id for run in self.table.runs if not run.is_terminal]
        if not self.complete:
            return
        if any(w.group in ("runs-load", "runs-refresh") and w.is_running for w in self.workers):
            return
        self.refresh_runs(self.filters, active, self.total)

    @work(thread=True, exclusive=True, group="runs-refresh", exit_on_error=False)
    def refresh_runs(self, filters: RunFilters, run_ids: list[str], total: int) -> None:
        if self.store.count_runs(**filters.as_kwargs()) != total:
            self.app.call_from_thread(self.load_runs, filters)
            return
        from ftui.services import liveness

        fresh = []
        for run_id in run_ids:
            self.store.ingest_events(run_id)
            # A run whose process died while the list is open shows failed, not running forever.
            fresh.append(liveness.check_run(self.store, self.store.get_run(run_id)))
        if fresh:
            self.post_message(RunsRefreshed(filters, fresh, self._read_series(fresh)))

    @on(RunsRefreshed)
    def _runs_refreshed(self, event: RunsRefreshed) -> None:
        event.stop()
        if event.filters == self.filters:
            self.table.update_runs(event.runs, series=event.series)
            self.refresh_bindings()

    def reload(self, *, select: str | None = None) -> None:
        """Read the list again; `select` puts the cursor on that run (one just launched)."""
        self._select_after_load = select
        self.load_runs(self.filters)

    def _show_status(self) -> None:
        status = self.query_one("#runs-status", Static)
        if self.error:
            status.update(self.error)
            return
        if not self.loaded:
            status.update("Reading the run history…")
            return
        if self.total == 0:
            if self.filters.active:
                status.update("No runs match these filters.")
            else:
                status.update("No runs yet: start one from the Jobs section or `ftui train`.")
            return
        parts = [f"{self.total:,} run{'s' if self.total != 1 else ''}"]
        if not self.complete:
            parts[0] += f" (showing the newest {len(self.table.runs):,}…)"
        if self.table.marks:
            parts.append(f"{len(self.table.marks)} marked")
        if self.filters.active:
            parts.append("filtered")
        if self.filters.include_archived:
            parts.append("archived shown")
        parts.append("enter: open · space: mark · c: compare · f: filter")
        status.update(" · ".join(parts))

    # -- filters --------------------------------------------------------------------------------

    def _read_filters(self) -> RunFilters:
        status = self.query_one("#filter-status", Select).value
        backend = self.query_one("#filter-backend", Select).value
        return RunFilters(
            status=status if isinstance(status, str) else None,
            backend=backend if isinstance(backend, str) else None,
            base_model=self.query_one("#filter-model", Input).value.strip(),
            dataset=self.query_one("#filter-dataset", Input).value.strip(),
            include_archived=self.filters.include_archived,
        )

    def apply_filters(self, filters: RunFilters) -> None:
        if filters == self.filters:
            return
        self.filters = filters
        self.load_runs(filters)

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.apply_filters(self._read_filters())

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        # Typing stays smooth: the query runs once the keys pause.
        self.set_timer(0.25, self._apply_typed_filters, name="runs-filter-debounce")

    def _apply_typed_filters(self) -> None:
        self.apply_filters(self._read_filters())

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.apply_filters(self._read_filters())
        self.table.focus()

    def action_focus_filter(self) -> None:
        self.query_one("#filter-status", Select).focus()

    def action_back_to_table(self) -> None:
        self.table.focus()

    def action_toggle_archived(self) -> None:
        current = self._read_filters()
        self.apply_filters(
            RunFilters(
                status=current.status,
                backend=current.backend,
                base_model=current.base_model,
                dataset=current.dataset,
                include_archived=not self.filters.include_archived,
            )
        )

    def action_reload(self) -> None:
        self.reload()

    # -- runs -----------------------------------------------------------------------------------

    @on(RunsTable.MarksChanged)
    def _marks_changed(self, event: RunsTable.MarksChanged) -> None:
        self._show_status()
        self.refresh_bindings()

    @on(RunsTable.Highlighted)
    def _highlighted(self, event: RunsTable.Highlighted) -> None:
        self.refresh_bindings()

    @on(RunsTable.Opened)
    def _opened(self, event: RunsTable.Opened) -> None:
        event.stop()
        self.open_run(event.run_id)

    def open_run(self, run_id: str) -> None:
        self.app.push_screen(RunScreen(self.services, run_id, now=self.now), self._page_closed)

    def _page_closed(self, result: RunPageResult | None) -> None:
        if result is None:
            return
        if result.changed:
            self.reload()
        if result.open_dataset is not None:
            self.post_message(OpenDataset(result.open_dataset))
        if result.judge_run is not None:
            self.post_message(JudgeRun(result.judge_run, model_b=result.judge_model))

    def _targets(self) -> list[Run]:
        """The marked runs, else the run under the cursor."""
        table = self.table
        if table.marks:
            return [run for run in table.runs if run.id in table.marks]
        return [table.runs[table.cursor]] if table.runs else []

    @property
    def current_run(self) -> Run | None:
        table = self.table
        return table.runs[table.cursor] if table.runs else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "control":
            run = self.current_run
            if run is None or not parameters:
                return False
            return can_control(run, self.capabilities.get(run.backend), str(parameters[0]))
        if action == "compare":
            return len(self.table.marks) >= 2
        if action in ("export", "judge"):
            return self.table.run_id is not None
        if action in ("archive", "delete"):
            return bool(self.table.runs)
        if action == "back_to_table":
            return not self.table.has_focus
        return True

    def action_compare(self) -> None:
        marked = self.table.marked_in_order
        if len(marked) < 2:
            self.notify("Mark two or more runs with space first.", title="Compare")
            return
        self.app.push_screen(CompareScreen(self.store, marked, now=self.now))

    def action_export(self) -> None:
        if (run_id := self.table.run_id) is not None:
            ask_export_path(self, self.store, run_id)

    def action_judge(self) -> None:
        if (run_id := self.table.run_id) is not None:
            self.post_message(JudgeRun(run_id))

    def action_control(self, action: str) -> None:
        run = self.current_run
        if run is not None and self.check_action("control", (action,)):
            control_run(self, self.services, run, action, on_done=self.reload)

    def action_archive(self) -> None:
        confirm_archive(self, self.store, self._targets(), on_done=self._after_change)

    def action_delete(self) -> None:
        confirm_delete(self, self.store, self._targets(), on_done=self._after_change)

    def _after_change(self) -> None:
        self.table.set_marks(set())
        self.reload()
