"""The one-line header: sections (with their keys), the open dataset and its state, the backends."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ftui.tui.messages import DatasetStateChanged


class WorkbenchHeader(Widget):
    """Told what to show by the workbench screen; has no behaviour of its own."""

    section: reactive[str] = reactive("data")
    dataset: reactive[DatasetStateChanged | None] = reactive(None, always_update=True)
    backends: reactive[str] = reactive("")

    def __init__(self, sections: Sequence[tuple[str, str, str]], *, id: str | None = None) -> None:
        """`sections` are (key, id, title) triples, in order."""
        super().__init__(id=id)
        self._sections = tuple(sections)

    def _dataset_text(self) -> Text:
        state = self.dataset
        if state is None or state.path is None:
            return Text("no dataset open", style="dim")
        text = Text(state.path.name, style="bold")
        details = [state.format] if state.format else []
        details.append(f"{state.examples:,} examples" + (" (indexing…)" if state.indexing else ""))
        text.append(" · " + " · ".join(details))
        if state.dirty:
            count = f"{state.unsaved_edits} " if state.unsaved_edits else ""
            text.append(f"  ● {count}unsaved", style="bold yellow")
        return text

    def render(self) -> Table:
        tabs = Text(" ftui ", style="bold reverse")
        for key, section_id, title in self._sections:
            style = "bold reverse" if section_id == self.section else "dim"
            tabs.append(" ")
            tabs.append(f" {key} {title} ", style=style)
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(
            Text.assemble(tabs, "  ", self._dataset_text()), Text(self.backends, style="dim")
        )
        return grid
