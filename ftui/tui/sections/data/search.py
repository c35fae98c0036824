"""The Data section's search: a query typed in the search bar runs in a thread worker over the
whole dataset (cancellable), matches stream in and are highlighted; n / N walk them, f shows only
them, escape forgets them."""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.markup import escape
from textual.worker import get_current_worker

from ftui.tui.sections.data.part import PROGRESS_INTERVAL, DataPart, WorkerReport
from ftui.tui.shared_session import Cancelled, SharedSession

if TYPE_CHECKING:
    from ftui.core.editing.search import OriginLookup, Query
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


class DatasetSearch(DataPart):
    """The search, its matches, and the bar that shows them."""

    query: Query | None = None
    _generation = 0
    _done = True
    _scanned = 0
    _jump_to_first_match = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.matches: array[int] = array("q")  # positions matching so far, ascending

    def bar(self) -> SearchBar:
        """The bar (mounted by the first `/`: start-up does not pay for it)."""
        from ftui.tui.widgets.search_bar import SearchBar

        return self.section.query_one(SearchBar)

    def forget(self) -> None:
        self.query = None
        self._generation += 1
        self.matches = array("q")
        # By id: the bar's module is not imported until the first `/`.
        for bar in self.section.query("#search-bar"):
            bar.display = False

    async def open_bar(self) -> None:
        from ftui.tui.widgets.search_bar import SearchBar

        if not self.section.query(SearchBar):
            await self.section.mount(SearchBar(id="search-bar"), before=0)
        bar = self.bar()
        bar.open()
        bar.show_status("enter searches · esc closes")

    def submitted(self, text: str) -> None:
        from ftui.tui.widgets.search_bar import parse_query

        text = text.strip()
        if not text:
            self.clear()
            return
        try:
            query = parse_query(text)
        except ValueError as exc:
            self.bar().show_status(f"[b red]{escape(str(exc))}[/]")
            return
        self.run(query)
        self.bar().input.display = False
        self.section.focus_list()

    def closed(self) -> None:
        bar = self.bar()
        if self.query is None:
            bar.display = False
        else:
            bar.input.display = False
        self.section.focus_list()

    def rerun(self) -> None:
        """After a change: a running search must see the new content."""
        if self.query is not None:
            self.run(self.query, keep_cursor=True)

    def run(self, query: Query, *, keep_cursor: bool = False) -> None:
        if self.session is None:
            return
        self.query = query
        self._generation += 1
        self.matches = array("q")
        self._done = False
        self._scanned = 0
        self._jump_to_first_match = not keep_cursor
        example_list = self.section.example_list
        example_list.set_matches(frozenset())
        if example_list.filtered:
            example_list.set_view(self.matches)
        self.bar().display = True
        self.show_status()
        # Origins are in the run history: resolved here, asked for a chunk at a time.
        origins = self.section.origin_lookup() if query.origin else None
        work = partial(self._search, self.session, query, self._generation, origins)
        self.run_thread(work, "search")
        self.section.refresh_bindings()

    def _search(
        self,
        shared: SharedSession,
        query: Query,
        generation: int,
        origins: OriginLookup | None = None,
    ) -> None:
        from ftui.core.editing.search import iter_matches

        worker = get_current_worker()
        reads = shared.for_worker(lambda: worker.is_cancelled)
        batch: list[int] = []
        last = time.monotonic()
        try:
            for position in iter_matches(reads, query, origins=origins):
                batch.append(position)
                if time.monotonic() - last >= PROGRESS_INTERVAL:
                    self.post(SearchProgress(generation, batch, position + 1, False))
                    batch, last = [], time.monotonic()
        except Cancelled:
            return
        except ValueError as exc:
            self.post(SearchFailed(generation, str(exc)))
            return
        except Exception as exc:  # the run history can't be read: say so, the app goes on
            self.post(SearchFailed(generation, f"origins can't be looked up: {exc}"))
            return
        self.post(SearchProgress(generation, batch, len(shared), done=True))

    def progress(self, event: SearchProgress) -> None:
        if event.generation != self._generation:
            return
        first = not self.matches and bool(event.positions)
        self.matches.extend(event.positions)
        self._done = event.done
        self._scanned = event.scanned
        example_list = self.section.example_list
        example_list.set_matches(frozenset(self.matches))
        if example_list.filtered:
            example_list.refresh_rows()
        if first and self._jump_to_first_match:
            self._jump_to_first_match = False
            example_list.go_to_position(self.matches[0])
        self.section.update_list_title()
        self.show_status()

    def failed(self, event: SearchFailed) -> None:
        if event.generation == self._generation:
            self.query = None
            self.bar().show_status(f"[b red]{escape(event.error)}[/]")
            self.section.refresh_bindings()

    def show_status(self) -> None:
        if self.query is None:
            return
        count = len(self.matches)
        state = f"{count:,} match{'es' if count != 1 else ''}"
        total = len(self.session) if self.session is not None else 0
        if not self._done and total:
            state += f" (searching… {self._scanned * 100 // total}%)"
        filtered = self.section.example_list.filtered
        only = " · only matches shown (f)" if filtered else " · f: only matches"
        self.bar().show_status(
            f"[b]{escape(self.query.describe())}[/b] — {state} · n/N walk{only} · esc clears"
        )

    def next_match(self, direction: int) -> None:
        if not self.matches:
            self.section.notify("No matches." if self._done else "No match yet: still searching.")
            return
        example_list = self.section.example_list
        example_list.go_to_position(next_position(self.matches, example_list.position, direction))

    def toggle_filter(self) -> None:
        example_list = self.section.example_list
        example_list.set_view(None if example_list.filtered else self.matches)
        self.section.update_list_title()
        self.show_status()

    def clear(self) -> None:
        section = self.section
        section.workers.cancel_group(section, "search")
        self.query = None
        self._generation += 1
        self.matches = array("q")
        example_list = section.example_list
        example_list.set_matches(frozenset())
        if example_list.filtered:
            example_list.set_view(None)
        bar = self.bar()
        bar.input.value = ""
        bar.display = False
        section.update_list_title()
        section.focus_list()
        section.refresh_bindings()

    def reveal(self, position: int) -> None:
        """A filter must not hide the example the user is about to look at."""
        example_list = self.section.example_list
        index = bisect_left(self.matches, position)
        hidden = index >= len(self.matches) or self.matches[index] != position
        if example_list.filtered and hidden:
            example_list.set_view(None)
            self.section.update_list_title()
            self.show_status()

    def title_extra(self) -> str:
        example_list = self.section.example_list
        return f" · {example_list.row_count:,} matching" if example_list.filtered else ""
