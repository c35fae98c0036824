"""One run's page: what it trained (config, dataset), how it went (metrics, curves, events), and
what it left (artifacts).

The page is handed the app's services root: history comes from its store; a run still going is
then followed with `services.follow` from the store's offset, which indexes every batch into the
store (so what the page shows live is what it shows when opened again later) and records a run
whose process died as failed. Cancel, pause and resume go to the backend that owns the run
(`Services.backend_for`), offered as the Runs list offers them (`runs_actions.can_control`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Log, Static
from textual.worker import Worker, WorkerState

from ftui.core.runs.describe import DATE_AND_TIME, describe_event
from ftui.core.runs.events import parse_event
from ftui.core.runs.kinds import MetricEvent
from ftui.services.liveness import check_run
from ftui.services.runs import format_cost, format_duration, format_metric, run_epochs
from ftui.services.store import MetricSummary, Run, RunStore
from ftui.tui.keymap import command
from ftui.tui.sections.runs_actions import (
    RUN_CONTROL_COMMANDS,
    ask_export_path,
    can_control,
    confirm_archive,
    confirm_delete,
    control_run,
)
from ftui.tui.widgets.config_diff import flatten_config, show_value
from ftui.tui.widgets.loss_chart import LossChart

if TYPE_CHECKING:
    from ftui.services.backends.base import Capabilities
    from ftui.services.root import Services

CHART_POINTS = 400  # about one point per terminal column
EVENTS_SHOWN = 5_000
REDRAW_INTERVAL = 0.5  # a live chart redraws at most this often


def metric_groups(names: list[str]) -> list[tuple[str, list[str]]]:
    """Metric names grouped for the chart: losses first, then accuracy, learning rate, the rest."""
    groups: list[tuple[str, list[str]]] = []
    taken: set[str] = set()
    for title, test in (
        ("loss", lambda n: "loss" in n),
        ("accuracy", lambda n: "accuracy" in n),
        ("learning rate", lambda n: n in ("learning_rate", "lr")),
    ):
        members = [name for name in names if name not in taken and test(name)]
        if members:
            groups.append((title, members))
            taken.update(members)
    for name in names:
        if name not in taken:
            groups.append((name, [name]))
    return groups


def event_line(record: dict[str, Any]) -> str:
    """One stored event (a line as written) as one line of the events log."""
    return describe_event(parse_event(record), DATE_AND_TIME)


@dataclass
class RunPageData:
    run: Run
    series: dict[str, list[tuple[int, float]]]
    summary: dict[str, MetricSummary]
    events: list[dict[str, Any]]
    artifacts: list[dict[str, Any]]
    dataset_state: str
    # What the run's backend can do (None: unknown, so no cancel, pause or resume is offered).
    capabilities: Capabilities | None = field(default=None, repr=False)


@dataclass
class RunPageResult:
    """What the page was closed for: nothing, or a dataset to open in the Data section."""

    open_dataset: Path | None = None
    changed: bool = False  # the run was deleted or archived: the list should reload


def load_page_data(store: RunStore, run_id: str) -> RunPageData:
    store.ingest_events(run_id)
    run = check_run(store, store.get_run(run_id))  # a dead process: shown failed, not running
    return RunPageData(
        run=run,
        series=store.metrics(run.id, max_points=CHART_POINTS),
        summary=store.metric_summary(run.id),
        events=store.events(run.id, limit=EVENTS_SHOWN),
        artifacts=store.artifacts(run.id),
        dataset_state=store.dataset_state(run.id),
    )


def short_path(path: Path, base: Path) -> str:
    """`path` relative to `base` (the ftui home) when inside it: shorter, and says where it is."""
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def describe_summary(run: Run, now: float | None = None) -> str:
    rows = [
        ("status", run.status + (" (archived)" if run.archived else "")),
        ("backend", run.backend),
        ("base model", run.base_model),
        ("created", datetime.fromtimestamp(run.created_at).strftime("%Y-%m-%d %H:%M")),
        ("duration", format_duration(run.duration(now))),
        ("cost", format_cost(run.cost_usd)),
    ]
    if run.last_step is not None:
        progress = f"{run.last_step}" + (f" / {run.max_steps}" if run.max_steps else "")
        rows.append(("step", progress))
    epochs = run_epochs(run)
    if epochs is not None:
        rows.append(("epochs", f"{epochs:g}"))
    if run.output_model:
        rows.append(("output model", run.output_model))
    if run.adapter_path:
        rows.append(("adapter", short_path(Path(run.adapter_path), run.run_dir.parent.parent)))
    if run.error:
        rows.append(("error", f"[b $error]{escape(run.error)}[/]"))
        return "\n".join(f"[dim]{k:<12}[/] {v if k == 'error' else escape(v)}" for k, v in rows)
    return "\n".join(f"[dim]{key:<12}[/] {escape(value)}" for key, value in rows)


def describe_dataset(run: Run, state: str) -> str:
    lines = []
    for label, record in (("train", run.dataset), ("validation", run.validation_dataset)):
        if record is None:
            continue
        lines.append(f"[dim]{label:<12}[/] {escape(record.name)}")
        lines.append(f"{'':<12} {escape(record.facts())}")
        lines.append(f"[dim]{'':<12} sha256 {record.sha256[:16]}…[/]")
        lines.append(f"[dim]{'':<12} in {escape(str(record.path.parent))}[/]")
    if not lines:
        return "[dim]no dataset recorded[/]"
    if state == "changed":
        lines.append("[b $warning]the file changed since this run used it (sha256 differs)[/]")
    elif state == "missing":
        lines.append("[b $warning]the file is gone[/]")
    else:
        lines.append("[dim]o: open it in the Data section[/]")
    return "\n".join(lines)


def describe_metrics(summary: dict[str, MetricSummary]) -> str:
    if not summary:
        return "[dim]no metrics yet[/]"
    lines = [f"[dim]{'metric':<20} {'last':>9} {'min':>9} {'at step':>8}[/]"]
    for name, item in summary.items():
        shown = name if len(name) <= 20 else name[:19] + "…"
        lines.append(
            f"{escape(shown):<20} {format_metric(item.last):>9} "
            f"{format_metric(item.min):>9} {item.min_step:>8}"
        )
    return "\n".join(lines)


def describe_config(config: dict[str, Any]) -> str:
    flat = flatten_config(config)
    if not flat:
        return "[dim]empty[/]"
    width = min(28, max(len(key) for key in flat))
    return "\n".join(
        f"[dim]{escape(key):<{width}}[/] {escape(show_value(value))}" for key, value in flat.items()
    )


def describe_artifacts(artifacts: list[dict[str, Any]]) -> str:
    if not artifacts:
        return "[dim]none yet[/]"
    return "\n".join(escape(event_line(event)) for event in artifacts)


class RunScreen(Screen[RunPageResult]):
    """A run's page. Dismisses with a `RunPageResult`."""

    COMMAND_GROUP = "Run"
    DEFAULT_CSS = """
    RunScreen #run-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    RunScreen #run-body { height: 1fr; }
    RunScreen #run-side { width: 60; min-width: 40; border-right: solid $panel; }
    RunScreen .run-heading { margin-top: 1; padding: 0 1; text-style: bold; color: $accent; }
    RunScreen .run-block { padding: 0 1; }
    RunScreen #run-main { width: 1fr; }
    RunScreen #run-chart { height: 1fr; }
    RunScreen #run-events { height: 12; border-top: solid $panel; }
    """
    BINDINGS: ClassVar = [
        command("escape,q", "close", "Back", "Back to the list of runs.", show=True),
        command(
            "o",
            "open_dataset",
            "Open dataset",
            "Open the run's dataset in the Data section.",
            show=True,
        ),
        command("m", "next_metrics", "Metrics", "Chart the next group of metrics.", show=True),
        command("e", "export", "Export", "Export the run (record, metrics, events) as JSON."),
        command("a", "archive", "Archive", "Archive the run, or bring it back; asks first."),
        command("d", "delete", "Delete", "Delete the run and its files; asks first."),
        *RUN_CONTROL_COMMANDS,
        command("r", "reload", "Reload", "Read the run again from its event log."),
    ]

    def __init__(self, services: Services, run_id: str, *, now: float | None = None) -> None:
        super().__init__()
        self.services = services
        self.store = services.store
        self.run_id = run_id
        self.now = now  # a fixed clock for durations (tests); None: the real one
        self.data: RunPageData | None = None
        self.group_index = 0
        self._chart_dirty = False
        self._tailing = False
        self._changed = False
        self.live_events = 0  # events received from the tailer (not from history)

    def compose(self) -> ComposeResult:
        yield Static(f"Run {self.run_id} · loading…", id="run-title", markup=False)
        with Horizontal(id="run-body"):
            with VerticalScroll(id="run-side"):
                yield Static("Run", classes="run-heading")
                yield Static("", id="run-summary", classes="run-block")
                yield Static("Dataset", classes="run-heading")
                yield Static("", id="run-dataset", classes="run-block")
                yield Static("Metrics", classes="run-heading")
                yield Static("", id="run-metrics", classes="run-block")
                yield Static("Artifacts", classes="run-heading")
                yield Static("", id="run-artifacts", classes="run-block")
                yield Static("Config", classes="run-heading")
                yield Static("", id="run-config", classes="run-block")
            with Vertical(id="run-main"):
                yield LossChart(id="run-chart")
                yield Log(id="run-events", highlight=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.set_interval(REDRAW_INTERVAL, self._redraw_if_dirty)
        self.load()

    # -- loading --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="run-load", exit_on_error=False)
    def load(self) -> RunPageData:
        data = load_page_data(self.store, self.run_id)
        try:
            data.capabilities = self.services.backend_for(data.run).capabilities
        except Exception:  # a backend this ftui does not have: the page shows, without actions
            data.capabilities = None
        return data

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "run-load":
            if event.state == WorkerState.SUCCESS and isinstance(worker.result, RunPageData):
                self.show(worker.result)
            elif event.state == WorkerState.ERROR:
                self.query_one("#run-title", Static).update(
                    f"Run {self.run_id}: could not be read ({worker.error})"
                )
        elif worker.group == "run-action" and event.state == WorkerState.ERROR:
            self.notify(str(worker.error), title="Run", severity="error", markup=False)

    def show(self, data: RunPageData) -> None:
        self.data = data
        run = data.run
        self.run_id = run.id
        follow = not run.is_terminal and not self._tailing
        if follow:
            self._tailing = True
            self.tail(run.events_offset)
        self._show_title()
        self.query_one("#run-summary", Static).update(describe_summary(run, self.now))
        self.query_one("#run-dataset", Static).update(describe_dataset(run, data.dataset_state))
        self.query_one("#run-metrics", Static).update(describe_metrics(data.summary))
        self.query_one("#run-artifacts", Static).update(describe_artifacts(data.artifacts))
        self.query_one("#run-config", Static).update(describe_config(run.config))
        log = self.query_one("#run-events", Log)
        log.clear()
        log.write_lines([event_line(event) for event in data.events])
        self._draw_chart()
        self.refresh_bindings()

    def _show_title(self) -> None:
        if self.data is None:
            return
        run = self.data.run
        live = " · live" if self._tailing else ""
        title = f"Run {run.id} · {run.status}{live} · {run.backend} · {run.base_model}"
        self.query_one("#run-title", Static).update(title)

    # -- following a live run -------------------------------------------------------------------

    @work(exclusive=True, group="run-tail", exit_on_error=False)
    async def tail(self, offset: int) -> None:
        """Follow the run from where the page's history ends (see services.follow: it indexes
        what arrives, so the list and later visits see it too, and notices a dead process)."""
        from ftui.services.follow import follow_run

        async for update in follow_run(self.store, self.run_id, history_from=offset):
            lines = []
            for event in update.events:
                self.live_events += 1
                if isinstance(event, MetricEvent):
                    self._add_metric_event(event)
                else:
                    lines.append(describe_event(event, DATE_AND_TIME))
            if lines:
                self.query_one("#run-events", Log).write_lines(lines)
        self._tailing = False
        self.load()  # the final state, from the store

    def _add_metric_event(self, event: MetricEvent) -> None:
        if self.data is None:
            return
        for name, value in event.values.items():
            self.data.series.setdefault(name, []).append((event.step, value))
        self._chart_dirty = True

    def _redraw_if_dirty(self) -> None:
        if self._chart_dirty:
            self._chart_dirty = False
            self._draw_chart()

    # -- chart ----------------------------------------------------------------------------------

    def _draw_chart(self) -> None:
        chart = self.query_one(LossChart)
        if self.data is None:
            return
        groups = metric_groups(sorted(self.data.series))
        if not groups:
            chart.set_series({}, title="no metrics yet")
            return
        title, names = groups[self.group_index % len(groups)]
        chart.set_series({name: self.data.series[name] for name in names}, title=title)

    def action_next_metrics(self) -> None:
        self.group_index += 1
        self._draw_chart()

    # -- actions --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_dataset":
            return self.data is not None and self.data.dataset_state in ("unchanged", "changed")
        if action in ("export", "archive", "delete"):
            return self.data is not None
        if action == "control":
            if self.data is None or not parameters:
                return False
            return can_control(self.data.run, self.data.capabilities, str(parameters[0]))
        return True

    def action_close(self) -> None:
        self.dismiss(RunPageResult(changed=self._changed))

    def action_open_dataset(self) -> None:
        if self.data is not None and self.data.run.dataset is not None:
            self.dismiss(RunPageResult(open_dataset=self.data.run.dataset.path))

    def action_reload(self) -> None:
        self.load()

    def action_control(self, action: str) -> None:
        if self.data is not None and self.check_action("control", (action,)):
            control_run(self, self.services, self.data.run, action, on_done=self._after_change)

    def action_export(self) -> None:
        ask_export_path(self, self.store, self.run_id)

    def action_archive(self) -> None:
        if self.data is not None:
            confirm_archive(self, self.store, [self.data.run], on_done=self._after_change)

    def action_delete(self) -> None:
        if self.data is not None:
            confirm_delete(self, self.store, [self.data.run], on_done=self._after_delete)

    def _after_change(self) -> None:
        self._changed = True
        self.load()

    def _after_delete(self) -> None:
        self.dismiss(RunPageResult(changed=True))
