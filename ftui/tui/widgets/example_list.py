"""The dataset browser: one line per example, painted on demand from a row source.

A `ScrollView` with the Line API, like Textual's `Log` and toolong's `LogLines`: only the visible
lines are ever rendered, each from `source.row(position)`, so a million examples cost no more to
show than fifty. The list holds no copy of the data; it is told what to show (a source, an optional
filtered view, marks, matches) and reports what happened (`Highlighted`, `MarksChanged`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.cache import LRUCache
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ftui.tui.keymap import command, nav
from ftui.tui.widgets.line_api import set_virtual_height


class RowLike(Protocol):
    """What the list needs of a row (`ftui.core.editing.row_summary.RowSummary` has it)."""

    number: int
    turns: int
    roles: str
    first_user: str
    tokens: int | None
    findings: Sequence[tuple[str, str]]
    edited: bool


class RowNotReady(Exception):
    """A row source may raise this when it cannot answer now (busy); the row shows as pending
    and is painted again on the next refresh."""


class RowSource(Protocol):
    """Anything with a length and a cheap `row(position)` (a `DatasetSession`, or a test double)."""

    def __len__(self) -> int: ...

    def row(self, pos: int) -> RowLike: ...


SEVERITY_GLYPHS = {"error": "✖", "warning": "▲", "info": "●"}
ROLES_WIDTH = 11
TURNS_WIDTH = 5
TOKENS_WIDTH = 8
BADGES_WIDTH = 22


def _fit(text: str, width: int, *, right: bool = False) -> str:
    """`text` cut (with an ellipsis) or padded to exactly `width` cells."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    padding = " " * (width - cell_len(text))
    return padding + text if right else text + padding


def _badges(findings: Sequence[tuple[str, str]], width: int) -> tuple[str, str | None]:
    """The worst finding's code and how many more, e.g. "✖ duplicate_example +2"."""
    if not findings:
        return "", None
    code, severity = findings[0]
    more = f" +{len(findings) - 1}" if len(findings) > 1 else ""
    glyph = SEVERITY_GLYPHS.get(str(severity), "?")
    if width < 8:
        return f"{glyph}{len(findings)}", str(severity)
    room = width - cell_len(glyph) - 1 - len(more)
    return f"{glyph} {_fit(code, room).rstrip()}{more}", str(severity)


