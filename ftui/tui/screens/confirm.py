"""A modal question with a few answers, each on a key: returns the chosen answer's id, or None."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


@dataclass(frozen=True)
class Choice:
    key: str
    id: str
    label: str
    variant: str = "default"


CANCEL = Choice("escape", "cancel", "Cancel")
# Escape on "Cancel run X?": a second button called Cancel would read as the same answer.
KEEP_RUNNING = Choice("escape", "cancel", "Keep it running")


class ConfirmScreen(ModalScreen[str | None]):
    """Ask one question. Escape always means "none of these" (dismisses with None)."""

    def __init__(self, title: str, body: str, choices: Sequence[Choice]) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._body = body
        self._choices = tuple(choices)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._title, classes="dialog-title")
            # Scrolls when long (a plan and its warnings at 80x24), so the buttons stay in view.
            with VerticalScroll(classes="dialog-body-scroll"):
                yield Static(self._body, classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                for choice in self._choices:
                    key = "esc" if choice.key == "escape" else choice.key
                    yield Button(
                        f"{choice.label} ({key})",
                        id=f"choice-{choice.id}",
                        variant=choice.variant,  # type: ignore[arg-type]
                        compact=True,
                    )

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_key(self, event: events.Key) -> None:
        for choice in self._choices:
            if event.key == choice.key:
                event.stop()
                self.dismiss(None if choice.id == CANCEL.id else choice.id)
                return
        if event.key == "escape":
            event.stop()
            self.dismiss(None)

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        choice_id = (event.button.id or "").removeprefix("choice-")
        self.dismiss(None if choice_id == CANCEL.id else choice_id)
