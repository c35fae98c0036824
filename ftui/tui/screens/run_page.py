"""One run's page, the live monitor: where it is (progress, ETA, alerts), how it goes (curves,
the trainer's output, events), what it trained (config, dataset) and what it left (artifacts).

The page is handed the app's services root: history comes from its store; a run still going is
then followed by a `ProcessMonitor` (services.monitor_process: the one follow path, in a child
process), which indexes every batch into the store (so what the page shows live is what it shows
when opened again later, replayed from the log) and records a run whose process died as failed.
The page drains it ten times a second, so a flooded log costs it one repaint per tick. Cancel,
pause, resume and checkpoint go to the backend that owns the run (`Services.backend_for`),
offered as the Runs list offers them (`runs_actions.can_control`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from ftui.core.runs.describe import DATE_AND_TIME, describe_event
from ftui.core.runs.events import parse_event
from ftui.core.runs.log_lines import LogLine
from ftui.core.runs.log_lines import event_line as event_line_of
from ftui.core.runs.metric_groups import metric_groups
from ftui.core.runs.progress import Progress, ProgressTracker
from ftui.core.runs.state import RunState
from ftui.services.liveness import check_run
from ftui.services.monitor import MonitorBatch
from ftui.services.monitor_process import ProcessMonitor
from ftui.services.runs import (
    checkpoint_removed,
    format_cost,
    format_duration,
    format_metric,
    run_epochs,
)
from ftui.services.store import MetricSummary, Run, RunStore
from ftui.tui.keymap import command
from ftui.tui.sections.runs_actions import (
    CHECKPOINT_COMMAND,
    RUN_CONTROL_COMMANDS,
    ask_export_path,
    can_control,
    confirm_archive,
    confirm_delete,
    control_run,
)
from ftui.tui.widgets.config_diff import flatten_config, show_value
from ftui.tui.widgets.log_view import LogPanel
from ftui.tui.widgets.loss_chart import LossChart
from ftui.tui.widgets.run_details import RunDetails
from ftui.tui.widgets.run_header import RESOURCES, RunHeader

if TYPE_CHECKING:
    from ftui.services.backends.base import Capabilities
    from ftui.services.root import Services

CHART_POINTS = 20_000  # per series as first read (the chart smooths, then thins to its width)
EVENTS_SHOWN = 5_000
OUTPUT_LINES_SHOWN = 5_000  # of the trainer's output, read back when the page opens
LOG_LINES_KEPT = 20_000  # per log panel; older lines drop out
TICK_INTERVAL = 0.1  # the page takes what the monitor gathered this often (one repaint per tick)
CHART_INTERVAL = 0.5  # a live chart redraws at most this often (a plot costs more than text)
CLOCK_INTERVAL = 1.0  # elapsed and ETA tick on while the log is quiet
DETAILS_INTERVAL = 1.0  # a live run's summary and metrics table repaint at most this often
SPARK_POINTS = 48  # the last points of each loss shown in the header's sparklines
SMOOTHING_STEP = 0.1
RESOURCE_NAMES = frozenset(name for name, _ in RESOURCES)


def event_line(record: dict[str, Any]) -> str:
    """One stored event (a line as written) as one line of the events log."""
    return describe_event(parse_event(record), DATE_AND_TIME)


def stored_event_lines(records: list[dict[str, Any]]) -> list[LogLine]:
    """Stored events (lines as written) as lines of the events log."""
    lines = (event_line_of(parse_event(record)) for record in records)
    return [line for line in lines if line is not None]


@dataclass
class RunPageData:
    run: Run
    series: dict[str, list[tuple[int, float]]]
    summary: dict[str, MetricSummary]
    events: list[dict[str, Any]]
    artifacts: list[dict[str, Any]]
    dataset_state: str
    state: RunState = field(default_factory=RunState)  # the run's events folded, as indexed
    output: list[LogLine] = field(default_factory=list)  # the last lines of train.log
    output_offset: int = 0  # where train.log was read to
    # What the run's backend can do (None: unknown, so no cancel, pause or resume is offered).
    capabilities: Capabilities | None = field(default=None, repr=False)

    @property
    def has_output(self) -> bool:
        """A run with the trainer's own output to show (a local run; not an OpenAI job)."""
        return self.run.backend == "local"


