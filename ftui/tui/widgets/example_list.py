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
from typing import ClassVar, Protocol

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.message import Message
from textual.strip import Strip

from ftui.tui.keymap import command
from ftui.tui.widgets.line_api import CursorList, RowNotReady, cursor_bindings, fit


class RowLike(Protocol):
    """What the list needs of a row (`ftui.core.editing.row_summary.RowSummary` has it)."""

    number: int
    turns: int
    roles: str
    first_user: str
    tokens: int | None
    findings: Sequence[tuple[str, str]]
    edited: bool


class RowSource(Protocol):
    """Anything with a length and a cheap `row(position)` (a `DatasetSession`, or a test double)."""

    def __len__(self) -> int: ...

    def row(self, pos: int) -> RowLike: ...


SEVERITY_GLYPHS = {"error": "✖", "warning": "▲", "info": "●"}
ROLES_WIDTH = 11
TURNS_WIDTH = 5
TOKENS_WIDTH = 8
BADGES_WIDTH = 22
MIN_TEXT_WIDTH = 20  # below this the roles column gives its room to the first message

__all__ = ["ExampleList", "RowLike", "RowNotReady", "RowSource"]


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
    return f"{glyph} {fit(code, room).rstrip()}{more}", str(severity)


class ExampleList(CursorList[int]):
    """A virtual list of examples with a cursor, marks and search matches (marks and
    `Highlighted` speak of dataset positions, the cursor of rows of the list)."""

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
        *cursor_bindings(
            up="Previous example", down="Next example", first="First example", last="Last example"
        ),
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
        self.matches: frozenset[int] = frozenset()

    # -- what the parent tells the list ---------------------------------------------------------

    @property
    def source(self) -> RowSource | None:
        return self._source

    def set_source(self, source: RowSource | None, *, keep_cursor: bool = False) -> None:
        """Show another dataset (or none); cursor, marks, matches and filter start afresh.

        `keep_cursor`: the same rows from a new source (a dataset's first rows, then its
        session), so the cursor and the scroll stay."""
        self._source = source
        if keep_cursor:
            self.refresh_rows()
            return
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
        self.rows_changed(repaint=repaint)
        self.post_highlighted()

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

    # -- the CursorList hooks -------------------------------------------------------------------

    def mark_key(self, index: int) -> int:
        return self.position_at(index)

    def row_cache_key(self, index: int) -> tuple[object, ...]:
        position = self.position_at(index)
        return (position, position in self.matches)

    def highlighted_message(self, key: int | None) -> Message:
        return self.Highlighted(self, key)

    def marks_changed_message(self, count: int) -> Message:
        return self.MarksChanged(self, count)

    def action_open(self) -> None:
        if self.position is not None:
            self.post_message(self.Opened(self, self.position))

    # -- painting -------------------------------------------------------------------------------

    def _number_width(self) -> int:
        return max(3, len(f"{len(self._source) if self._source is not None else 0:,}"))

    def _columns(self, width: int) -> tuple[int, int, int, int, int, int]:
        """Widths of: number, turns, roles, tokens, badges, first user text."""
        number = self._number_width()
        fixed = 2 + number + 1 + TURNS_WIDTH + 1 + ROLES_WIDTH + 1 + TOKENS_WIDTH + 1
        badges = BADGES_WIDTH if width - fixed >= BADGES_WIDTH + MIN_TEXT_WIDTH else 4
        roles = ROLES_WIDTH
        if width - fixed - badges - 1 < MIN_TEXT_WIDTH:
            # A narrow list (80 columns beside the conversation): the first message matters
            # more than the role letters, which the conversation shows anyway.
            roles, fixed = 0, fixed - ROLES_WIDTH
        text = max(0, width - fixed - badges - 1)
        return number, TURNS_WIDTH, roles, TOKENS_WIDTH, badges, text

    def render_header(self, width: int) -> Strip:
        number, turns, roles, tokens, badges, text = self._columns(width)
        title = "first user message" + (" (filtered)" if self._view is not None else "")
        label = (
            "  "
            + fit("#", number, right=True)
            + " "
            + fit("turns", turns, right=True)
            + " "
            + fit("roles", roles)
            + " "
            + fit("tokens", tokens, right=True)
            + " "
            + fit("findings", badges)
            + " "
            + fit(title, text)
        )
        return self.text_strip(label, width, "example-list--header")

    def render_pending(self, index: int, width: int) -> Strip:
        dim = self.rich_style + self.get_component_rich_style("example-list--dim")
        return Strip([Segment(fit(f"  {self.position_at(index) + 1:,}  …", width), dim)], width)

    def render_row(
        self, index: int, width: int, cursor: bool, marked: bool, focused: bool
    ) -> Strip:
        assert self._source is not None
        position = self.position_at(index)
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
            message = fit(f"  {position + 1:>{number},}  unreadable: {exc}", width)
            return Strip([Segment(message, dim)], width)
        mark_style = base + self.get_component_rich_style("example-list--marked", partial=True)
        number_style = (
            base + self.get_component_rich_style("example-list--match", partial=True)
            if position in self.matches
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
            Segment(fit(f"{row.number:,}", number, right=True), number_style),
            Segment(" " + fit(str(row.turns), turns, right=True) + " ", base),
            Segment(fit(row.roles, roles), dim),
            Segment(" " + fit(token_text, tokens, right=True) + " ", base),
            Segment(fit(badge_text, badges), badge_style),
            Segment(" " + fit(row.first_user, text), base),
        ]
        return Strip(segments).adjust_cell_length(width, base)
