"""The top of a run's page: where the run is (step, epoch, elapsed, ETA, rate), its loss at a
glance (sparklines), what it uses (GPU memory and use, or CPU and RAM), and its alerts.

`RunHeader.show(state, progress, losses)` repaints it; the page calls it at most about ten times
a second, whatever the run's log does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.markup import escape
from rich.progress_bar import ProgressBar
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ftui.core.runs.kinds import AlertEvent
from ftui.core.runs.progress import Progress, format_progress
from ftui.core.runs.sparkline import sparkline
from ftui.core.runs.state import RunState
from ftui.services.runs import format_metric

SPARK_WIDTH = 24
ALERTS_SHOWN = 3

# Resource metrics a local run logs with each step (see ftui.train.callback), as shown.
RESOURCES = (
    ("gpu_memory_gb", "GPU {:.1f} GB"),
    ("gpu_utilization", "{:.0f}% use"),
    ("cpu_percent", "CPU {:.0f}%"),
    ("ram_gb", "RAM {:.1f} GB"),
)


def loss_glance(losses: Mapping[str, Sequence[float]], width: int = SPARK_WIDTH) -> str:
    """ "train ▇▅▄▃▂▁ 0.4120 · eval ▆▅▅ 0.5200": both on one scale, so they can be compared."""
    shown = {name: values for name, values in losses.items() if values}
    if not shown:
        return ""
    finite = [v for values in shown.values() for v in values if v == v and abs(v) != float("inf")]
    low, high = (min(finite), max(finite)) if finite else (None, None)
    parts = []
    for name, label in (("train_loss", "train"), ("valid_loss", "eval")):
        values = shown.get(name)
        if values:
            # As wide as it has points, up to `width`: a few evaluations are a short line.
            spark = sparkline(values, min(width, len(values)), low=low, high=high)
            parts.append(f"{label} [$accent]{spark}[/] {format_metric(values[-1])}")
    return " · ".join(parts)


def resources_text(metrics: Mapping[str, float]) -> str:
    return " · ".join(fmt.format(metrics[name]) for name, fmt in RESOURCES if name in metrics)


def describe_alerts(alerts: Sequence[AlertEvent], shown: int = ALERTS_SHOWN) -> str:
    """The latest alerts, each with the steps it saw and what to try."""
    lines = []
    for alert in alerts[-shown:]:
        steps = ""
        if alert.steps:
            first, last = min(alert.steps), max(alert.steps)
            steps = f" at step {first}" if first == last else f" at steps {first}–{last}"
        lines.append(f"[b $warning]⚠ {escape(alert.kind)}{steps}[/]: {escape(alert.message)}")
        if alert.advice:
            lines.append(f"  [dim]try: [/]{escape(alert.advice)}")
    if len(alerts) > shown:
        lines.append(f"[dim]… {len(alerts) - shown} earlier alerts in the events log[/]")
    return "\n".join(lines)


def update_text(widget: Static, text: str) -> None:
    """Show `text` in `widget`, without a layout of the screen unless its number of lines
    changed: a layout costs tens of milliseconds, and a live page updates ten times a second."""
    last = getattr(widget, "_shown_text", None)
    if text == last:
        return
    layout = last is None or text.count("\n") != last.count("\n")
    widget._shown_text = text  # type: ignore[attr-defined]
    widget.update(text, layout=layout)


class RunHeader(Vertical):
    DEFAULT_CSS = """
    RunHeader { height: auto; padding: 0 1; border-bottom: solid $panel; }
    RunHeader #header-progress { height: 1; }
    RunHeader #header-bar { height: 1; }
    RunHeader #header-bar.-unknown { display: none; }
    RunHeader #header-glance { height: 1; }
    RunHeader #header-alerts { height: auto; max-height: 7; }
    RunHeader #header-alerts.-empty { display: none; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="header-progress", markup=False)
        yield Static("", id="header-bar", classes="-unknown")
        yield Static("", id="header-glance")
        yield Static("", id="header-alerts", classes="-empty")

    def show(
        self,
        state: RunState,
        progress: Progress,
        losses: Mapping[str, Sequence[float]],
    ) -> None:
        update_text(
            self.query_one("#header-progress", Static), format_progress(progress) or state.status
        )
        bar = self.query_one("#header-bar", Static)
        known = bool(progress.max_steps)
        if bar.has_class("-unknown") == known:
            bar.set_class(not known, "-unknown")
        if known and progress.step != getattr(bar, "_shown_step", None):
            bar._shown_step = progress.step  # type: ignore[attr-defined]
            bar.update(
                ProgressBar(total=progress.max_steps, completed=progress.step or 0), layout=False
            )
        glance = [loss_glance(losses), resources_text(state.last_metrics)]
        shown = " · ".join(part for part in glance if part) or "[dim]no metrics yet[/]"
        update_text(self.query_one("#header-glance", Static), shown)
        alerts = self.query_one("#header-alerts", Static)
        if alerts.has_class("-empty") == bool(state.alerts):
            alerts.set_class(not state.alerts, "-empty")
        if state.alerts:
            update_text(alerts, describe_alerts(state.alerts))

    def show_progress(self, progress: Progress, status: str) -> None:
        """Only the first line: elapsed and ETA move while the log is quiet."""
        update_text(self.query_one("#header-progress", Static), format_progress(progress) or status)