@dataclass
class RunPageResult:
    """What the page was closed for: nothing, or a dataset to open in the Data section."""

    open_dataset: Path | None = None
    changed: bool = False  # the run was deleted or archived: the list should reload
    judge_run: str | None = None  # "Judge this run": open the Judge section on it
    judge_model: str | None = None  # ...with this model as B (its best checkpoint), not the run


def load_page_data(store: RunStore, run_id: str) -> RunPageData:
    from ftui.services.launcher import LOG_FILE
    from ftui.services.output_log import OutputTailer, offset_of_last_lines

    store.ingest_events(run_id)
    run = check_run(store, store.get_run(run_id))  # a dead process: shown failed, not running
    state, _ = store.run_state(run.id)
    data = RunPageData(
        run=run,
        series=store.metrics(run.id, max_points=CHART_POINTS),
        summary=store.metric_summary(run.id),
        events=store.events(run.id, limit=EVENTS_SHOWN),
        artifacts=store.artifacts(run.id),
        dataset_state=store.dataset_state(run.id),
        state=state,
    )
    if data.has_output:
        path = run.run_dir / LOG_FILE
        tailer = OutputTailer(path, offset=offset_of_last_lines(path, OUTPUT_LINES_SHOWN))
        while lines := tailer.read_available():
            data.output.extend(lines)
        data.output = data.output[-OUTPUT_LINES_SHOWN:]
        data.output_offset = tailer.offset
    return data


def live_run(run: Run, state: RunState) -> Run:
    """The run record as its followed log now says: status, times, step, metrics, results."""
    return replace(
        run,
        status=state.status,
        started_at=state.started_at if state.started_at is not None else run.started_at,
        finished_at=state.finished_at,
        error=state.error or run.error,
        last_step=state.step if state.step is not None else run.last_step,
        max_steps=state.max_steps if state.max_steps is not None else run.max_steps,
        last_epoch=state.epoch if state.epoch is not None else run.last_epoch,
        final_metrics={**run.final_metrics, **state.last_metrics},
        output_model=state.output_model or run.output_model,
        adapter_path=state.adapter_path or run.adapter_path,
        remote_status=state.remote_status or run.remote_status,
        trained_tokens=state.trained_tokens or run.trained_tokens,
        estimated_finish=state.estimated_finish or run.estimated_finish,
    )


def add_to_summary(
    summary: dict[str, MetricSummary], name: str, points: list[tuple[int, float]]
) -> None:
    """Fold new points of one metric into its summary (last, min and where, max)."""
    item = summary.get(name)
    for step, value in points:
        if item is None:
            item = MetricSummary(
                points=1, last=value, last_step=step, min=value, min_step=step, max=value
            )
            continue
        low, low_step = (value, step) if value < item.min else (item.min, item.min_step)
        item = MetricSummary(
            points=item.points + 1,
            last=value,
            last_step=step,
            min=low,
            min_step=low_step,
            max=max(item.max, value),
        )
    if item is not None:
        summary[name] = item


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
    # What the process used (GPU memory, CPU, RAM) is in the header; its minimum tells nothing.
    metrics = {name: item for name, item in summary.items() if name not in RESOURCE_NAMES}
    if not metrics:
        return "[dim]no metrics yet[/]"
    lines = [f"[dim]{'metric':<20} {'last':>9} {'min':>9} {'at step':>8}[/]"]
    for name, item in metrics.items():
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
        f"[dim]{escape(key):<{width}} [/]{escape(show_value(value))}" for key, value in flat.items()
    )


