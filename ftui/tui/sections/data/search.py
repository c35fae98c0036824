"""The Data section's search: a query typed in the search bar runs in a thread worker over the
whole dataset (cancellable), matches stream in and are highlighted; n / N walk them, f shows only
them, escape forgets them."""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.markup import escape
from textual.worker import get_current_worker

from ftui.tui.keymap import command
from ftui.tui.sections.data.base import PROGRESS_INTERVAL, DataSectionBase, WorkerReport
from ftui.tui.shared_session import Cancelled, SharedSession

if TYPE_CHECKING:
    from ftui.core.editing.search import Query
    from ftui.tui.widgets.search_bar import SearchBar


@dataclass
class SearchProgress(WorkerReport):
    generation: int
    positions: list[int]
    scanned: int
    done: bool


@dataclass
class SearchFailed(WorkerReport):
    generation: int
    error: str


def next_position(positions: Any, current: int | None, direction: int) -> int:
    """The next (or previous) of sorted `positions` after `current`, wrapping around."""
    if current is None:
        return int(positions[0] if direction > 0 else positions[-1])
    if direction > 0:
        index = bisect_right(positions, current)
        return int(positions[index] if index < len(positions) else positions[0])
    index = bisect_left(positions, current) - 1
    return int(positions[index] if index >= 0 else positions[-1])


