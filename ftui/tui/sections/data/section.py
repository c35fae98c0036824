"""The Data section: browse, search, edit and validate one dataset.

It owns the `DatasetSession` and is the only thing that changes it. Its children are told what to
show (the list gets a row source, the conversation an example, the pane findings) and report what
the user did. Its commands come in sets, one module each: files (open, save, export), editing
(examples, messages, undo, bulk fixes) and search; what they share is in `data_base`. File I/O
(indexing, validation, search, fixes, save, export) runs in thread workers that only post
messages back.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from ftui.tui.keymap import command
from ftui.tui.sections.data.edit import EditCommands
from ftui.tui.sections.data.files import FileCommands
from ftui.tui.sections.data.search import SearchCommands, next_position
from ftui.tui.widgets.conversation_view import ConversationView
from ftui.tui.widgets.example_list import ExampleList
from ftui.tui.widgets.validation_pane import ValidationPane

EMPTY_STATE = (
    "No dataset is open.\n\n"
    "Press o to open a file (OpenAI chat JSONL, Alpaca or ShareGPT JSON/JSONL),\n"
    "or run `ftui PATH`, or `ftui demo` for a sample dataset to try everything on."
)


class DataSection(FileCommands, EditCommands, SearchCommands):
    """The Data section. `request_open(path)` opens a dataset in it."""

    COMMAND_GROUP = "Data"
    BINDINGS: ClassVar = [
        command(
            "right_square_bracket",
            "next_finding(1)",
            "Next finding",
            "Go to the next example with an error or a warning.",
            key_display="]",
        ),
        command(
            "left_square_bracket",
            "next_finding(-1)",
            "Previous finding",
            "Go to the previous example with an error or a warning.",
            key_display="[",
        ),
        command("e", "next_error(1)", "Next error", "Go to the next example with an error."),
        command(
            "E", "next_error(-1)", "Previous error", "Go to the previous example with an error."
        ),
        command("v", "toggle_validation", "Findings", "Show or hide the validation pane."),
        command("V", "revalidate", "Re-check", "Validate the whole dataset again, edits included."),
        command(
            "c",
            "focus_conversation",
            "Conversation",
            "Move to the conversation (enter edits the selected message).",
        ),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._conversation_pending = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="data-main"):
            yield ExampleList(id="example-list")
            yield ConversationView(id="conversation")
        yield ValidationPane(id="validation")
        yield Static(EMPTY_STATE, id="data-empty")

    def on_mount(self) -> None:
        self._show_empty(True)
        self._start_disk_checks()
        if self._initial_path is not None:
            # After the first frame: loading competes with painting it for the GIL.
            self.call_after_refresh(self.request_open, self._initial_path)

    def _show_empty(self, empty: bool) -> None:
        self.query_one("#data-empty").display = empty
        self.query_one("#data-main").display = not empty
        self.pane.display = not empty and not self.has_class("-no-validation")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        session = self.session
        if session is None:
            return action == "open"
        if action == "undo":
            return bool(session.can_undo)
        if action == "redo":
            return bool(session.can_redo)
        if action in ("next_match", "toggle_filter", "clear_search"):
            return self.search_query is not None
        if action == "export":
            return bool(self.example_list.marks)
        return True

    # -- the list and the conversation ------------------------------------------------------------

    @on(ExampleList.Highlighted)
    def _highlighted(self, event: ExampleList.Highlighted) -> None:
        # The list repaints first; the conversation follows after that frame, once for however
        # many cursor moves arrived meanwhile (holding a key down skips what flew by).
        if not self._conversation_pending:
            self._conversation_pending = True
            self.call_after_refresh(self._show_pending_conversation)

    def _show_pending_conversation(self) -> None:
        self._conversation_pending = False
        self._show_current()

    @on(ExampleList.MarksChanged)
    def _marks_changed(self, event: ExampleList.MarksChanged) -> None:
        self._update_list_title()
        self.refresh_bindings()

    @on(ExampleList.Opened)
    def _opened(self, event: ExampleList.Opened) -> None:
        self.conversation.focus()

    def action_focus_conversation(self) -> None:
        self.conversation.focus()

    # -- findings ---------------------------------------------------------------------------------

    def action_next_finding(self, direction: int) -> None:
        self._walk(self._problem_positions, direction, "errors or warnings")

    def action_next_error(self, direction: int) -> None:
        self._walk(self._error_positions, direction, "errors")

    def _walk(self, positions: list[int], direction: int, what: str) -> None:
        if not positions:
            still = " found yet (still checking)" if self.validating else ""
            self.notify(f"No {what}{still}.", timeout=3)
            return
        self._jump_to(next_position(positions, self.example_list.position, direction))

    @on(ValidationPane.FindingChosen)
    def _finding_chosen(self, event: ValidationPane.FindingChosen) -> None:
        finding = event.finding
        if finding.example < 0:
            self.notify(finding.message, timeout=10)  # about the whole file
            return
        self._jump_to(finding.example, finding.message_index)

    def action_toggle_validation(self) -> None:
        self.toggle_class("-no-validation")
        self.pane.display = not self.has_class("-no-validation") and self.session is not None

    def action_revalidate(self) -> None:
        self._start_validation()