def best_checkpoint(
    artifacts: list[dict[str, Any]], summary: dict[str, MetricSummary]
) -> tuple[dict[str, Any], str] | None:
    """The checkpoint to pick and why: the lowest eval loss among those that carry their own
    metrics (OpenAI's), else the last one saved at or before the step of the best eval loss."""
    checkpoints = [record for record in artifacts if record.get("type") == "checkpoint"]
    scored = [
        (record["metrics"]["valid_loss"], record)
        for record in checkpoints
        if isinstance(record.get("metrics"), dict)
        and isinstance(record["metrics"].get("valid_loss"), int | float)
    ]
    if scored:
        loss, record = min(scored, key=lambda pair: pair[0])
        return record, f"valid_loss {format_metric(loss)}"
    best = summary.get("valid_loss")
    if best is None:
        return None
    before = [
        record
        for record in checkpoints
        if isinstance(record.get("step"), int) and record["step"] <= best.min_step
    ]
    if not before:
        return None
    record = max(before, key=lambda r: r["step"])
    return record, f"best valid_loss {format_metric(best.min)} at step {best.min_step}"


def describe_artifacts(
    artifacts: list[dict[str, Any]],
    summary: dict[str, MetricSummary] | None = None,
    run_dir: Path | None = None,
) -> str:
    if not artifacts:
        return "[dim]none yet[/]"
    removed = " [dim](removed)[/]"
    lines = [
        escape(event_line(event)) + (removed if checkpoint_removed(event, run_dir) else "")
        for event in artifacts
    ]
    best = best_checkpoint(artifacts, summary or {})
    if best is not None:
        record, why = best
        where = record.get("model_id") or record.get("path")
        gone = removed if checkpoint_removed(record, run_dir) else ""
        lines.append(
            f"[b]best checkpoint[/]: step {record.get('step')}, {escape(str(where))}{gone}"
        )
        lines.append(f"[dim]  ({escape(why)})[/]")
    return "\n".join(lines)