class SearchCommands(DataSectionBase):
    BINDINGS: ClassVar = [
        command(
            "slash",
            "search",
            "Search",
            "Search: words, /regex/, role:user, code:FINDING, tokens>N.",
            show=True,
        ),
        command("n", "next_match(1)", "Next match", "Go to the next search match."),
        command("N", "next_match(-1)", "Previous match", "Go to the previous search match."),
        command(
            "f", "toggle_filter", "Only matches", "Show only the examples that match the search."
        ),
        command("escape", "clear_search", "Clear search", "Forget the search and its filter."),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._query: Query | None = None
        self._search_generation = 0
        self._matches: array[int] = array("q")
        self._search_done = True
        self._search_scanned = 0
        self._jump_to_first_match = False

    @property
    def search_query(self) -> Query | None:
        return self._query

    @property
    def matches(self) -> array[int]:
        """Positions matching the search so far, ascending."""
        return self._matches

    def _search_bar(self) -> SearchBar:
        """The bar (mounted by the first `/`: start-up does not pay for it)."""
        from ftui.tui.widgets.search_bar import SearchBar

        return self.query_one(SearchBar)

    def _hide_search_bar(self) -> None:
        from ftui.tui.widgets.search_bar import SearchBar

        for bar in self.query(SearchBar):
            bar.display = False

    def _forget_dataset(self) -> None:
        super()._forget_dataset()
        self._query = None
        self._search_generation += 1
        self._matches = array("q")
        self._hide_search_bar()

    async def action_search(self) -> None:
        from ftui.tui.widgets.search_bar import SearchBar

        if not self.query(SearchBar):
            await self.mount(SearchBar(id="search-bar"), before=0)
        bar = self._search_bar()
        bar.open()
        bar.show_status("enter searches · esc closes")

    def on_search_bar_submitted(self, event: SearchBar.Submitted) -> None:
        from ftui.tui.widgets.search_bar import parse_query

        text = event.text.strip()
        if not text:
            self.action_clear_search()
            return
        try:
            query = parse_query(text)
        except ValueError as exc:
            self._search_bar().show_status(f"[b red]{escape(str(exc))}[/]")
            return
        self._run_search(query)
        self._search_bar().input.display = False
        self.focus_list()

    def on_search_bar_closed(self, event: SearchBar.Closed) -> None:
        bar = self._search_bar()
        if self._query is None:
            bar.display = False
        else:
            bar.input.display = False
        self.focus_list()

    def _after_change_search(self) -> None:
        if self._query is not None:
            self._run_search(self._query, keep_cursor=True)

    def _run_search(self, query: Query, *, keep_cursor: bool = False) -> None:
        if self.session is None:
            return
        self._query = query
        self._search_generation += 1
        self._matches = array("q")
        self._search_done = False
        self._search_scanned = 0
        self._jump_to_first_match = not keep_cursor
        example_list = self.example_list
        example_list.set_matches(frozenset())
        if example_list.filtered:
            example_list.set_view(self._matches)
        self._search_bar().display = True
        self._show_search_status()
        self._search(self.session, query, self._search_generation)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search(self, shared: SharedSession, query: Query, generation: int) -> None:
        from ftui.core.editing.search import iter_matches

        worker = get_current_worker()
        reads = shared.for_worker(lambda: worker.is_cancelled)
        batch: list[int] = []
        last = time.monotonic()
        try:
            for position in iter_matches(reads, query):
                batch.append(position)
                if time.monotonic() - last >= PROGRESS_INTERVAL:
                    self.post_message(SearchProgress(generation, batch, position + 1, False))
                    batch, last = [], time.monotonic()
        except Cancelled:
            return
        except ValueError as exc:
            self.post_message(SearchFailed(generation, str(exc)))
            return
        self.post_message(SearchProgress(generation, batch, len(shared), done=True))

    @on(SearchProgress)
    def _search_progress(self, event: SearchProgress) -> None:
        if event.generation != self._search_generation:
            return
        first = not self._matches and bool(event.positions)
        self._matches.extend(event.positions)
        self._search_done = event.done
        self._search_scanned = event.scanned
        example_list = self.example_list
        example_list.set_matches(frozenset(self._matches))
        if example_list.filtered:
            example_list.refresh_rows()
        if first and self._jump_to_first_match:
            self._jump_to_first_match = False
            self.example_list.go_to_position(self._matches[0])
        self._update_list_title()
        self._show_search_status()

    @on(SearchFailed)
    def _search_failed(self, event: SearchFailed) -> None:
        if event.generation == self._search_generation:
            self._query = None
            self._search_bar().show_status(f"[b red]{escape(event.error)}[/]")
            self.refresh_bindings()

    def _show_search_status(self) -> None:
        if self._query is None:
            return
        count = len(self._matches)
        state = f"{count:,} match{'es' if count != 1 else ''}"
        total = len(self.session) if self.session is not None else 0
        if not self._search_done and total:
            state += f" (searching… {self._search_scanned * 100 // total}%)"
        only = " · only matches shown (f)" if self.example_list.filtered else " · f: only matches"
        self._search_bar().show_status(
            f"[b]{escape(self._query.describe())}[/b] — {state} · n/N walk{only} · esc clears"
        )

    def action_next_match(self, direction: int) -> None:
        if not self._matches:
            self.notify("No matches." if self._search_done else "No match yet: still searching.")
            return
        target = next_position(self._matches, self.example_list.position, direction)
        self.example_list.go_to_position(target)

    def action_toggle_filter(self) -> None:
        example_list = self.example_list
        example_list.set_view(None if example_list.filtered else self._matches)
        self._update_list_title()
        self._show_search_status()

    def action_clear_search(self) -> None:
        self.workers.cancel_group(self, "search")
        self._query = None
        self._search_generation += 1
        self._matches = array("q")
        example_list = self.example_list
        example_list.set_matches(frozenset())
        if example_list.filtered:
            example_list.set_view(None)
        bar = self._search_bar()
        bar.input.value = ""
        bar.display = False
        self._update_list_title()
        self.focus_list()
        self.refresh_bindings()

    def _clear_filter_for(self, position: int) -> None:
        example_list = self.example_list
        index = bisect_left(self._matches, position)
        hidden = index >= len(self._matches) or self._matches[index] != position
        if example_list.filtered and hidden:
            example_list.set_view(None)
            self._update_list_title()
            self._show_search_status()

    def _list_title_extra(self) -> str:
        example_list = self.example_list
        return f" · {example_list.row_count:,} matching" if example_list.filtered else ""
