"""Modal editors for one message: its text (a TextArea) and its role (a short list)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static, TextArea
from textual.widgets.option_list import Option

from ftui.tui.keymap import command
from ftui.tui.screens.confirm import CANCEL, Choice, ConfirmScreen
from ftui.tui.widgets.message_render import EDIT_NOTES, EditMode

ROLES = ("system", "user", "assistant", "tool")


class EditMessageScreen(ModalScreen[Any]):
    """Edit a message's content. Dismisses with the new content (str, or parsed JSON in JSON
    mode), or with None when cancelled."""

    COMMAND_GROUP = "Message editor"
    BINDINGS: ClassVar = [
        command("ctrl+s", "apply", "Apply", "Put the edited text into the message.", show=True),
        # Priority: in a TextArea, escape would otherwise only move the focus away.
        command(
            "escape",
            "cancel",
            "Cancel",
            "Close the editor without changing the message.",
            show=True,
            priority=True,
        ),
    ]

    def __init__(self, title: str, text: str, *, mode: EditMode = "text") -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._original = text
        self._mode = mode

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog editor-dialog"):
            yield Static(self._title, classes="dialog-title")
            if EDIT_NOTES[self._mode]:
                yield Static(EDIT_NOTES[self._mode], classes="dialog-body")
            yield TextArea(self._original, id="message-text", soft_wrap=True, tab_behavior="indent")
            yield Static("", id="editor-error", classes="dialog-error", markup=False)
            yield Static("ctrl+s: apply · esc: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.cursor_blink = False
        area.focus()

    @property
    def text(self) -> str:
        return self.query_one(TextArea).text

    def action_apply(self) -> None:
        text = self.text
        if self._mode == "text":
            self.dismiss(text)
            return
        error = self.query_one("#editor-error", Static)
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            error.update(f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.")
            return
        if self._mode == "message" and not (
            isinstance(value, dict) and isinstance(value.get("role"), str)
        ):
            error.update('A message is a JSON object with a "role": e.g. {"role": "assistant"}.')
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        if self.text == self._original:
            self.dismiss(None)
            return

        def decided(choice: str | None) -> None:
            if choice == "discard":
                self.dismiss(None)
            elif choice == "apply":
                self.action_apply()

        self.app.push_screen(
            ConfirmScreen(
                "Discard your changes?",
                "The text was changed in the editor.",
                [
                    Choice("a", "apply", "Apply them", "primary"),
                    Choice("d", "discard", "Discard them", "error"),
                    Choice("escape", CANCEL.id, "Keep editing"),
                ],
            ),
            decided,
        )


class RoleScreen(ModalScreen[str | None]):
    """Pick a role for a message."""

    COMMAND_GROUP = "Role"
    BINDINGS: ClassVar = [
        command("escape", "cancel", "Cancel", "Keep the role as it is.", show=True),
    ]

    def __init__(self, title: str, current: str | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog role-dialog"):
            yield Static(self._title, classes="dialog-title")
            options = [Option(role, id=role) for role in ROLES]
            if self._current and self._current not in ROLES:
                options.append(
                    Option(f"{self._current} (current, not a known role)", id=self._current)
                )
            yield OptionList(*options, id="roles")
            yield Static("enter: choose · esc: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        roles = self.query_one(OptionList)
        if self._current is not None:
            try:
                roles.highlighted = roles.get_option_index(self._current)
            except Exception:
                roles.highlighted = 0
        roles.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