class RunScreen(Screen[RunPageResult]):
    """A run's page. Dismisses with a `RunPageResult`."""

    COMMAND_GROUP = "Run"
    DEFAULT_CSS = """
    RunScreen #run-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    /* The details open over the body's right, on a layer of their own: nothing beneath moves,
       and what reads from the left (the progress line, alerts, the y axis, log lines) shows. */
    RunScreen #run-body { height: 1fr; layers: default details; }
    RunScreen #run-details {
        layer: details;
        dock: right;
        display: none;
        width: 60;
        height: 100%;
        background: $surface;
        border-left: solid $panel;
    }
    RunScreen.-narrow #run-details { width: 100%; border-left: none; }
    RunScreen #run-details-text { padding: 0 1; }
    RunScreen #run-main { width: 1fr; }
    RunScreen #run-chart { height: 1fr; min-height: 8; }
    RunScreen LogPanel { height: 12; border-top: solid $panel; }
    RunScreen.-short LogPanel { height: 6; }
    RunScreen.-short RunHeader #header-bar { display: none; }
    RunScreen.-short RunHeader #header-alerts { max-height: 2; }
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
        command(
            "s",
            "toggle_smoothing",
            "Smooth",
            "Smooth the curves (a debiased EMA, raw points faint behind) or show them raw.",
        ),
        command("plus,equals_sign", "smoothing(1)", "More smoothing", "Raise the EMA weight."),
        command("minus", "smoothing(-1)", "Less smoothing", "Lower the EMA weight."),
        command("z", "zoom", "Zoom", "Chart all steps, or only the last 1000, 200 or 50."),
        command(
            "l",
            "switch_log",
            "Log",
            "Show the trainer's own output, or the run's events (log, status, alerts).",
            show=True,
        ),
        command("slash", "search_log", "Search log", "Search the log shown below the chart."),
        command(
            "i",
            "toggle_side",
            "Details",
            "Open or close the run's details (summary, dataset, metrics, artifacts, config).",
            show=True,
        ),
        command("c", "compare", "Compare", "Compare this run with another one of the history."),
        command("e", "export", "Export", "Export the run (record, metrics, events) as JSON."),
        command("a", "archive", "Archive", "Archive the run, or bring it back; asks first."),
        command("d", "delete", "Delete", "Delete the run and its files; asks first."),
        *RUN_CONTROL_COMMANDS,
        CHECKPOINT_COMMAND,
        command("r", "reload", "Reload", "Read the run again from its event log."),
        command("J", "judge", "Judge", "Judge this run against its base model (Judge section)."),
        command(
            "K",
            "judge_best",
            "Judge best checkpoint",
            "Judge the run's best checkpoint (lowest eval loss) against its base model.",
        ),
    ]

    def __init__(self, services: Services, run_id: str, *, now: float | None = None) -> None:
        super().__init__()
        self.services = services
        self.store = services.store
        self.run_id = run_id
        self.now = now  # a fixed clock for durations (tests); None: the real one
        self.data: RunPageData | None = None
        self.group_index = 0
        self.monitor: ProcessMonitor | None = None
        self._chart_dirty = False
        self._chart_drawn_at = 0.0
        self._clock_at = 0.0
        self._details_at = 0.0
        self._details_stale = False  # a batch came whose summary is not shown yet
        self._changed = False
        self._show_output = True  # the trainer's output first, for runs that have one
        self.live_events = 0  # events received from the follow (not from history)
        self.repaints = 0  # ticks that repainted something (the monitor's batching, measured)
        self.progress: Progress | None = None  # as last shown in the header

    def compose(self) -> ComposeResult:
        yield Static(f"Run {self.run_id} · loading…", id="run-title", markup=False)
        with Horizontal(id="run-body"):
            yield RunDetails(id="run-details")
            with Vertical(id="run-main"):
                yield RunHeader(id="run-header")
                yield LossChart(id="run-chart")
                yield LogPanel(max_lines=LOG_LINES_KEPT, id="run-output")
                yield LogPanel(max_lines=LOG_LINES_KEPT, id="run-events")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.set_interval(TICK_INTERVAL, self._tick)
        self.load()

    def on_unmount(self) -> None:
        # Waited for: the app may close the store next, and the follow must be done with it.
        self._stop_monitor(timeout=2.0)

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
        first = self.data is None
        self.data = data
        run = data.run
        self.run_id = run.id
        if first and run.is_terminal and not data.output:
            self._show_output = False  # a finished run that left no output: its events instead
        if not run.is_terminal and self.monitor is None:
            self._start_monitor(data)
        self._show_logs(data)
        self._show_title()
        self._show_state(run, data.state, self._replayed_progress(data))
        self.query_one(RunDetails).show(
            dataset=describe_dataset(run, data.dataset_state),
            artifacts=describe_artifacts(data.artifacts, data.summary, run.run_dir),
            config=describe_config(run.config),
        )
        self._draw_chart()
        self.refresh_bindings()

    def _show_logs(self, data: RunPageData) -> None:
        events = self.query_one("#run-events", LogPanel)
        events.clear()
        events.append(stored_event_lines(data.events))
        output = self.query_one("#run-output", LogPanel)
        output.clear()
        if data.has_output:
            output.append(data.output)
        self._place_logs()

    def _place_logs(self) -> None:
        # `display`, not a class: a class on a panel restyles all it holds, a key's worth of time.
        with_output = self.data is not None and self.data.has_output and self._show_output
        self.query_one("#run-output", LogPanel).display = with_output
        self.query_one("#run-events", LogPanel).display = not with_output

    def _replayed_progress(self, data: RunPageData) -> Progress:
        tracker = ProgressTracker()
        return tracker.snapshot(data.state, self._clock())

    def _clock(self) -> float:
        return time.time() if self.now is None else self.now

    def _show_title(self) -> None:
        if self.data is None:
            return
        run = self.data.run
        live = " · live" if self.monitor is not None else ""
        title = f"Run {run.id} · {run.status}{live} · {run.backend} · {run.base_model}"
        self.query_one("#run-title", Static).update(title)

    def _show_state(
        self, run: Run, state: RunState, progress: Progress, *, details: bool = True
    ) -> None:
        """What the run's state decides: the header, and with `details` the summary and the
        metrics table (a live page repaints those less often: they are bigger, and change less)."""
        assert self.data is not None
        self.progress = progress
        if details:
            self._details_at = time.monotonic()
            self._show_details(run)
        losses = {
            name: [value for _, value in self.data.series.get(name, [])[-SPARK_POINTS:]]
            for name in ("train_loss", "valid_loss")
        }
        self.query_one(RunHeader).show(state, progress, losses)

    def _show_details(self, run: Run) -> None:
        assert self.data is not None
        details = self.query_one(RunDetails)
        details.show(
            summary=describe_summary(run, self.now),
            metrics=describe_metrics(self.data.summary),
            artifacts=describe_artifacts(self.data.artifacts, self.data.summary, run.run_dir),
        )

    # -- following a live run -------------------------------------------------------------------

    def _start_monitor(self, data: RunPageData) -> None:
        from ftui.services.launcher import LOG_FILE

        run = data.run
        self.monitor = ProcessMonitor(
            self.store,
            run.id,
            history_from=run.events_offset,
            events_path=run.events_path,
            output_path=run.run_dir / LOG_FILE if data.has_output else None,
            output_offset=data.output_offset,
        )
        self.monitor.start()

    def _stop_monitor(self, timeout: float = 0) -> None:
        if self.monitor is not None:
            self.monitor.stop(timeout=timeout)
            self.monitor = None

    def _tick(self) -> None:
        """Take what the monitor gathered since the last tick, and repaint once."""
        monitor = self.monitor
        if monitor is None or self.data is None:
            return
        batch = monitor.drain(self._clock())
        if batch is not None:
            if batch.finished:
                self.monitor = None  # before the batch is shown: the title says "live" no more
            self._apply(batch)
            if batch.finished:
                self._show_title()
                if monitor.error is not None:
                    self.notify(
                        f"Following the run stopped: {monitor.error}",
                        title=f"Run {self.run_id}",
                        severity="error",
                        markup=False,
                    )
                self.load()  # the final state, from the store
                return
        now = time.monotonic()
        if self._chart_dirty and now - self._chart_drawn_at >= CHART_INTERVAL:
            self._draw_chart()
        if batch is None and self._details_stale and now - self._details_at >= DETAILS_INTERVAL:
            self._details_stale = False  # the last batch's, once the log went quiet
            self._details_at = now
            self._show_details(self.data.run)
        if batch is None and now - self._clock_at >= CLOCK_INTERVAL:
            self._clock_at = now
            progress = monitor.progress(self._clock())
            if progress is not None:
                self.query_one(RunHeader).show_progress(progress, self.data.run.status)

    def _apply(self, batch: MonitorBatch) -> None:
        assert self.data is not None
        self.repaints += 1
        self.live_events += len(batch.event_lines) + sum(len(p) for p in batch.metrics.values())
        for name, points in batch.metrics.items():
            self.data.series.setdefault(name, []).extend(points)
            add_to_summary(self.data.summary, name, points)
        # The best checkpoint is picked among all saved so far, not those at the page's opening.
        self.data.artifacts.extend(batch.artifacts)
        if batch.metrics:
            self._chart_dirty = True
        if batch.event_lines:
            self.query_one("#run-events", LogPanel).append(batch.event_lines)
        if batch.output_lines:
            self.query_one("#run-output", LogPanel).append(batch.output_lines)
        run = live_run(self.data.run, batch.state)
        if run.status != self.data.run.status:
            self.data.run = run
            self._show_title()
            self.refresh_bindings()
        self.data.run = run
        self.data.state = batch.state
        details = batch.finished or time.monotonic() - self._details_at >= DETAILS_INTERVAL
        self._details_stale = not details
        self._show_state(run, batch.state, batch.progress, details=details)
        for alert in batch.alerts:
            self.notify(
                alert.message + (f"\nTry: {alert.advice}" if alert.advice else ""),
                title=f"Run {run.id}: {alert.kind}",
                severity="warning",
                timeout=10,
                markup=False,
            )

    # -- chart ----------------------------------------------------------------------------------

    def _draw_chart(self) -> None:
        chart = self.query_one(LossChart)
        self._chart_dirty = False
        self._chart_drawn_at = time.monotonic()
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

    def action_toggle_smoothing(self) -> None:
        chart = self.query_one(LossChart)
        chart.toggle_smoothing()
        self.notify(
            f"Smoothing: EMA {chart.smoothing:g}" if chart.smoothing else "Smoothing off: raw",
            title="Chart",
            timeout=2,
        )

    def action_smoothing(self, direction: int) -> None:
        chart = self.query_one(LossChart)
        weight = round(min(0.99, max(0.0, chart.smoothing + direction * SMOOTHING_STEP)), 2)
        chart.set_smoothing(weight)
        self.notify(f"Smoothing: EMA {weight:g}", title="Chart", timeout=2)

    def action_zoom(self) -> None:
        self.query_one(LossChart).cycle_zoom()

    # -- logs -----------------------------------------------------------------------------------

    def action_switch_log(self) -> None:
        if self.data is not None and self.data.has_output:
            self._show_output = not self._show_output
            self._place_logs()

    def _shown_log(self) -> LogPanel:
        panels = [panel for panel in self.query(LogPanel) if panel.display]
        return panels[0] if panels else self.query_one("#run-events", LogPanel)

    def action_search_log(self) -> None:
        self._shown_log().action_open_search()

    # -- actions --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_dataset":
            return self.data is not None and self.data.dataset_state in ("unchanged", "changed")
        if action in ("export", "archive", "delete", "compare"):
            return self.data is not None
        if action == "judge_best":
            return self._best_checkpoint_spec() is not None
        if action == "switch_log":
            return self.data is not None and self.data.has_output
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

    def action_judge(self) -> None:
        self.dismiss(RunPageResult(changed=self._changed, judge_run=self.run_id))

    def action_judge_best(self) -> None:
        best = best_checkpoint(self.data.artifacts, self.data.summary) if self.data else None
        if best is not None and self.data and checkpoint_removed(best[0], self.data.run.run_dir):
            self.notify(
                f"The best checkpoint (step {best[0].get('step')}) has been removed: the trainer "
                "keeps only the newest save_total_limit. Raise it for the next run, or judge the "
                "run itself (J).",
                title="Judge",
                severity="warning",
                markup=False,
            )
            return
        spec = self._best_checkpoint_spec()
        if spec is None:
            self.notify(
                "No checkpoint with an eval loss to pick: judge the run itself (J).",
                title="Judge",
                severity="warning",
            )
            return
        self.dismiss(RunPageResult(changed=self._changed, judge_run=self.run_id, judge_model=spec))

    def _best_checkpoint_spec(self) -> str | None:
        """The model spec of the best checkpoint: its model name for an OpenAI run, its adapter
        on the run's base for a local one."""
        if self.data is None:
            return None
        best = best_checkpoint(self.data.artifacts, self.data.summary)
        if best is None:
            return None
        record, _ = best
        if record.get("model_id"):
            return f"openai:{record['model_id']}"
        path = Path(str(record.get("path", "")))
        if not path.is_absolute():
            path = self.data.run.run_dir / path
        return f"local:{self.data.run.base_model}+{path}"

    def action_reload(self) -> None:
        self._stop_monitor()  # the page reads everything again, and follows on from there
        self.load()

    def action_toggle_side(self) -> None:
        """Open the details over the right of the page (all of it on a narrow terminal), or close
        them; the chart and logs beneath keep their place and size."""
        self.query_one(RunDetails).toggle()

    def action_control(self, action: str) -> None:
        if self.data is not None and self.check_action("control", (action,)):
            control_run(self, self.services, self.data.run, action, on_done=self._after_change)

    def action_compare(self) -> None:
        from ftui.tui.screens.pick_run import PickRunScreen
        from ftui.tui.screens.runs_compare import CompareScreen

        if self.data is None:
            return
        run = self.data.run

        def picked(other: str | None) -> None:
            if other:
                self.app.push_screen(CompareScreen(self.store, [run.id, other], now=self.now))

        self.app.push_screen(PickRunScreen(self.store, run), picked)

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
        if self.monitor is None:
            self.load()

    def _after_delete(self) -> None:
        self._stop_monitor()
        self.dismiss(RunPageResult(changed=True))