class ExampleList(ScrollView, can_focus=True, inherit_bindings=False):
    """A virtual list of examples with a cursor, marks and search matches."""

    COMMAND_GROUP = "Example list"
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "example-list--header",
        "example-list--cursor",
        "example-list--marked",
        "example-list--match",
        "example-list--dim",
        "example-list--error",
        "example-list--warning",
        "example-list--info",
    }
    BINDINGS: ClassVar = [
        nav("up,k", "cursor_up", "Previous example"),
        nav("down,j", "cursor_down", "Next example"),
        nav("pageup,ctrl+b", "page_up", "Page up"),
        nav("pagedown,ctrl+f", "page_down", "Page down"),
        nav("home,g", "first", "First example"),
        nav("end,G", "last", "Last example", key_display="end/G"),
        command(
            "enter",
            "open",
            "Open",
            "Go to the example's conversation (there, enter edits the selected message).",
        ),
        command(
            "space",
            "toggle_mark",
            "Mark",
            "Mark or unmark the example under the cursor, for a bulk delete or export.",
            show=True,
        ),
        command(
            "M",
            "clear_marks",
            "Clear marks",
            "Unmark every marked example.",
        ),
    ]

    @dataclass
    class Highlighted(Message):
        """The cursor moved to another example (`position` is None when the list is empty)."""

        example_list: ExampleList
        position: int | None

        @property
        def control(self) -> ExampleList:
            return self.example_list

    @dataclass
    class Opened(Message):
        """The user asks to look into the example under the cursor."""

        example_list: ExampleList
        position: int

    @dataclass
    class MarksChanged(Message):
        example_list: ExampleList
        count: int

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._source: RowSource | None = None
        self._view: Sequence[int] | None = None
        self._count = 0
        self.cursor = 0
        self.marks: set[int] = set()
        self.matches: frozenset[int] = frozenset()
        self._strips: LRUCache[tuple[Any, ...], Strip] = LRUCache(1024)
        self._last_posted: int | None = -1
        self._retry_pending = False

    # -- what the parent tells the list ---------------------------------------------------------

    @property
    def source(self) -> RowSource | None:
        return self._source

    def set_source(self, source: RowSource | None) -> None:
        """Show another dataset (or none); cursor, marks, matches and filter start afresh."""
        self._source = source
        self._view = None
        self.cursor = 0
        self.marks.clear()
        self.matches = frozenset()
        self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh_rows()

    def set_view(self, positions: Sequence[int] | None) -> None:
        """Show only `positions` (ascending: a filter), or every example again with None."""
        keep = self.position
        self._view = positions
        self.refresh_rows()
        if keep is not None:
            self.go_to_position(keep)

    @property
    def filtered(self) -> bool:
        return self._view is not None

    def set_matches(self, positions: frozenset[int]) -> None:
        self.matches = positions
        self._strips.clear()
        self.refresh()

    def set_marks(self, positions: set[int]) -> None:
        self.marks = set(positions)
        self._strips.clear()
        self.refresh()
        self.post_message(self.MarksChanged(self, len(self.marks)))

    def refresh_rows(self, *, repaint: bool = True) -> None:
        """Re-read the row count; with `repaint`, forget painted rows too (their content
        changed). More rows arriving from the indexer change nothing already painted."""
        source = self._source
        if source is None:
            self._count = 0
        elif self._view is not None:
            self._count = len(self._view)
        else:
            self._count = len(source)
        # One header line above the rows.
        set_virtual_height(self, self._count + 1)
        self.cursor = max(0, min(self.cursor, self._count - 1))
        if repaint:
            self._strips.clear()
            self.refresh()
        self._post_highlighted()

    # -- what the parent asks of the list -------------------------------------------------------

    @property
    def row_count(self) -> int:
        return self._count

    def position_at(self, index: int) -> int:
        """The dataset position shown on row `index` of the list."""
        return self._view[index] if self._view is not None else index

    @property
    def position(self) -> int | None:
        """The dataset position under the cursor."""
        return self.position_at(self.cursor) if self._count else None

    def go_to_position(self, position: int) -> bool:
        """Move the cursor to a dataset position; False when the filter hides it."""
        if self._view is None:
            if not 0 <= position < self._count:
                return False
            self.move_cursor(position)
            return True
        # Filtered views are ascending (search results come in file order).
        index = bisect_left(self._view, position)
        if index >= len(self._view) or self._view[index] != position:
            return False
        self.move_cursor(index)
        return True

    def move_cursor(self, index: int) -> None:
        if not self._count:
            return
        index = max(0, min(index, self._count - 1))
        old = self.cursor
        self.cursor = index
        self._scroll_cursor_into_view()
        self._refresh_index(old)
        self._refresh_index(index)
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
        self.move_cursor(self._count - 1)

    def action_open(self) -> None:
        if self.position is not None:
            self.post_message(self.Opened(self, self.position))

    def action_toggle_mark(self) -> None:
        position = self.position
        if position is None:
            return
        if position in self.marks:
            self.marks.discard(position)
        else:
            self.marks.add(position)
        self._refresh_index(self.cursor)
        self.post_message(self.MarksChanged(self, len(self.marks)))
        self.move_cursor(self.cursor + 1)

    def action_clear_marks(self) -> None:
        self.set_marks(set())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_marks":
            return bool(self.marks)
        if action in ("toggle_mark", "open"):
            return self._count > 0
        return True

    async def _on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y - 1
        if event.y >= 1 and 0 <= index < self._count:
            self.move_cursor(index)

    def on_resize(self, event: events.Resize) -> None:
        self._strips.clear()
        set_virtual_height(self, self._count + 1)
        self._scroll_cursor_into_view()

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

    def _refresh_index(self, index: int) -> None:
        self.refresh_line(index + 1)

    def _retry_rows(self) -> None:
        self._retry_pending = False
        self.refresh()

    def _post_highlighted(self) -> None:
        position = self.position
        if position != self._last_posted:
            self._last_posted = position
            self.post_message(self.Highlighted(self, position))

    def _number_width(self) -> int:
        return max(3, len(f"{len(self._source) if self._source is not None else 0:,}"))

    def _columns(self, width: int) -> tuple[int, int, int, int, int, int]:
        """Widths of: number, turns, roles, tokens, badges, first user text."""
        number = self._number_width()
        fixed = 2 + number + 1 + TURNS_WIDTH + 1 + ROLES_WIDTH + 1 + TOKENS_WIDTH + 1
        badges = BADGES_WIDTH if width - fixed >= BADGES_WIDTH + 20 else 4
        text = max(0, width - fixed - badges - 1)
        return number, TURNS_WIDTH, ROLES_WIDTH, TOKENS_WIDTH, badges, text

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._render_header(width)
        index = self.scroll_offset.y + y - 1
        if not 0 <= index < self._count or self._source is None:
            return Strip.blank(width, self.rich_style)
        position = self.position_at(index)
        flags = (
            index == self.cursor,
            position in self.marks,
            position in self.matches,
            self.has_focus,
        )
        key = (position, width, *flags)
        strip = self._strips.get(key)
        if strip is None:
            try:
                strip = self._render_row(position, width, *flags)
            except RowNotReady:
                if not self._retry_pending:  # paint it again once the source is free
                    self._retry_pending = True
                    self.set_timer(0.1, self._retry_rows)
                dim = self.rich_style + self.get_component_rich_style("example-list--dim")
                return Strip([Segment(_fit(f"  {position + 1:,}  …", width), dim)], width)
            self._strips[key] = strip
        return strip

    def _render_header(self, width: int) -> Strip:
        number, turns, roles, tokens, badges, text = self._columns(width)
        title = "first user message" + (" (filtered)" if self._view is not None else "")
        label = (
            "  "
            + _fit("#", number, right=True)
            + " "
            + _fit("turns", turns, right=True)
            + " "
            + _fit("roles", roles)
            + " "
            + _fit("tokens", tokens, right=True)
            + " "
            + _fit("findings", badges)
            + " "
            + _fit(title, text)
        )
        style = self.rich_style + self.get_component_rich_style("example-list--header")
        return Strip([Segment(_fit(label, width), style)], width)

    def _render_row(
        self, position: int, width: int, cursor: bool, marked: bool, match: bool, focused: bool
    ) -> Strip:
        assert self._source is not None
        base = self.rich_style
        if cursor:
            cursor_style = self.get_component_rich_style("example-list--cursor")
            base = base + (cursor_style if focused else Style(bgcolor=cursor_style.bgcolor))
        dim = base + self.get_component_rich_style("example-list--dim", partial=True)
        number, turns, roles, tokens, badges, text = self._columns(width)
        try:
            row = self._source.row(position)
        except RowNotReady:
            raise
        except Exception as exc:  # a row that can't be read is shown, not fatal
            message = _fit(f"  {position + 1:>{number},}  unreadable: {exc}", width)
            return Strip([Segment(message, dim)], width)
        mark_style = base + self.get_component_rich_style("example-list--marked", partial=True)
        number_style = (
            base + self.get_component_rich_style("example-list--match", partial=True)
            if match
            else base
        )
        badge_text, severity = _badges(row.findings, badges)
        badge_style = (
            base + self.get_component_rich_style(f"example-list--{severity}", partial=True)
            if severity
            else base
        )
        token_text = f"{row.tokens:,}" if row.tokens is not None else "…"
        segments = [
            Segment("●" if marked else " ", mark_style),
            Segment("*" if row.edited else " ", mark_style),
            Segment(_fit(f"{row.number:,}", number, right=True), number_style),
            Segment(" " + _fit(str(row.turns), turns, right=True) + " ", base),
            Segment(_fit(row.roles, roles), dim),
            Segment(" " + _fit(token_text, tokens, right=True) + " ", base),
            Segment(_fit(badge_text, badges), badge_style),
            Segment(" " + _fit(row.first_user, text), base),
        ]
        return Strip(segments).adjust_cell_length(width, base)
