"""A modal list of the judge sessions the history keeps, newest first: which models, how many
examples, when. Returns the chosen session's id, or None."""

from __future__ import annotations

import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ftui.services.store import RunStore

SESSIONS_OFFERED = 200


def session_text(session: str, model_a: str, model_b: str, examples: int, written_at: float) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(written_at))
    models = f"{model_a} vs {model_b}"
    return f"{when}  {session:<14} {examples:>5} examples  {models}"


class PickJudgeSessionScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]
    DEFAULT_CSS = """
    PickJudgeSessionScreen OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, store: RunStore, current: str | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.store = store
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Open a past judge session", classes="dialog-title")
            yield OptionList(id="pick-judge-session")
            yield Static("Enter: open · Escape: cancel", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        self.read_sessions()

    @work(thread=True, exclusive=True)
    def read_sessions(self) -> None:
        sessions = self.store.judge_sessions(limit=SESSIONS_OFFERED)
        self.app.call_from_thread(self._show, sessions)

    def _show(self, sessions: list[tuple[str, str, str, int, float]]) -> None:
        options = self.query_one(OptionList)
        if not sessions:
            options.add_option(Option("No judge session in the history yet.", disabled=True))
        for session, model_a, model_b, examples, written_at in sessions:
            text = session_text(session, model_a, model_b, examples, written_at)
            mark = "▸ " if session == self.current else "  "
            options.add_option(Option(Text(mark + text), id=session))
        if sessions:
            options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
