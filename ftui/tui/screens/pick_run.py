"""A modal list of other runs to compare one run with: those trained on the same dataset first.
Returns the chosen run's id, or None."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ftui.services.runs import format_metric
from ftui.services.store import Run, RunStore

RUNS_OFFERED = 300


def candidates(run: Run, others: list[Run]) -> list[Run]:
    """Other runs, newest first, those on the same dataset (by content) before the rest."""
    sha = run.dataset.sha256 if run.dataset else None
    rest = [other for other in others if other.id != run.id]
    same = [other for other in rest if sha and other.dataset and other.dataset.sha256 == sha]
    return same + [other for other in rest if other not in same]


def option_text(run: Run, same_data: bool) -> str:
    loss = format_metric(run.final_metrics.get("train_loss"))
    data = "same data" if same_data else (run.dataset.name if run.dataset else "-")
    return f"{run.id:<10} {run.status:<10} {run.base_model[:28]:<28} loss {loss:>8}  {data}"


class PickRunScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]
    DEFAULT_CSS = """
    PickRunScreen OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, store: RunStore, run: Run) -> None:
        super().__init__(classes="dialog-screen")
        self.store = store
        self.run = run

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Compare run {self.run.id} with…", classes="dialog-title")
            yield OptionList(id="pick-run")
            yield Static("Enter: compare · Escape: cancel", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        self.read_runs()

    @work(thread=True, exclusive=True)
    def read_runs(self) -> None:
        runs = candidates(self.run, self.store.list_runs(limit=RUNS_OFFERED))
        self.app.call_from_thread(self._show, runs)

    def _show(self, runs: list[Run]) -> None:
        options = self.query_one(OptionList)
        sha = self.run.dataset.sha256 if self.run.dataset else None
        if not runs:
            options.add_option(Option("No other run in the history.", disabled=True))
        for other in runs:
            same = bool(sha and other.dataset and other.dataset.sha256 == sha)
            options.add_option(Option(Text(option_text(other, same)), id=other.id))
        if runs:
            options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
