"""The Line API lists (the example list, the runs table) and what they share.

`CursorList` is a `ScrollView` painted line by line (`render_line`), like Textual's `Log` and
toolong's `LogLines`: one header line, then one line per row, only the visible ones ever rendered.
It holds the cursor, the paging keys, the marks, the click and the cache of painted lines once;
a subclass says how many rows there are, what marks a row, how to paint the header and a row, and
which messages to post.

Textual's `virtual_size` is a reactive that lays the whole screen out again when it changes,
which costs tens of milliseconds on a screen this busy: too much for every cursor move. Views that
always show their vertical scrollbar (`overflow-y: scroll`) can never change their layout with a
new virtual height, so `set_virtual_height` updates only the scrollbar and the scroll limits.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import ClassVar, Generic, TypeVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from ftui.tui.keymap import nav

HEADER_LINES = 1


def fit(text: str, width: int, *, right: bool = False) -> str:
    """`text` cut (with an ellipsis) or padded to exactly `width` cells."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    padding = " " * (width - cell_len(text))
    return padding + text if right else text + padding


def set_virtual_height(view: ScrollView, height: int) -> None:
    """Change `view`'s virtual height without a screen layout (needs `overflow-y: scroll`)."""
    size = Size(0, height)
    if size == view.virtual_size:
        return
    if not view.is_mounted or view.styles.overflow_y != "scroll":
        view.virtual_size = size  # before the first layout, or a view that may lose its bar
        return
    view.set_reactive(Widget.virtual_size, size)
    # What a layout would do for a bar that is always there: its range, then the scroll limits.
    bar = view.vertical_scrollbar
    bar.window_virtual_size = height
    bar.window_size = view.container_size.height - view.scrollbar_size_horizontal
    bar.refresh()
    view.scroll_y = view.validate_scroll_y(view.scroll_y)
    view.refresh()


def cursor_bindings(*, up: str, down: str, first: str, last: str) -> list[Binding]:
    """The movement keys every cursor list has, described in its own words."""
    return [
        nav("up,k", "cursor_up", up),
        nav("down,j", "cursor_down", down),
        nav("pageup,ctrl+b", "page_up", "Page up"),
        nav("pagedown,ctrl+f", "page_down", "Page down"),
        nav("home,g", "first", first),
        nav("end,G", "last", last, key_display="end/G"),
    ]


class RowNotReady(Exception):
    """A row source may raise this when it cannot answer now (busy); the row shows as pending
    and is painted again on the next refresh."""


MarkKey = TypeVar("MarkKey", bound=Hashable)
_NOTHING_POSTED = object()  # so that the first highlight is always posted


