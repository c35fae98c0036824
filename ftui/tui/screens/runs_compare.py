"""Two or more runs side by side: one metric's curves on one chart, a results table, and their
configs as a diff (what was the same is hidden until asked for)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from ftui.services.runs import format_duration, format_metric
from ftui.services.store import Run, RunStore
from ftui.tui.keymap import command
from ftui.tui.widgets.config_diff import ConfigDiff
from ftui.tui.widgets.loss_chart import LossChart
from ftui.tui.widgets.runs_table import fit

CHART_POINTS = 300
PREFERRED_METRICS = ("train_loss", "valid_loss")


@dataclass
class CompareData:
    runs: list[Run]
    series: list[dict[str, list[tuple[int, float]]]]  # per run: name -> points

    @property
    def metric_names(self) -> list[str]:
        names = sorted({name for run_series in self.series for name in run_series})
        preferred = [name for name in PREFERRED_METRICS if name in names]
        return preferred + [name for name in names if name not in preferred]


def comparable_config(run: Run) -> dict[str, Any]:
    """A run's config plus what else decides its outcome (model, backend, data)."""
    dataset = run.dataset
    return {
        "run": {
            "base_model": run.base_model,
            "backend": run.backend,
            "dataset": f"{dataset.name} ({dataset.sha256[:8]})" if dataset else None,
        },
        **run.config,
    }


def results_table(runs: list[Run], now: float | None = None) -> str:
    header = (
        f"{'run':<10} {'status':<11} {'base model':<24} {'train loss':>10} "
        f"{'valid loss':>10} {'steps':>7} {'duration':>9}"
    )
    lines = [f"[dim]{header}[/]"]
    for run in runs:
        line = (
            f"{run.id:<10} {run.status:<11} {fit(run.base_model, 24)} "
            f"{format_metric(run.final_metrics.get('train_loss')):>10} "
            f"{format_metric(run.final_metrics.get('valid_loss')):>10} "
            f"{run.last_step if run.last_step is not None else '-':>7} "
            f"{format_duration(run.duration(now)):>9}"
        )
        lines.append(escape(line))
    return "\n".join(lines)


class CompareScreen(Screen[None]):
    COMMAND_GROUP = "Compare"
    DEFAULT_CSS = """
    CompareScreen #compare-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    CompareScreen #compare-results { padding: 0 1; height: auto; }
    CompareScreen #compare-chart { height: 1fr; min-height: 10; }
    """
    BINDINGS: ClassVar = [
        command("escape,q", "close", "Back", "Back to the list of runs.", show=True),
        command("m", "next_metric", "Metric", "Chart the next metric for every run.", show=True),
        command("s", "toggle_smoothing", "Smoothing", "Smooth the curves (EMA) or show them raw."),
        command("z", "zoom", "Zoom", "Chart the last 1000, 200, 50 steps, then the whole run."),
    ]

    def __init__(self, store: RunStore, run_ids: list[str], *, now: float | None = None) -> None:
        super().__init__()
        self.store = store
        self.run_ids = run_ids
        self.now = now
        self.data: CompareData | None = None
        self.metric_index = 0

    def compose(self) -> ComposeResult:
        yield Static(f"Comparing {len(self.run_ids)} runs · loading…", id="compare-title")
        yield Static("", id="compare-results")
        yield LossChart(id="compare-chart")
        yield ConfigDiff(id="compare-config")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="compare-load", exit_on_error=False)
    def load(self) -> CompareData:
        runs, series = [], []
        for run_id in self.run_ids:
            self.store.ingest_events(run_id)
            run = self.store.get_run(run_id)
            runs.append(run)
            series.append(self.store.metrics(run.id, max_points=CHART_POINTS))
        return CompareData(runs, series)

    @on(Worker.StateChanged)
    def _loaded(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "compare-load":
            return
        if event.state == WorkerState.SUCCESS and isinstance(event.worker.result, CompareData):
            self.show(event.worker.result)
        elif event.state == WorkerState.ERROR:
            self.query_one("#compare-title", Static).update(
                f"Could not compare: {event.worker.error}"
            )

    def show(self, data: CompareData) -> None:
        self.data = data
        self.query_one("#compare-title", Static).update(
            f"Comparing {len(data.runs)} runs · m: next metric · x: show/hide shared config keys"
        )
        self.query_one("#compare-results", Static).update(results_table(data.runs, self.now))
        self.query_one(ConfigDiff).set_configs(
            [run.id for run in data.runs], [comparable_config(run) for run in data.runs]
        )
        self._draw_chart()

    @property
    def metric(self) -> str | None:
        if self.data is None or not self.data.metric_names:
            return None
        names = self.data.metric_names
        return names[self.metric_index % len(names)]

    def _draw_chart(self) -> None:
        chart = self.query_one(LossChart)
        metric = self.metric
        if self.data is None or metric is None:
            chart.set_series({}, title="no metrics")
            return
        chart.set_series(
            {
                f"{run.id} {run.base_model}": run_series.get(metric, [])
                for run, run_series in zip(self.data.runs, self.data.series, strict=True)
            },
            title=metric,
        )

    def action_next_metric(self) -> None:
        self.metric_index += 1
        self._draw_chart()

    def action_toggle_smoothing(self) -> None:
        self.query_one(LossChart).toggle_smoothing()

    def action_zoom(self) -> None:
        self.query_one(LossChart).cycle_zoom()

    def action_close(self) -> None:
        self.dismiss(None)
