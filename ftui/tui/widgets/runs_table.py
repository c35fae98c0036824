"""The run history as a table: one line per run, painted on demand.

A `ScrollView` with the Line API (like `ExampleList`), not a `DataTable`: only the visible lines are
rendered, so ten thousand runs open and scroll as fast as ten. The table is told which runs to show
(`set_runs`) and reports the cursor (`Highlighted`), Enter (`Opened`) and marks (`MarksChanged`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.message import Message
from textual.strip import Strip

from ftui.services.runs import NUMERIC_COLUMNS, run_row
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
    ("train_loss", "train loss", 10),
    ("valid_loss", "valid loss", 10),
    ("duration", "duration", 8),
    ("cost", "cost", 8),
)
STATUS_STYLES = ("running", "succeeded", "failed", "cancelled", "queued")
MARK_WIDTH = 2

__all__ = ["COLUMNS", "DROPPED_FIRST", "RunsTable", "column_widths", "fit"]


# On a narrow table these columns go first, in this order (80 columns keep the other seven).
DROPPED_FIRST = ("cost", "duration", "epochs", "backend", "examples", "valid_loss")
MIN_FLEXIBLE_WIDTH = 8


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
    for n, index in enumerate(flexible):
        widths[index] = room // len(flexible) + (1 if n < room % len(flexible) else 0)
    return widths


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

    # -- what the parent tells the table --------------------------------------------------------

    def set_runs(self, runs: Sequence[Run], *, select: str | None = None) -> None:
        """Show these runs; the cursor goes to `select` when given and shown, else it stays on
        the same run when that is still there."""
        keep = select if select is not None and any(r.id == select for r in runs) else self.run_id
        self.runs = runs
        ids = {run.id for run in runs}
        self.marks &= ids
        self._rows.clear()
        index = next((i for i, run in enumerate(runs) if run.id == keep), None)
        if index is not None:
            self.cursor = index
        self.rows_changed()
        self.scroll_cursor_into_view()
        self.post_highlighted()

    def update_runs(self, runs: Sequence[Run]) -> None:
        """Replace the shown runs that have these ids (a refresh of the runs still going)."""
        fresh = {run.id: run for run in runs}
        self.runs = [fresh.get(run.id, run) for run in self.runs]
        for run_id in fresh:
            self._rows.discard(run_id)
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
            fit(header, w, right=name in NUMERIC_COLUMNS)
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
        row = self.row_texts(index)
        status = self.runs[index].status
        segments = [
            Segment(
                "● " if marked else "  ",
                base + self.get_component_rich_style("runs-table--marked", partial=True),
            )
        ]
        shown = [
            (name, w) for (name, _, _), w in zip(COLUMNS, column_widths(width), strict=True) if w
        ]
        for n, (name, w) in enumerate(shown):
            style = base
            if name == "status" and status in STATUS_STYLES:
                style = base + self.get_component_rich_style(f"runs-table--{status}", partial=True)
            elif name in ("id", "backend"):
                style = base + self.get_component_rich_style("runs-table--dim", partial=True)
            text = fit(row[name], w, right=name in NUMERIC_COLUMNS)
            segments.append(Segment(text if n == 0 else " " + text, style))
        used = sum(cell_len(segment.text) for segment in segments)
        if used < width:
            segments.append(Segment(" " * (width - used), base))
        return Strip(segments, width).crop(0, width)
