"""The help screen: every key of the screen it was opened on, generated from the bindings."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ftui.tui.keymap import CommandEntry

INTRO = (
    "ftui is driven from the keyboard. Keys depend on where the focus is (tab moves it); "
    "ctrl+p opens the command palette, which runs any of these by name."
)


def commands_table(entries: Sequence[CommandEntry]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True, min_width=14)
    table.add_column(no_wrap=True, min_width=22)
    table.add_column(ratio=1)
    for entry in entries:
        keys = Text(" ".join(entry.keys), style="bold" if entry.enabled else "dim")
        label = Text(entry.label, style="" if entry.enabled else "dim")
        table.add_row(keys, label, Text(entry.help, style="dim"))
    return table


def grouped(entries: Sequence[CommandEntry]) -> list[tuple[str, list[CommandEntry]]]:
    groups: dict[str, list[CommandEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.owner, []).append(entry)
    return list(groups.items())


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", show=False)]

    def __init__(self, entries: Sequence[CommandEntry]) -> None:
        super().__init__(classes="dialog-screen")
        self._entries = tuple(entries)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help-dialog"):
            yield Static("Keys", classes="dialog-title")
            yield Static(INTRO, classes="dialog-body")
            with VerticalScroll(id="help-groups"):
                for owner, entries in grouped(self._entries):
                    yield Static(owner, classes="help-group-title")
                    yield Static(commands_table(entries), classes="help-group")
            yield Static("esc: close", classes="dialog-hint")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
