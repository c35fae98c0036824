"""The run page's streamed log: `LogView` (the lines) and `LogPanel` (with a status bar and search).

`LogView` is a `ScrollView` painted with the Line API, like Textual's `Log` and toolong's
`LogLines`, built for a stream that may flood: `append` only stores lines in a fixed-size ring
(the oldest dropped and counted) and marks the view dirty; a 10 Hz timer takes in whatever
arrived since the last tick in one repaint, so a thousand appends between two ticks cost one.
Painted lines are cached by their number in the stream, which the ring's dropping does not change.

At the bottom the view follows new lines. Scrolling up (keys, wheel, scrollbar) pauses it and
counts the lines that arrived since; `End` or `f` follows again. Lines longer than the view are
cut; `left`/`right` scroll sideways. `search` finds a plain text in any case, `next_match` and
`previous_match` go from one match to the next, and matches are highlighted.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events, on
from textual.app import ComposeResult
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static

from ftui.core.importing.problems import count
from ftui.core.runs.log_lines import Level, LogLine
from ftui.tui.keymap import command, nav
from ftui.tui.widgets.line_api import set_virtual_height

DEFAULT_MAX_LINES = 20_000
REPAINT_INTERVAL = 0.1  # seconds: about ten repaints a second, however fast lines arrive
SIDE_STEP = 8  # columns per left/right

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True)
class LogStatus:
    """What the status bar says about a log view."""

    following: bool
    lines: int
    new_lines: int = 0  # arrived while paused
    dropped: int = 0  # older lines let go of by the ring
    pattern: str = ""
    match_number: int = 0  # 1-based; 0: no current match
    match_count: int = 0

    def describe(self) -> str:
        if self.pattern:
            where = f"{self.match_number:,}/{self.match_count:,}" if self.match_count else "none"
            parts = [f"search {self.pattern!r}: {where}"]
        else:
            parts = []
        if self.following:
            parts += ["following", count(self.lines, "line")]
        else:
            parts += ["paused", count(self.new_lines, "new line"), "End to follow"]
        if self.dropped:
            parts.append(f"{self.dropped:,} older dropped")
        return " · ".join(parts)


_Held = tuple[str, Level, float | None]  # a held line: text, level, ts


class LogView(ScrollView, can_focus=True, inherit_bindings=False):
    """A bounded, followed, searchable log of `LogLine`s."""

    COMMAND_GROUP = "Log"
    STRIP_CACHE_SIZE: ClassVar[int] = 2048
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "log-view--debug",
        "log-view--info",
        "log-view--warning",
        "log-view--error",
        "log-view--match",
        "log-view--match-current",
    }
    DEFAULT_CSS = """
    LogView {
        overflow-y: scroll;
        overflow-x: hidden;
        background: $surface;
        color: $text;
        height: 1fr;
    }
    LogView:focus { background-tint: $foreground 5%; }
    LogView > .log-view--debug { color: $text-muted; }
    LogView > .log-view--info { }
    LogView > .log-view--warning { color: $text-warning; }
    LogView > .log-view--error { color: $text-error; text-style: bold; }
    LogView > .log-view--match { background: $warning 35%; }
    LogView > .log-view--match-current { background: $accent; color: $text; text-style: bold; }
    """
    BINDINGS: ClassVar = [
        nav("up,k", "scroll_lines(-1)", "Line up"),
        nav("down,j", "scroll_lines(1)", "Line down"),
        nav("pageup,ctrl+b", "scroll_pages(-1)", "Page up"),
        nav("pagedown,ctrl+f", "scroll_pages(1)", "Page down"),
        nav("home,g", "oldest", "Oldest line"),
        nav("left,h", "scroll_sideways(-1)", "Scroll left"),
        nav("right,l", "scroll_sideways(1)", "Scroll right"),
        command(
            "end,f",
            "follow",
            "Follow",
            "Jump to the newest line and follow the new ones as they arrive",
            key_display="end/f",
        ),
    ]

    class StatusChanged(Message):
        """Following, the line counts or the search position changed (posted at most per tick
        or per command)."""

        def __init__(self, view: LogView, status: LogStatus) -> None:
            super().__init__()
            self.view = view
            self.status = status

        @property
        def control(self) -> LogView:
            return self.view

    def __init__(
        self,
        max_lines: int = DEFAULT_MAX_LINES,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        if max_lines < 1:
            raise ValueError(f"max_lines must be at least 1, not {max_lines}")
        super().__init__(id=id, classes=classes)
        self.max_lines = max_lines
        # Held as plain (text, level, ts) tuples, not LogLines: the collector untracks a tuple of
        # strings and numbers, so a flood's lines never reach the old generation it walks in full
        # (40,000 held LogLines made every full collection a 50-140 ms pause of the UI).
        self._ring: list[_Held | None] = [None] * max_lines
        self._total = 0  # lines ever appended (since the last clear): the next line's number
        self._shown_first = 0  # the first line's number at the last repaint
        self._dirty = False
        self._following = True
        self._new_lines = 0
        self._scrolling_self = False
        self._x = 0
        self._widest = 0
        self._strips: LRUCache[tuple[int, int, int, bool], Strip] = LRUCache(self.STRIP_CACHE_SIZE)
        self._pattern = ""
        self._matches: list[int] = []  # line numbers, ascending
        self._match_at: int | None = None
        self._last_status: LogStatus | None = None
        self._style_of: dict[str, Style] = {}
        self.repaints = 0  # ticks that took in new lines and repainted

    # -- what is held ---------------------------------------------------------------------------

    @property
    def line_count(self) -> int:
        return min(self._total, self.max_lines)

    @property
    def first_number(self) -> int:
        """The stream number of the oldest line held."""
        return self._total - self.line_count

    @property
    def dropped(self) -> int:
        return self.first_number

    @property
    def repaint_pending(self) -> bool:
        """Lines (or a change) wait for the next tick."""
        return self._dirty

    @property
    def following(self) -> bool:
        return self._following

    @property
    def new_lines(self) -> int:
        return self._new_lines

    @property
    def search_pattern(self) -> str:
        return self._pattern

    @property
    def match_count(self) -> int:
        return len(self._matches)

    @property
    def current_match(self) -> int | None:
        """The row (0 = the oldest held line) of the current match."""
        return None if self._match_at is None else self._match_at - self.first_number

    def line(self, row: int) -> LogLine:
        """The held line at `row` (0 = the oldest held)."""
        if not 0 <= row < self.line_count:
            raise IndexError(f"row {row} is outside the {self.line_count} lines held")
        held = self._ring[(self.first_number + row) % self.max_lines]
        assert held is not None
        return LogLine(*held)

    @property
    def lines(self) -> list[LogLine]:
        return [self.line(row) for row in range(self.line_count)]

    @property
    def status(self) -> LogStatus:
        number = 0
        if self._match_at is not None:
            number = bisect_left(self._matches, self._match_at) + 1
        return LogStatus(
            following=self._following,
            lines=self.line_count,
            new_lines=self._new_lines,
            dropped=self.dropped,
            pattern=self._pattern,
            match_number=number,
            match_count=len(self._matches),
        )

    # -- taking lines in ------------------------------------------------------------------------

    def append(self, lines: Iterable[LogLine]) -> None:
        """Store lines; they show at the next tick. Cheap: no painting, no layout."""
        batch = lines if isinstance(lines, list) else list(lines)
        if not batch:
            return
        count = len(batch)
        if count > self.max_lines:  # only the newest can be kept anyway
            skipped = count - self.max_lines
            self._total += skipped
            batch = batch[skipped:]
        ring, size, number = self._ring, self.max_lines, self._total
        start = number % size
        head = min(len(batch), size - start)
        held: list[_Held | None] = [(line.text, line.level, line.ts) for line in batch]
        ring[start : start + head] = held[:head]
        if head < len(batch):
            ring[: len(batch) - head] = held[head:]
        if self._pattern:
            needle = self._pattern
            self._matches.extend(
                number + offset for offset, line in enumerate(batch) if needle in line.text.lower()
            )
        self._widest = max(self._widest, max(len(line.text) for line in batch))
        self._total = number + len(batch)
        if not self._following:
            self._new_lines += count
        self._dirty = True

    def clear(self) -> None:
        """Forget every line (and the search's matches; the pattern stays)."""
        self._ring = [None] * self.max_lines
        self._total = self._shown_first = self._new_lines = self._widest = self._x = 0
        self._matches.clear()
        self._match_at = None
        self._strips.clear()
        self._following = True
        self._dirty = True

    def on_mount(self) -> None:
        self.set_interval(REPAINT_INTERVAL, self._tick)
        self._tick()

    def _tick(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        first = self.first_number
        shifted = first - self._shown_first
        self._shown_first = first
        if self._matches and self._matches[0] < first:
            del self._matches[: bisect_left(self._matches, first)]
            if self._match_at is not None and self._match_at < first:
                self._match_at = None
        self._scrolling_self = True
        try:
            set_virtual_height(self, self.line_count)
            if self._following:
                self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
            elif shifted > 0:
                # The lines on screen moved up the ring as older ones went: stay on them.
                self.scroll_to(y=max(0, self.scroll_y - shifted), animate=False, immediate=True)
        finally:
            self._scrolling_self = False
        self.refresh()
        self.repaints += 1
        self._post_status()

    def _post_status(self) -> None:
        status = self.status
        if status != self._last_status:
            self._last_status = status
            self.post_message(self.StatusChanged(self, status))

    # -- following ------------------------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self._scrolling_self:
            # Moved by the person (keys, wheel, scrollbar): at the bottom it follows, else not.
            self._set_following(round(new_value) >= self.max_scroll_y)

    def _set_following(self, following: bool) -> None:
        if following == self._following:
            return
        self._following = following
        self._new_lines = 0
        if following:
            self._dirty = True  # catch up at once on the next tick
        self._post_status()

    def action_follow(self) -> None:
        self._set_following(True)
        self._scroll_self(self.max_scroll_y)
        self._new_lines = 0
        self._post_status()

    def _scroll_self(self, y: float) -> None:
        self._scrolling_self = True
        try:
            self.scroll_to(y=y, animate=False, immediate=True)
        finally:
            self._scrolling_self = False

    # -- moving ---------------------------------------------------------------------------------

    @property
    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def action_scroll_lines(self, rows: int) -> None:
        self.scroll_to(y=self.scroll_y + rows, animate=False, immediate=True)

    def action_scroll_pages(self, pages: int) -> None:
        self.action_scroll_lines(pages * self.page_rows)

    def action_oldest(self) -> None:
        self.scroll_to(y=0, animate=False, immediate=True)

    def action_scroll_sideways(self, steps: int) -> None:
        width = self.scrollable_content_region.width
        limit = max(0, self._widest - width + SIDE_STEP)
        x = max(0, min(limit, self._x + steps * SIDE_STEP))
        if x != self._x:
            self._x = x
            self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._dirty = True
        self._tick()

    # -- search ---------------------------------------------------------------------------------

    def search(self, pattern: str) -> int:
        """Find `pattern` (plain text, any case) in the held lines and go to the match nearest
        the newest (when following) or the first one from the top of the view. Returns how many
        lines match; an empty pattern ends the search."""
        self._pattern = pattern.lower()
        self._match_at = None
        self._strips.clear()
        if not self._pattern:
            self._matches = []
            self.refresh()
            self._post_status()
            return 0
        first, needle = self.first_number, self._pattern
        self._matches = [
            first + row
            for row in range(self.line_count)
            if needle in self._ring[(first + row) % self.max_lines][0].lower()  # type: ignore[index]
        ]
        if self._matches:
            if self._following:
                self._go_to_match(self._matches[-1])
            else:
                top = first + round(self.scroll_y)
                index = bisect_left(self._matches, top)
                self._go_to_match(self._matches[min(index, len(self._matches) - 1)])
        self.refresh()
        self._post_status()
        return len(self._matches)

    def next_match(self) -> None:
        """Go to the next match down (round to the first after the last)."""
        if not self._matches:
            return
        if self._match_at is None:
            top = self.first_number + round(self.scroll_y)
            index = bisect_left(self._matches, top)
        else:
            index = bisect_right(self._matches, self._match_at)
        self._go_to_match(self._matches[index % len(self._matches)])

    def previous_match(self) -> None:
        """Go to the match above (round to the last after the first)."""
        if not self._matches:
            return
        if self._match_at is None:
            bottom = self.first_number + round(self.scroll_y) + self.page_rows
            index = bisect_right(self._matches, bottom) - 1
        else:
            index = bisect_left(self._matches, self._match_at) - 1
        self._go_to_match(self._matches[index % len(self._matches)])

    def _go_to_match(self, number: int) -> None:
        self._match_at = number
        self._strips.clear()
        self._dirty = True
        self._tick()  # take in what arrived: the match's row is counted from the current first
        row = number - self.first_number
        height = self.scrollable_content_region.height
        top = round(self.scroll_y)
        if not top <= row < top + height:
            top = max(0, row - height // 2)
        following = top >= self.max_scroll_y
        self._scroll_self(top)
        self._set_following(following)
        self.refresh()
        self._post_status()

    # -- painting -------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._forget_paint()

    def on_focus(self) -> None:
        self._forget_paint()  # `:focus` tints the background

    def on_blur(self) -> None:
        self._forget_paint()

    def _forget_paint(self) -> None:
        self._strips.clear()
        self._style_of.clear()
        self.refresh()

    def _style(self, name: str) -> Style:
        """The view's style ("") or one of its components' over it; computed once per style
        change (reading styles walks the DOM: too slow for every painted line)."""
        style = self._style_of.get(name)
        if style is None:
            style = self.rich_style
            if name:
                style = style + self.get_component_rich_style(name)
            self._style_of[name] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        row = round(self.scroll_y) + y
        if not 0 <= row < self.line_count:
            return Strip.blank(width, self._style(""))
        number = self.first_number + row
        current = number == self._match_at
        key = (number, width, self._x, current)
        strip = self._strips.get(key)
        if strip is None:
            held = self._ring[number % self.max_lines]
            assert held is not None
            painted = self._paint(held[0], held[1], current)
            strip = painted.crop_extend(self._x, self._x + width, self._style(""))
            self._strips[key] = strip
        return strip

    def _paint(self, text: str, level: str, current: bool) -> Strip:
        if _CONTROL.search(text):
            text = _CONTROL.sub("�", text)
        base = self._style(f"log-view--{level}")
        if not self._pattern:
            return Strip([Segment(text, base)])
        mark = base + self._style("log-view--match-current" if current else "log-view--match")
        return Strip(_highlighted(text, self._pattern, base, mark))


def _highlighted(text: str, needle: str, base: Style, mark: Style) -> list[Segment]:
    """`text` in `base`, with every case-insensitive occurrence of `needle` in `mark`."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a character whose lower case is longer: mark the line
        return [Segment(text, mark if needle in lowered else base)]
    segments: list[Segment] = []
    position = 0
    while (found := lowered.find(needle, position)) >= 0:
        if found > position:
            segments.append(Segment(text[position:found], base))
        segments.append(Segment(text[found : found + len(needle)], mark))
        position = found + len(needle)
    if position < len(text):
        segments.append(Segment(text[position:], base))
    return segments


class LogPanel(Vertical):
    """A `LogView`, a one-line status bar under it, and a search field that `/` opens."""

    COMMAND_GROUP = "Log"
    DEFAULT_CSS = """
    LogPanel { height: 1fr; }
    LogPanel > .log-panel--status { height: 1; color: $text-muted; background: $panel; }
    LogPanel > Input.log-panel--search { display: none; }
    LogPanel.-searching > Input.log-panel--search { display: block; }
    """
    BINDINGS: ClassVar = [
        command("slash", "open_search", "Search", "Search the log for a text (any case)"),
        command("n", "next_match", "Next match", "Go to the next line that matches the search"),
        command("N", "previous_match", "Previous match", "Go to the previous line that matches"),
        command("escape", "close_search", "Close search", "Close the search field"),
    ]

    def __init__(
        self,
        max_lines: int = DEFAULT_MAX_LINES,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.log_view = LogView(max_lines)

    def compose(self) -> ComposeResult:
        yield self.log_view
        # No markup: the status repeats the search text as typed.
        yield Static(self.log_view.status.describe(), markup=False, classes="log-panel--status")
        yield Input(placeholder="search the log: plain text, any case", classes="log-panel--search")

    @property
    def status_bar(self) -> Static:
        return self.query_one(".log-panel--status", Static)

    @property
    def search_input(self) -> Input:
        return self.query_one(".log-panel--search", Input)

    def append(self, lines: Iterable[LogLine]) -> None:
        self.log_view.append(lines)

    def clear(self) -> None:
        self.log_view.clear()

    @on(LogView.StatusChanged)
    def _show_status(self, event: LogView.StatusChanged) -> None:
        event.stop()
        # One line, always: no layout needed (a layout of the screen costs more than a repaint).
        self.status_bar.update(event.status.describe(), layout=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_match", "previous_match"):
            return bool(self.log_view.search_pattern) and not self.search_input.has_focus
        if action == "close_search":
            return self.has_class("-searching")
        return True

    def action_open_search(self) -> None:
        self.add_class("-searching")
        search = self.search_input
        search.value = self.log_view.search_pattern
        search.focus()

    def action_close_search(self) -> None:
        self.remove_class("-searching")
        self.log_view.focus()

    @on(Input.Submitted, ".log-panel--search")
    def _search(self, event: Input.Submitted) -> None:
        event.stop()
        self.log_view.search(event.value)
        self.action_close_search()

    def action_next_match(self) -> None:
        self.log_view.next_match()

    def action_previous_match(self) -> None:
        self.log_view.previous_match()
