"""Undo and redo: applying an `Edit` as primitive operations on a `Document`, and taking it back.

An edit applies all of it or (on EditError) none of it: the operations that undo what was done
so far are played back before the error goes on.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ftui.core.dataset.formats import DatasetFormat, from_chat, to_chat
from ftui.core.editing.document import Document, UndoOps
from ftui.core.editing.edits import (
    Compound,
    DeleteExamples,
    DeleteMessage,
    DuplicateExample,
    Edit,
    EditError,
    InsertExample,
    InsertMessage,
    MoveExample,
    MoveMessage,
    ReplaceExample,
    ReplaceMessage,
    SetContent,
    SetRole,
    checked_value,
    message_change,
)
from ftui.core.editing.session_format import rebuild_record


@dataclass(slots=True)
class Step:
    """An applied edit and the primitive operations that undo it (run in reverse order)."""

    edit: Edit
    undo: UndoOps


class History:
    """The undo and redo stacks of a document, and where the file on disk stands in them."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self._undo: list[Step] = []
        self._redo: list[Edit] = []
        self._saved_top: Step | None = None

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        return self._undo[-1].edit.describe() if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1].describe() if self._redo else None

    @property
    def depth(self) -> int:
        return len(self._undo)

    @property
    def dirty(self) -> bool:
        """Whether the content differs from the file on disk (by the undo history)."""
        return (self._undo[-1] if self._undo else None) is not self._saved_top

    def clear(self) -> None:
        """After a save: the saved file is the new starting point."""
        self._undo.clear()
        self._redo.clear()
        self._saved_top = None

    def apply(self, edit: Edit) -> None:
        """Apply a new edit (a new edit forgets what could be redone: see `forget_redo`)."""
        ops: UndoOps = []
        try:
            self._do(edit, ops)
        except IndexError as exc:
            self.document.run_undo(ops)
            raise EditError(f"cannot {edit.describe()}: {exc}") from None
        except EditError:
            self.document.run_undo(ops)
            raise
        self._undo.append(Step(edit, ops))

    def take_back(self) -> None:
        """Undo the edit `apply` just made, leaving no trace (its journal entry failed)."""
        step = self._undo.pop()
        self.document.run_undo(step.undo)

    def forget_redo(self) -> None:
        self._redo.clear()

    def undo(self) -> Edit:
        step = self._undo.pop()
        self.document.run_undo(step.undo)
        self._redo.append(step.edit)
        return step.edit

    def redo(self) -> Edit:
        edit = self._redo.pop()
        self.apply(edit)  # it applied to this very state before: it applies again
        return edit

    # -- an edit as primitive operations ----------------------------------------------------------

    def _do(self, edit: Edit, ops: UndoOps) -> None:
        document = self.document
        match edit:
            case Compound():
                for part in edit.edits:
                    self._do(part, ops)
            case (
                SetContent()
                | SetRole()
                | ReplaceMessage()
                | InsertMessage()
                | DeleteMessage()
                | MoveMessage()
            ):
                self._edit_messages(edit.example, ops, message_change(edit))
            case ReplaceExample():
                document.set_value(document.id_at(edit.position), checked_value(edit.value), ops)
            case InsertExample():
                document.insert(edit.at, checked_value(edit.value), ops)
            case DuplicateExample():
                source = document.value_by_id(document.id_at(edit.position))
                if source is None:
                    raise EditError(
                        f"example {edit.position + 1} is not valid JSON, so it cannot be duplicated"
                    )
                document.insert(edit.position + 1, copy.deepcopy(source), ops)
            case DeleteExamples():
                document.delete(edit.positions, ops)
            case MoveExample():
                document.move(edit.position, edit.to, ops)
            case _:
                raise EditError(f"unknown edit {edit!r}")

    def _edit_messages(self, pos: int, ops: UndoOps, change: Callable[[list[Any]], None]) -> None:
        document = self.document
        fmt = document.format
        example_id = document.id_at(pos)
        value = document.value_by_id(example_id)
        if value is None:
            raise EditError(
                f"example {pos + 1} is not valid JSON; replace the whole example to fix it"
            )
        if fmt == DatasetFormat.OPENAI:
            # Edit the record itself so every other key (tools, weight, metadata) is kept as is.
            if not isinstance(value, dict) or not isinstance(value.get("messages"), list):
                raise EditError(
                    f"example {pos + 1} has no 'messages' list; replace the whole example to fix it"
                )
            if not all(isinstance(m, dict) for m in value["messages"]):
                raise EditError(
                    f"example {pos + 1} has a message that is not a JSON object; "
                    "replace the whole example to fix it"
                )
            new_value = copy.deepcopy(value)
            change(new_value["messages"])
        else:
            chat, problems = to_chat(value, fmt)
            if chat is None:
                raise EditError(
                    f"example {pos + 1} cannot be read as a conversation ({'; '.join(problems)}); "
                    "replace the whole example to fix it"
                )
            before = set(from_chat(chat, fmt)[1])
            chat = copy.deepcopy(chat)
            change(chat["messages"])
            lost = [note for note in from_chat(chat, fmt)[1] if note not in before]
            if lost:
                raise EditError(
                    f"the {fmt} format cannot hold this change to example {pos + 1}: "
                    + "; ".join(lost)
                )
            new_value = rebuild_record(value, chat, fmt)
        document.set_value(example_id, new_value, ops)
