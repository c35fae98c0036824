"""The run history as a table: one line per run, painted on demand.

A `ScrollView` with the Line API (like `ExampleList`), not a `DataTable`: only the visible lines are
rendered, so ten thousand runs open and scroll as fast as ten. The table is told which runs to show
(`set_runs`) and reports the cursor (`Highlighted`), Enter (`Opened`) and marks (`MarksChanged`).

The "loss" and "eval" columns show a sparkline of the run's train_loss / valid_loss followed by its
last value (`▇▅▄▃▂▂▁ 0.4120`), both lines of a run on one scale. The series are handed down with the
runs (`set_runs(runs, series=...)`, `update_runs(runs, series=...)`): the table reads nothing
itself, and a run it has no series for shows the number alone. A run under way shows its step in
the status cell (`running 120/400`, or `running 30%` where that is too long).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.message import Message
from textual.strip import Strip

from ftui.core.runs.sparkline import finite_range, sparkline
from ftui.services.runs import NUMERIC_COLUMNS, format_metric, run_row
from ftui.services.store import Run
from ftui.tui.keymap import command
from ftui.tui.widgets.line_api import CursorList, cursor_bindings, fit

# (column, header, width); width 0 shares what is left between the flexible columns.
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("status", "status", 11),
    ("id", "id", 8),
    ("backend", "backend", 7),
    ("base_model", "base model", 0),
    ("dataset", "dataset", 0),
    ("examples", "examples", 9),
    ("epochs", "epochs", 6),
    ("loss", "loss", 14),
    ("eval", "eval", 14),
    ("duration", "duration", 8),
    ("cost", "cost", 8),
)
STATUS_STYLES = ("running", "succeeded", "failed", "cancelled", "queued")
MARK_WIDTH = 2

# The sparkline columns: which series each draws, from the series handed to the table.
SERIES_COLUMNS = {"loss": "train_loss", "eval": "valid_loss"}
SERIES_NAMES = tuple(SERIES_COLUMNS.values())
RIGHT_ALIGNED = NUMERIC_COLUMNS | SERIES_COLUMNS.keys()
Series = Mapping[str, Sequence[float]]  # one run's series by metric name

__all__ = [
    "COLUMNS",
    "DROPPED_FIRST",
    "SERIES_NAMES",
    "RunsTable",
    "column_widths",
    "fit",
    "metric_cell",
    "status_cell",
]


# On a narrow table these columns go first, in this order (80 columns keep the other six).
DROPPED_FIRST = ("cost", "duration", "epochs", "backend", "examples", "eval")
MIN_FLEXIBLE_WIDTH = 8
# On a wide table the flexible columns stop growing here, and what is left widens these, in
# order, by up to so many cells: room for "running 1200/4000" and 24-cell sparklines.
FLEXIBLE_CAP = 30
GROWTH = (("status", 6), ("loss", 17), ("eval", 17))


def column_widths(width: int) -> list[int]:
    """Each column's width for a table `width` cells wide (one space between columns); 0 for a
    column left out because the table is too narrow for every column at its width."""
    widths = [w for _, _, w in COLUMNS]
    names = [name for name, _, _ in COLUMNS]
    flexible = [i for i, (_, _, w) in enumerate(COLUMNS) if w == 0]

    def needed() -> int:
        shown = [w for i, w in enumerate(widths) if w or i in flexible]
        return sum(shown) + len(shown) - 1 + MARK_WIDTH + len(flexible) * MIN_FLEXIBLE_WIDTH

    for name in DROPPED_FIRST:
        if needed() <= width:
            break
        widths[names.index(name)] = 0
    shown = [w for i, w in enumerate(widths) if w or i in flexible]
    fixed = sum(shown) + len(shown) - 1 + MARK_WIDTH
    room = max(len(flexible) * MIN_FLEXIBLE_WIDTH, width - fixed)
    for name, most in GROWTH:
        index = names.index(name)
        spare = room - len(flexible) * FLEXIBLE_CAP
        if spare <= 0:
            break
        if widths[index]:
            grow = min(most, spare)
            widths[index] += grow
            room -= grow
    for n, index in enumerate(flexible):
        widths[index] = room // len(flexible) + (1 if n < room % len(flexible) else 0)
    return widths


def status_cell(run: Run, text: str, width: int) -> str:
    """The status text, with the step of a run under way when it fits in `width`."""
    if run.is_terminal or run.last_step is None:
        return text
    step, total = run.last_step, run.max_steps
    choices = [f"{text} {step:,}/{total:,}", f"{text} {step}/{total}"] if total else []
    if total:
        # A run under way is never "100%": the last step is done, the run is not yet.
        choices.append(f"{text} {min(99, step * 100 // total)}%")
    else:
        choices.append(f"{text} {step:,}")
    return next((choice for choice in choices if cell_len(choice) <= width), text)


def metric_cell(
    values: Sequence[float] | None,
    last: float | None,
    width: int,
    scale: tuple[float, float] | None = None,
) -> tuple[str, str]:
    """(sparkline, number) for a cell `width` wide: the number right-aligned, the sparkline of
    `values` (on `scale` when given) in the room left of it; no sparkline without values."""
    number = format_metric(last if last is not None else (values[-1] if values else None))
    room = width - cell_len(number) - 1
    if not values or room < 2:
        return "", number
    low, high = scale if scale is not None else (None, None)
    return sparkline(values, room, low=low, high=high) + " ", number


class RunsTable(CursorList[str]):
    """Runs, newest first, with a cursor and marks (for compare, delete, archive)."""

    COMMAND_GROUP = "Runs table"
    OPEN_ON_DOUBLE_CLICK = True
    STRIP_CACHE_SIZE = 512
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "runs-table--header",
        "runs-table--cursor",
        "runs-table--marked",
        "runs-table--dim",
        *(f"runs-table--{status}" for status in STATUS_STYLES),
    }
    BINDINGS: ClassVar = [
        *cursor_bindings(up="Previous run", down="Next run", first="Newest run", last="Oldest run"),
        command("enter", "open", "Open", "Open the run under the cursor.", show=True),
        command(
            "space",
            "toggle_mark",
            "Mark",
            "Mark or unmark the run under the cursor (compare, delete or archive marked runs).",
            show=True,
        ),
        command("M", "clear_marks", "Clear marks", "Unmark every marked run."),
    ]

    @dataclass
    class Highlighted(Message):
        runs_table: RunsTable
        run_id: str | None

        @property
        def control(self) -> RunsTable:
            return self.runs_table

    @dataclass
    class Opened(Message):
        runs_table: RunsTable
        run_id: str

        @property
        def control(self) -> RunsTable:
            return self.runs_table

    @dataclass
    class MarksChanged(Message):
        runs_table: RunsTable
        count: int

        @property
        def control(self) -> RunsTable:
            return self.runs_table

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.runs: Sequence[Run] = ()
        self.now: float | None = None  # fixed "now" for durations of running runs (tests)
        self._rows: LRUCache[str, dict[str, str]] = LRUCache(2048)
        self.series: dict[str, Series] = {}  # by run id: the loss series the sparklines draw

    # -- what the parent tells the table --------------------------------------------------------

    def set_runs(
        self,
        runs: Sequence[Run],
        *,
        select: str | None = None,
        series: Mapping[str, Series] | None = None,
    ) -> None:
        """Show these runs; the cursor goes to `select` when given and shown, else it stays on
        the same run when that is still there. `series` (by run id) replaces the sparklines of
        those runs; the others keep theirs while they are shown."""
        keep = select if select is not None and any(r.id == select for r in runs) else self.run_id
        self.runs = runs
        ids = {run.id for run in runs}
        self.series = {run_id: s for run_id, s in self.series.items() if run_id in ids}
        if series:
            self.series.update(series)
        self.marks &= ids
        self._rows.clear()
        index = next((i for i, run in enumerate(runs) if run.id == keep), None)
        if index is not None:
            self.cursor = index
        self.rows_changed()
        self.scroll_cursor_into_view()
        self.post_highlighted()

    def update_runs(
        self, runs: Sequence[Run], *, series: Mapping[str, Series] | None = None
    ) -> None:
        """Replace the shown runs that have these ids (a refresh of the runs still going), and
        the sparklines of those in `series`."""
        fresh = {run.id: run for run in runs}
        self.runs = [fresh.get(run.id, run) for run in self.runs]
        for run_id in fresh:
            self._rows.discard(run_id)
        self.update_series(series or {})

    def update_series(self, series: Mapping[str, Series]) -> None:
        """New sparklines for the shown runs among these (by run id)."""
        shown = {run.id for run in self.runs}
        self.series.update((run_id, s) for run_id, s in series.items() if run_id in shown)
        self._strips.clear()
        self.refresh()

    # -- what the parent asks of the table ------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.runs)

    @property
    def run_id(self) -> str | None:
        return self.runs[self.cursor].id if self.runs else None

    @property
    def marked_in_order(self) -> list[str]:
        """Marked run ids in table order (newest first)."""
        return [run.id for run in self.runs if run.id in self.marks]

    def row_texts(self, index: int) -> dict[str, str]:
        """The strings shown for the run at `index` (cached: a 10,000-run table formats lazily)."""
        run = self.runs[index]
        row = self._rows.get(run.id)
        if row is None:
            row = run_row(run, self.now)
            self._rows[run.id] = row
        return row

    def cell_texts(self, index: int, width: int) -> dict[str, str]:
        """What each shown column of the run at `index` reads at this table width (the
        sparkline and the number together): the row as painted, without styles."""
        return {
            name: "".join(text for text, _ in parts) for name, parts in self._cells(index, width)
        }

    def _cells(self, index: int, width: int) -> list[tuple[str, list[tuple[str, str | None]]]]:
        """Per shown column: its parts, each (text, component class or None), fitted."""
        run = self.runs[index]
        row = self.row_texts(index)
        series = self.series.get(run.id, {})
        shown = [
            (name, w) for (name, _, _), w in zip(COLUMNS, column_widths(width), strict=True) if w
        ]
        scale = finite_range(*(series.get(n, ()) for n in SERIES_NAMES)) if series else None
        status_class = f"runs-table--{run.status}" if run.status in STATUS_STYLES else None
        cells: list[tuple[str, list[tuple[str, str | None]]]] = []
        for name, w in shown:
            if name in SERIES_COLUMNS:
                metric = SERIES_COLUMNS[name]
                line, number = metric_cell(
                    series.get(metric), run.final_metrics.get(metric), w, scale
                )
                if line:
                    spark_class = status_class or "runs-table--marked"
                    cells.append((name, [(line, f"{spark_class}:spark"), (number, None)]))
                else:
                    cells.append((name, [(fit(number, w, right=True), None)]))
            elif name == "status":
                cells.append((name, [(fit(status_cell(run, row["status"], w), w), status_class)]))
            else:
                component = "runs-table--dim" if name in ("id", "backend") else None
                cells.append((name, [(fit(row[name], w, right=name in RIGHT_ALIGNED), component)]))
        return cells

    # -- the CursorList hooks -------------------------------------------------------------------

    def mark_key(self, index: int) -> str:
        return self.runs[index].id

    def highlighted_message(self, key: str | None) -> Message:
        return self.Highlighted(self, key)

    def marks_changed_message(self, count: int) -> Message:
        return self.MarksChanged(self, count)

    def action_open(self) -> None:
        if (run_id := self.run_id) is not None:
            self.post_message(self.Opened(self, run_id))

    # -- painting -------------------------------------------------------------------------------

    def render_header(self, width: int) -> Strip:
        widths = column_widths(width)
        cells = [
            fit(header, w, right=name in RIGHT_ALIGNED)
            for (name, header, _), w in zip(COLUMNS, widths, strict=True)
            if w
        ]
        return self.text_strip(" " * MARK_WIDTH + " ".join(cells), width, "runs-table--header")

    def render_row(
        self, index: int, width: int, cursor: bool, marked: bool, focused: bool
    ) -> Strip:
        base = self.rich_style
        if cursor:
            cursor_style = self.get_component_rich_style("runs-table--cursor")
            base = base + (cursor_style if focused else Style(bgcolor=cursor_style.bgcolor))
        segments = [
            Segment(
                "● " if marked else "  ",
                base + self.get_component_rich_style("runs-table--marked", partial=True),
            )
        ]
        for n, (_, parts) in enumerate(self._cells(index, width)):
            if n:
                segments.append(Segment(" ", base))
            for text, component in parts:
                segments.append(Segment(text, base + self._part_style(component)))
        used = sum(cell_len(segment.text) for segment in segments)
        if used < width:
            segments.append(Segment(" " * (width - used), base))
        return Strip(segments, width).crop(0, width)

    def _part_style(self, component: str | None) -> Style:
        """A part's style; `<class>:spark` is only that class's colour (a sparkline)."""
        if component is None:
            return Style()
        name, _, spark = component.partition(":")
        style = self.get_component_rich_style(name, partial=True)
        return Style(color=style.color) if spark else style