class CursorList(ScrollView, Generic[MarkKey], can_focus=True, inherit_bindings=False):
    """One header line and `row_count` rows, with a cursor that scrolls into view and marks."""

    OPEN_ON_DOUBLE_CLICK: ClassVar[bool] = False
    STRIP_CACHE_SIZE: ClassVar[int] = 1024

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.cursor = 0
        self.marks: set[MarkKey] = set()
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(self.STRIP_CACHE_SIZE)
        self._last_posted: object = _NOTHING_POSTED
        self._retry_pending = False

    # -- what a subclass provides ---------------------------------------------------------------

    @property
    def row_count(self) -> int:
        raise NotImplementedError

    def mark_key(self, index: int) -> MarkKey:
        """What identifies row `index` in `marks` (and in `Highlighted`)."""
        raise NotImplementedError

    def row_cache_key(self, index: int) -> tuple[object, ...]:
        """What a painted row depends on besides its width, cursor, mark and focus."""
        return (self.mark_key(index),)

    def render_header(self, width: int) -> Strip:
        raise NotImplementedError

    def render_row(
        self, index: int, width: int, cursor: bool, marked: bool, focused: bool
    ) -> Strip:
        """Row `index`, `width` cells wide; may raise `RowNotReady`."""
        raise NotImplementedError

    def render_pending(self, index: int, width: int) -> Strip:
        """What a row shows while its source is busy."""
        return Strip.blank(width, self.rich_style)

    def highlighted_message(self, key: MarkKey | None) -> Message:
        raise NotImplementedError

    def marks_changed_message(self, count: int) -> Message:
        raise NotImplementedError

    def action_open(self) -> None:
        """Enter on a row (and a double click where `OPEN_ON_DOUBLE_CLICK`)."""

    # -- rows and marks -------------------------------------------------------------------------

    @property
    def highlighted_key(self) -> MarkKey | None:
        return self.mark_key(self.cursor) if self.row_count else None

    def rows_changed(self, *, repaint: bool = True) -> None:
        """Take in a new `row_count`: the scroll range, the cursor kept inside it, and with
        `repaint` every painted row forgotten (their content changed)."""
        set_virtual_height(self, self.row_count + HEADER_LINES)
        self.cursor = max(0, min(self.cursor, self.row_count - 1))
        if repaint:
            self._strips.clear()
            self.refresh()

    def set_marks(self, keys: set[MarkKey]) -> None:
        self.marks = set(keys)
        self._strips.clear()
        self.refresh()
        self.post_message(self.marks_changed_message(len(self.marks)))

    def move_cursor(self, index: int) -> None:
        if not self.row_count:
            return
        index = max(0, min(index, self.row_count - 1))
        old, self.cursor = self.cursor, index
        self.scroll_cursor_into_view()
        self.refresh_line(old + HEADER_LINES)
        self.refresh_line(index + HEADER_LINES)
        self.post_highlighted()

    def post_highlighted(self) -> None:
        """Say where the cursor is, when that changed since last said."""
        key = self.highlighted_key
        if key != self._last_posted:
            self._last_posted = key
            self.post_message(self.highlighted_message(key))

    def scroll_cursor_into_view(self) -> None:
        visible = max(1, self.scrollable_content_region.height - HEADER_LINES)
        top = round(self.scroll_offset.y)
        if self.cursor < top:
            top = self.cursor
        elif self.cursor >= top + visible:
            top = self.cursor - visible + 1
        if top != round(self.scroll_offset.y):
            self.scroll_to(y=top, animate=False, immediate=True)

    # -- keys -----------------------------------------------------------------------------------

    @property
    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor - self.page_rows)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + self.page_rows)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.row_count - 1)

    def action_toggle_mark(self) -> None:
        if not self.row_count:
            return
        self.marks.symmetric_difference_update({self.mark_key(self.cursor)})
        self.refresh_line(self.cursor + HEADER_LINES)
        self.post_message(self.marks_changed_message(len(self.marks)))
        self.move_cursor(self.cursor + 1)

    def action_clear_marks(self) -> None:
        self.set_marks(set())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_marks":
            return bool(self.marks)
        if action in ("open", "toggle_mark"):
            return self.row_count > 0
        return True

    async def _on_click(self, event: events.Click) -> None:
        index = round(self.scroll_offset.y) + event.y - HEADER_LINES
        if event.y >= HEADER_LINES and 0 <= index < self.row_count:
            self.move_cursor(index)
            if self.OPEN_ON_DOUBLE_CLICK and event.chain == 2:
                self.action_open()

    def on_resize(self, event: events.Resize) -> None:
        self._strips.clear()
        set_virtual_height(self, self.row_count + HEADER_LINES)
        self.scroll_cursor_into_view()

    def on_focus(self) -> None:
        self.refresh()  # the cursor row looks different with the focus (part of its cache key)

    def on_blur(self) -> None:
        self.refresh()

    # -- painting -------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y < HEADER_LINES:
            return self.render_header(width)
        index = round(self.scroll_offset.y) + y - HEADER_LINES
        if not 0 <= index < self.row_count:
            return Strip.blank(width, self.rich_style)
        flags = (index == self.cursor, self.mark_key(index) in self.marks, self.has_focus)
        key = (*self.row_cache_key(index), width, *flags)
        strip = self._strips.get(key)
        if strip is None:
            try:
                strip = self.render_row(index, width, *flags)
            except RowNotReady:
                if not self._retry_pending:  # paint it again once the source is free
                    self._retry_pending = True
                    self.set_timer(0.1, self._retry_rows)
                return self.render_pending(index, width)
            self._strips[key] = strip
        return strip

    def _retry_rows(self) -> None:
        self._retry_pending = False
        self.refresh()

    def text_strip(self, text: str, width: int, component: str) -> Strip:
        """One line of `text` in a component style, cut or padded to `width`."""
        style = self.rich_style + self.get_component_rich_style(component)
        return Strip([Segment(fit(text, width), style)], width)
