"""A modal one-line question (a path, a number, a system prompt): returns the text, or None."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

# Returns an error to show under the input, or None when the answer is acceptable.
Check = Callable[[str], str | None]


class PromptScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(
        self,
        title: str,
        body: str = "",
        *,
        value: str = "",
        placeholder: str = "",
        check: Check | None = None,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._body = body
        self._value = value
        self._placeholder = placeholder
        self._check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._title, classes="dialog-title")
            if self._body:
                yield Static(self._body, classes="dialog-body", markup=False)
            yield Input(self._value, placeholder=self._placeholder, id="prompt-input")
            yield Static("", id="prompt-error", classes="dialog-error", markup=False)
            yield Static("enter: OK · esc: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        error = self._check(value) if self._check is not None else None
        if error:
            self.query_one("#prompt-error", Static).update(error)
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
