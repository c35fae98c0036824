"""The Data section's editing: examples (insert, duplicate, delete, move), messages (edit, role,
add, delete, move), undo/redo, and the validation pane's bulk fixes. Every change is one `Edit`
given to `apply`, so each is journaled and undoable, and reported as `ExampleEdited` for the
section to re-check and repaint."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.worker import get_current_worker

from ftui.tui.sections.data.part import (
    DataPart,
    ExampleEdited,
    ShowExample,
    WorkerReport,
    WorkFailed,
    is_structural,
)
from ftui.tui.shared_session import Cancelled, SharedSession
from ftui.tui.widgets.conversation_view import ConversationView
from ftui.tui.widgets.validation_pane import FixKind, ValidationPane

if TYPE_CHECKING:
    from ftui.core.editing.edits import Compound, Edit

ROLE_AFTER = {"system": "user", "user": "assistant", "assistant": "user", "tool": "assistant"}


@dataclass
class FixComputed(WorkerReport):
    kind: FixKind
    version: int
    edit: Compound | None


def remap_marks(marks: set[int], edit: Edit) -> set[int]:
    """Where marked examples are after a structural edit made from the list (positions shift)."""
    from ftui.core.editing.edits import DeleteExamples, DuplicateExample, InsertExample, MoveExample

    if isinstance(edit, DeleteExamples):
        gone = edit.positions
        kept = sorted(marks - set(gone))
        # Each surviving mark moves up by the number of deleted positions before it.
        result, index = set(), 0
        for mark in kept:
            while index < len(gone) and gone[index] < mark:
                index += 1
            result.add(mark - index)
        return result
    if isinstance(edit, InsertExample | DuplicateExample):
        at = edit.at if isinstance(edit, InsertExample) else edit.position + 1
        return {m + 1 if m >= at else m for m in marks}
    if isinstance(edit, MoveExample):
        moved, to = edit.position, edit.to

        def place(mark: int) -> int:
            if mark == moved:
                return to
            if moved < mark <= to:
                return mark - 1
            if to <= mark < moved:
                return mark + 1
            return mark

        return {place(m) for m in marks}
    return set(marks)


def positive_int_check(answer: str) -> str | None:
    try:
        value = int(answer.replace(",", "").replace("_", ""))
    except ValueError:
        return "Type a whole number of tokens, e.g. 16385."
    return None if value > 0 else "The limit must be above 0."


class DatasetEditing(DataPart):
    """Turns what the user asked for into edits, applies them, and says so (`ExampleEdited`)."""

    def apply(self, edit: Edit, *, select: int | None = None) -> bool:
        """Apply an edit and report it. False if it was refused (the user is told why)."""
        from ftui.core.editing.edits import EditError

        section = self.section
        if self.session is None:
            return False
        if section.saving:
            section.notify("Saving: edit again in a moment.", severity="warning")
            return False
        try:
            self.session.apply(edit)
        except EditError as exc:
            section.notify(str(exc), severity="error", timeout=10)
            return False
        self.post(ExampleEdited(select))
        return True

    # -- the structural edits keep marks on the same examples -------------------------------------

    def apply_structural(self, edit: Edit, *, cursor: int | None = None) -> bool:
        example_list = self.section.example_list
        marks = remap_marks(example_list.marks, edit)
        if not self.apply(edit):
            return False
        example_list.set_marks(marks)
        if cursor is not None:
            self.post(ShowExample(cursor))  # after the list has the new rows
        return True

    # -- undo / redo ------------------------------------------------------------------------------

    def undo_redo(self, *, undo: bool) -> None:
        session = self.session
        if session is None or self.section.saving:
            return
        edit = session.undo() if undo else session.redo()
        if edit is None:
            self.section.notify("Nothing to undo." if undo else "Nothing to redo.", timeout=3)
            return
        self.section.notify(f"{'Undid' if undo else 'Redid'}: {edit.describe()}", timeout=3)
        if is_structural(edit):
            # Which marks moved where is not worth guessing.
            self.section.example_list.set_marks(set())
        self.post(ExampleEdited())
        self._follow(edit)

    def _follow(self, edit: Edit) -> None:
        """Put the cursor on the example an edit was about."""
        target = getattr(edit, "example", getattr(edit, "position", getattr(edit, "at", None)))
        if isinstance(target, int) and self.session is not None and len(self.session):
            self.post(ShowExample(min(target, len(self.session) - 1)))

    # -- examples ---------------------------------------------------------------------------------

    def _current(self) -> int | None:
        position = self.section.example_list.position
        if position is None:
            self.section.notify("There is no example here.", severity="warning")
        return position

    def insert_example(self) -> None:
        from ftui.core.dataset.formats import from_chat
        from ftui.core.editing.edits import InsertExample

        if self.session is None:
            return
        position = self.section.example_list.position
        at = 0 if position is None else position + 1
        chat = {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}]}
        record, _dropped = from_chat(chat, self.session.format)
        if self.apply_structural(InsertExample(at, record), cursor=at):
            self.section.conversation.focus()
            self.section.notify("New example added: enter edits the selected message.", timeout=4)

    def duplicate_example(self) -> None:
        from ftui.core.editing.edits import DuplicateExample

        position = self._current()
        if position is not None:
            self.apply_structural(DuplicateExample(position), cursor=position + 1)

    def move_example(self, delta: int) -> None:
        from ftui.core.editing.edits import MoveExample

        position = self._current()
        if position is None or self.session is None:
            return
        target = position + delta
        if 0 <= target < len(self.session):
            self.apply_structural(MoveExample(position, target), cursor=target)

    def delete_examples(self) -> None:
        from ftui.core.editing.edits import DeleteExamples
        from ftui.tui.screens.confirm import CANCEL, Choice, ConfirmScreen

        section = self.section
        marks = sorted(section.example_list.marks)
        if not marks:
            position = self._current()
            if position is not None:
                self.apply_structural(DeleteExamples([position]))
            return

        def decided(choice: str | None) -> None:
            if choice == "delete" and self.apply_structural(DeleteExamples(marks)):
                section.notify(f"Deleted {len(marks):,} examples (u undoes it).")

        section.app.push_screen(
            ConfirmScreen(
                "Delete the marked examples?",
                f"{len(marks):,} marked examples will be deleted (u brings them back).",
                [Choice("d", "delete", "Delete", "error"), CANCEL],
            ),
            decided,
        )

    # -- messages, asked for by the conversation view ---------------------------------------------

    def message_action(self, event: ConversationView.MessageActionRequested) -> None:
        from ftui.core.editing.edits import DeleteMessage, MoveMessage

        session = self.session
        if session is None:
            return
        position, index = event.position, event.index
        messages = session.messages(position)
        if event.action == "insert":
            self._insert_message(position, index + 1, messages[index] if index >= 0 else None)
            return
        if not 0 <= index < len(messages):
            return
        message = messages[index]
        if event.action == "edit":
            self._edit_message(position, index, message)
        elif event.action == "role":
            self._change_role(position, index, message)
        elif event.action == "delete":
            self.apply(DeleteMessage(position, index), select=max(0, index - 1))
        elif event.action in ("move_up", "move_down"):
            target = index + (-1 if event.action == "move_up" else 1)
            if 0 <= target < len(messages):
                self.apply(MoveMessage(position, index, target), select=target)

    def _edit_message(self, position: int, index: int, message: dict[str, Any]) -> None:
        from ftui.core.editing.edits import ReplaceMessage, SetContent
        from ftui.tui.screens.edit_message import EditMessageScreen
        from ftui.tui.widgets.message_render import content_for_editing

        text, mode = content_for_editing(message)
        title = f"Example {position + 1} · message {index + 1} · {message.get('role', '?')}"

        def edited(result: Any) -> None:
            if result is None or result == text:
                return
            if mode == "text":
                if result != message.get("content"):
                    self.apply(SetContent(position, index, result), select=index)
            elif mode == "json":
                changed = {**message, "content": result}
                self.apply(ReplaceMessage(position, index, changed), select=index)
            elif result != message:
                self.apply(ReplaceMessage(position, index, result), select=index)

        self.section.app.push_screen(EditMessageScreen(title, text, mode=mode), edited)

    def _change_role(self, position: int, index: int, message: dict[str, Any]) -> None:
        from ftui.core.editing.edits import SetRole
        from ftui.tui.screens.edit_message import RoleScreen

        current = message.get("role")

        def chosen(role: str | None) -> None:
            if role is not None and role != current:
                self.apply(SetRole(position, index, role), select=index)

        title = f"Role of message {index + 1} (now {current or 'none'})"
        screen = RoleScreen(title, current if isinstance(current, str) else None)
        self.section.app.push_screen(screen, chosen)

    def _insert_message(self, position: int, at: int, before: dict[str, Any] | None) -> None:
        from ftui.core.editing.edits import InsertMessage
        from ftui.tui.screens.edit_message import EditMessageScreen, RoleScreen

        previous_role = before.get("role") if isinstance(before, dict) else None
        default = ROLE_AFTER.get(str(previous_role), "user")

        def with_role(role: str | None) -> None:
            if role is None:
                return

            def with_text(text: Any) -> None:
                if text is not None:
                    message = {"role": role, "content": text}
                    self.apply(InsertMessage(position, at, message), select=at)

            title = f"New {role} message {at + 1} in example {position + 1}"
            self.section.app.push_screen(EditMessageScreen(title, ""), with_text)

        self.section.app.push_screen(
            RoleScreen(f"Role of the new message {at + 1}", default), with_role
        )

    # -- bulk fixes, asked for by the validation pane ---------------------------------------------

    def fix_requested(self, event: ValidationPane.FixRequested) -> None:
        from ftui.tui.screens.prompt import PromptScreen

        session = self.session
        if session is None:
            return
        if event.kind == "duplicates":
            self._compute_fix(session, "duplicates", None)
        elif event.kind == "token_limit":

            def chosen_limit(answer: str | None) -> None:
                if answer:
                    limit = int(answer.replace(",", "").replace("_", ""))
                    self._compute_fix(session, "token_limit", limit)

            self.section.app.push_screen(
                PromptScreen(
                    "Drop examples over a token limit",
                    "Examples with more tokens than this are deleted (one undo step). "
                    "The default is the target model's limit:",
                    value=str(session.token_limit()),
                    check=positive_int_check,
                ),
                chosen_limit,
            )
        else:

            def chosen_text(answer: str | None) -> None:
                if answer:
                    self._compute_fix(session, "system_prompt", answer)

            self.section.app.push_screen(
                PromptScreen(
                    "Add a system prompt",
                    "This system message goes first in every example that has none "
                    "(one undo step):",
                    placeholder="You are a helpful assistant for …",
                    check=lambda text: None if text.strip() else "Type the system prompt to add.",
                ),
                chosen_text,
            )

    def _compute_fix(self, session: SharedSession, kind: FixKind, argument: Any) -> None:
        self.section.notify("Working out the fix…", timeout=2)
        work = partial(self._fix_worker, session, kind, argument, session.version)
        self.run_thread(work, "fix")

    def _fix_worker(
        self, shared: SharedSession, kind: FixKind, argument: Any, version: int
    ) -> None:
        from ftui.core.editing import fixes

        worker = get_current_worker()
        reads = shared.for_worker(lambda: worker.is_cancelled)
        try:
            if kind == "duplicates":
                edit = fixes.drop_exact_duplicates(reads)
            elif kind == "token_limit":
                edit = fixes.drop_over_token_limit(reads, argument)
            else:
                edit = fixes.add_system_prompt(reads, argument)
        except Cancelled:
            return
        except ValueError as exc:
            self.post(WorkFailed("apply the fix", str(exc)))
            return
        self.post(FixComputed(kind, version, edit))

    def fix_computed(self, event: FixComputed) -> None:
        section = self.section
        if self.session is None:
            return
        if event.version != self.session.version:
            section.notify(
                "The dataset changed while the fix was worked out: run it again.",
                severity="warning",
            )
            return
        if event.edit is None:
            section.notify("Nothing to fix.", timeout=4)
            return
        if is_structural(event.edit):
            section.example_list.set_marks(set())
        if self.apply(event.edit):
            section.notify(f"Done: {event.edit.describe()} (u undoes it).", timeout=6)
