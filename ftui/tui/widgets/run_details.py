"""A run's details as one scrolled text: summary, dataset, metrics, artifacts and config.

The page shows them over the right of its body, on a layer of their own (app CSS: `layer`,
`dock`), so that opening and closing them (`toggle`) moves and resizes nothing else: the chart
keeps its width and is not built again, and only the details' own region is painted. One widget
paints all the sections (not a `Static` for each heading and each block), so showing them is one
widget's layout and render, not ten. The page tells it each section's text (`show`); while the
details are hidden the texts are only kept, and handed on when they open.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

SECTIONS = ("Run", "Dataset", "Metrics", "Artifacts", "Config")


def details_text(sections: dict[str, str]) -> str:
    """Each section under its heading, a blank line above each heading (markup)."""
    return "\n".join(
        f"\n[b $accent]{name}[/]\n{sections[name]}" for name in SECTIONS if name in sections
    )


class RunDetails(VerticalScroll):
    """The details of one run, in the order of `SECTIONS`."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.sections: dict[str, str] = {}
        self._shown_text: str | None = None  # as last handed to the text widget

    def compose(self) -> ComposeResult:
        yield Static("", id="run-details-text")

    @property
    def text(self) -> Static:
        return self.query_one("#run-details-text", Static)

    def show(
        self,
        *,
        summary: str | None = None,
        dataset: str | None = None,
        metrics: str | None = None,
        artifacts: str | None = None,
        config: str | None = None,
    ) -> None:
        """Show these sections' texts (markup); a section given as None keeps its text."""
        given = zip(SECTIONS, (summary, dataset, metrics, artifacts, config), strict=True)
        self.sections.update({name: text for name, text in given if text is not None})
        if self.display:
            self._paint(layout_if_taller=True)

    def toggle(self) -> bool:
        """Open the details, or close them; returns whether they are open now."""
        if not self.display:
            # Opening lays the details out anyway: the text need not ask for a layout of its own.
            self._paint(layout_if_taller=False)
        self.display = not self.display
        return self.display

    def _paint(self, *, layout_if_taller: bool) -> None:
        text = details_text(self.sections)
        last = self._shown_text
        if text == last:
            return
        self._shown_text = text
        # A layout costs the whole screen's; only a change in height needs one.
        grew = last is None or text.count("\n") != last.count("\n")
        self.text.update(text, layout=layout_if_taller and grew)
