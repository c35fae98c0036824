"""The run history as a table: one line per run, painted on demand.

A `ScrollView` with the Line API (like `ExampleList`), not a `DataTable`: only the visible lines are
rendered, so ten thousand runs open and scroll as fast as ten. The table is told which runs to show
(`set_runs`) and reports the cursor (`Highlighted`), Enter (`Opened`) and marks (`MarksChanged`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ftui.services.runs import NUMERIC_COLUMNS, run_row
from ftui.services.store import Run
from ftui.tui.keymap import command, nav

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


def fit(text: str, width: int, *, right: bool = False) -> str:
    """`text` cut (with an ellipsis) or padded to exactly `width` cells."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    padding = " " * (width - cell_len(text))
    return padding + text if right else text + padding


def column_widths(width: int) -> list[int]:
    """Each column's width for a table `width` cells wide (one space between columns)."""
    fixed = sum(w for _, _, w in COLUMNS) + len(COLUMNS) - 1 + MARK_WIDTH
    flexible = [i for i, (_, _, w) in enumerate(COLUMNS) if w == 0]
    room = max(len(flexible) * 8, width - fixed)
    widths = [w for _, _, w in COLUMNS]
    for n, index in enumerate(flexible):
        widths[index] = room // len(flexible) + (1 if n < room % len(flexible) else 0)
    return widths


class RunsTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Runs, newest first, with a cursor and marks (for compare, delete, archive)."""

    COMMAND_GROUP = "Runs table"
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "runs-table--header",
        "runs-table--cursor",
        "runs-table--marked",
        "runs-table--dim",
        *(f"runs-table--{status}" for status in STATUS_STYLES),
    }
    DEFAULT_CSS = """
    RunsTable {
        height: 1fr;
        background: $surface;
        scrollbar-gutter: stable;
    }
    RunsTable > .runs-table--header { text-style: bold; color: $text-muted; }
    RunsTable > .runs-table--cursor { background: $block-cursor-background; }
    RunsTable > .runs-table--marked { color: $accent; text-style: bold; }
    RunsTable > .runs-table--dim { color: $text-muted; }
    RunsTable > .runs-table--running { color: $warning; text-style: bold; }
    RunsTable > .runs-table--queued { color: $warning; }
    RunsTable > .runs-table--succeeded { color: $success; }
    RunsTable > .runs-table--failed { color: $error; text-style: bold; }
    RunsTable > .runs-table--cancelled { color: $text-muted; }
    """
    BINDINGS: ClassVar = [
        nav("up,k", "cursor_up", "Previous run"),
        nav("down,j", "cursor_down", "Next run"),
        nav("pageup,ctrl+b", "page_up", "Page up"),
        nav("pagedown,ctrl+f", "page_down", "Page down"),
        nav("home,g", "first", "Newest run"),
        nav("end,G", "last", "Oldest run", key_display="end/G"),
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
        self.cursor = 0
        self.marks: set[str] = set()
        self.now: float | None = None  # fixed "now" for durations of running runs (tests)
        self._rows: LRUCache[str, dict[str, str]] = LRUCache(2048)
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(512)
        self._last_posted: str | None = ""

    # -- what the parent tells the table --------------------------------------------------------

    def set_runs(self, runs: Sequence[Run]) -> None:
        """Show these runs; the cursor stays on the same run when it is still there."""
        keep = self.run_id
        self.runs = runs
        ids = {run.id for run in runs}
        self.marks &= ids
        self._rows.clear()
        self._strips.clear()
        self.virtual_size = Size(0, len(runs) + 1)
        index = next((i for i, run in enumerate(runs) if run.id == keep), None)
        self.cursor = max(0, min(self.cursor if index is None else index, len(runs) - 1))
        self._scroll_cursor_into_view()
        self.refresh()
        self._post_highlighted()

    def update_runs(self, runs: Sequence[Run]) -> None:
        """Replace the shown runs that have these ids (a refresh of the runs still going)."""
        fresh = {run.id: run for run in runs}
        self.runs = [fresh.get(run.id, run) for run in self.runs]
        for run_id in fresh:
            self._rows.discard(run_id)
        self._strips.clear()
        self.refresh()

    def set_marks(self, run_ids: set[str]) -> None:
        self.marks = set(run_ids)
        self._strips.clear()
        self.refresh()
        self.post_message(self.MarksChanged(self, len(self.marks)))

    # -- what the parent asks of the table ------------------------------------------------------

    @property
    def run_id(self) -> str | None:
        return self.runs[self.cursor].id if self.runs else None

    @property
    def marked_in_order(self) -> list[str]:
        """Marked run ids in table order (newest first)."""
        return [run.id for run in self.runs if run.id in self.marks]

    def move_cursor(self, index: int) -> None:
        if not self.runs:
            return
        index = max(0, min(index, len(self.runs) - 1))
        old, self.cursor = self.cursor, index
        self._scroll_cursor_into_view()
        self.refresh_line(old + 1)
        self.refresh_line(index + 1)
        self._post_highlighted()

    # -- keys -----------------------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor - self._page_rows)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + self._page_rows)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self.runs) - 1)

    def action_open(self) -> None:
        if (run_id := self.run_id) is not None:
            self.post_message(self.Opened(self, run_id))

    def action_toggle_mark(self) -> None:
        run_id = self.run_id
        if run_id is None:
            return
        self.marks.symmetric_difference_update({run_id})
        self.refresh_line(self.cursor + 1)
        self.post_message(self.MarksChanged(self, len(self.marks)))
        self.move_cursor(self.cursor + 1)

    def action_clear_marks(self) -> None:
        self.set_marks(set())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_marks":
            return bool(self.marks)
        if action in ("open", "toggle_mark"):
            return bool(self.runs)
        return True

    async def _on_click(self, event: events.Click) -> None:
        index = round(self.scroll_offset.y) + event.y - 1
        if event.y >= 1 and 0 <= index < len(self.runs):
            self.move_cursor(index)
            if event.chain == 2:
                self.action_open()

    def on_resize(self, event: events.Resize) -> None:
        self._strips.clear()
        self._scroll_cursor_into_view()

    def on_focus(self) -> None:
        self._strips.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._strips.clear()
        self.refresh()

    # -- painting -------------------------------------------------------------------------------

    @property
    def _page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def _scroll_cursor_into_view(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_offset.y)
        if self.cursor < top:
            top = self.cursor
        elif self.cursor >= top + visible:
            top = self.cursor - visible + 1
        if top != round(self.scroll_offset.y):
            self.scroll_to(y=top, animate=False, immediate=True)

    def _post_highlighted(self) -> None:
        run_id = self.run_id
        if run_id != self._last_posted:
            self._last_posted = run_id
            self.post_message(self.Highlighted(self, run_id))

    def row_texts(self, index: int) -> dict[str, str]:
        """The strings shown for the run at `index` (cached: a 10,000-run table formats lazily)."""
        run = self.runs[index]
        row = self._rows.get(run.id)
        if row is None:
            row = run_row(run, self.now)
            self._rows[run.id] = row
        return row

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._render_header(width)
        index = round(self.scroll_offset.y) + y - 1
        if not 0 <= index < len(self.runs):
            return Strip.blank(width, self.rich_style)
        run = self.runs[index]
        flags = (index == self.cursor, run.id in self.marks, self.has_focus)
        key = (run.id, width, *flags)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._render_row(index, width, *flags)
            self._strips[key] = strip
        return strip

    def _render_header(self, width: int) -> Strip:
        widths = column_widths(width)
        cells = [
            fit(header, w, right=name in NUMERIC_COLUMNS)
            for (name, header, _), w in zip(COLUMNS, widths, strict=True)
        ]
        text = " " * MARK_WIDTH + " ".join(cells)
        style = self.rich_style + self.get_component_rich_style("runs-table--header")
        return Strip([Segment(fit(text, width), style)], width)

    def _render_row(
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
        for n, ((name, _, _), w) in enumerate(zip(COLUMNS, column_widths(width), strict=True)):
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
