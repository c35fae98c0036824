"""Edits a user can make to a dataset, as small serialisable values.

An edit says *what* to change; `DatasetSession.apply` does the change and remembers what it needs
to undo it (`message_change` here is what a message edit does to a list of messages).
Positions are positions in the session's current view order, i.e. after every earlier
structural edit (and, inside a `Compound`, after the earlier edits of that compound).

Every edit turns into a JSON object and back (`edit_to_dict` / `edit_from_dict`): that is what the
crash journal stores, so replaying the journal over the original file rebuilds the same session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import orjson


class EditError(ValueError):
    """An edit that cannot apply to the session as it is now (bad position, malformed example)."""


@dataclass(frozen=True, slots=True)
class SetContent:
    """Replace the text of one message."""

    example: int
    message: int
    text: str
    kind: ClassVar[str] = "set_content"

    def describe(self) -> str:
        return f"edit message {self.message + 1} of example {self.example + 1}"


@dataclass(frozen=True, slots=True)
class SetRole:
    """Change the role of one message (system, user, assistant, tool...)."""

    example: int
    message: int
    role: str
    kind: ClassVar[str] = "set_role"

    def describe(self) -> str:
        return (
            f"set role of message {self.message + 1} in example {self.example + 1} to {self.role}"
        )


@dataclass(frozen=True, slots=True)
class ReplaceMessage:
    """Replace a whole message (role, content, tool_calls, name...)."""

    example: int
    message: int
    value: dict[str, Any]
    kind: ClassVar[str] = "replace_message"

    def describe(self) -> str:
        return f"replace message {self.message + 1} of example {self.example + 1}"


@dataclass(frozen=True, slots=True)
class InsertMessage:
    """Insert a message so that it ends up at index `at` (`at` == count appends)."""

    example: int
    at: int
    message: dict[str, Any]
    kind: ClassVar[str] = "insert_message"

    def describe(self) -> str:
        role = self.message.get("role", "message")
        return f"add {role} turn at {self.at + 1} in example {self.example + 1}"


@dataclass(frozen=True, slots=True)
class DeleteMessage:
    example: int
    message: int
    kind: ClassVar[str] = "delete_message"

    def describe(self) -> str:
        return f"delete message {self.message + 1} of example {self.example + 1}"


@dataclass(frozen=True, slots=True)
class MoveMessage:
    """Move a message so that it ends up at index `to` of the example's messages."""

    example: int
    message: int
    to: int
    kind: ClassVar[str] = "move_message"

    def describe(self) -> str:
        return f"move message {self.message + 1} to {self.to + 1} in example {self.example + 1}"


@dataclass(frozen=True, slots=True)
class InsertExample:
    """Insert a new example (a record in the file's own format) so that it ends up at `at`."""

    at: int
    value: dict[str, Any]
    kind: ClassVar[str] = "insert_example"

    def describe(self) -> str:
        return f"insert example at {self.at + 1}"


@dataclass(frozen=True, slots=True)
class DeleteExamples:
    """Delete a set of examples; `positions` all refer to the view before the deletion."""

    positions: tuple[int, ...]
    kind: ClassVar[str] = "delete_examples"

    def __init__(self, positions: Any) -> None:
        # Accept any iterable (a list from the UI's marks); store it sorted and de-duplicated.
        object.__setattr__(self, "positions", tuple(sorted({int(p) for p in positions})))

    def describe(self) -> str:
        if len(self.positions) == 1:
            return f"delete example {self.positions[0] + 1}"
        return f"delete {len(self.positions):,} examples"


@dataclass(frozen=True, slots=True)
class DuplicateExample:
    """Insert a copy of an example right after it."""

    position: int
    kind: ClassVar[str] = "duplicate_example"

    def describe(self) -> str:
        return f"duplicate example {self.position + 1}"


@dataclass(frozen=True, slots=True)
class MoveExample:
    """Move an example so that it ends up at position `to`."""

    position: int
    to: int
    kind: ClassVar[str] = "move_example"

    def describe(self) -> str:
        return f"move example {self.position + 1} to {self.to + 1}"


@dataclass(frozen=True, slots=True)
class ReplaceExample:
    """Replace an example's whole record (in the file's own format)."""

    position: int
    value: dict[str, Any]
    kind: ClassVar[str] = "replace_example"

    def describe(self) -> str:
        return f"replace example {self.position + 1}"


@dataclass(frozen=True, slots=True)
class Compound:
    """Several edits applied, undone and redone as one step (a bulk fix)."""

    label: str
    edits: tuple[Edit, ...]
    kind: ClassVar[str] = "compound"

    def __init__(self, label: str, edits: Any) -> None:
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "edits", tuple(edits))

    def describe(self) -> str:
        return self.label


Edit = (
    SetContent
    | SetRole
    | ReplaceMessage
    | InsertMessage
    | DeleteMessage
    | MoveMessage
    | InsertExample
    | DeleteExamples
    | DuplicateExample
    | MoveExample
    | ReplaceExample
    | Compound
)

EDIT_TYPES: dict[str, type[Any]] = {
    cls.kind: cls
    for cls in (
        SetContent,
        SetRole,
        ReplaceMessage,
        InsertMessage,
        DeleteMessage,
        MoveMessage,
        InsertExample,
        DeleteExamples,
        DuplicateExample,
        MoveExample,
        ReplaceExample,
        Compound,
    )
}

STRUCTURAL_EDITS = (InsertExample, DeleteExamples, DuplicateExample, MoveExample)


def edit_to_dict(edit: Edit) -> dict[str, Any]:
    """A JSON-ready dict: {"kind": ..., <fields>}; a compound nests its edits."""
    if isinstance(edit, Compound):
        return {
            "kind": edit.kind,
            "label": edit.label,
            "edits": [edit_to_dict(e) for e in edit.edits],
        }
    data: dict[str, Any] = {"kind": edit.kind}
    for f in fields(edit):
        value = getattr(edit, f.name)
        data[f.name] = list(value) if isinstance(value, tuple) else value
    return data


def edit_from_dict(data: dict[str, Any]) -> Edit:
    kind = data.get("kind")
    cls = EDIT_TYPES.get(str(kind))
    if cls is None:
        raise EditError(f"unknown edit kind {kind!r}; expected one of {sorted(EDIT_TYPES)}")
    if cls is Compound:
        return Compound(data.get("label", ""), [edit_from_dict(e) for e in data.get("edits", [])])
    try:
        args = {f.name: data[f.name] for f in fields(cls)}
    except KeyError as exc:
        raise EditError(f"{kind} edit is missing its {exc.args[0]!r} field") from None
    edit: Edit = cls(**args)
    return edit


def count_edits(edit: Edit) -> int:
    """How many primitive edits an edit stands for (a compound counts its parts)."""
    if isinstance(edit, Compound):
        return sum(count_edits(e) for e in edit.edits)
    return 1


# --------------------------------------------------------------------------- applying to messages


def message_change(edit: Edit) -> Callable[[list[Any]], None]:
    """What a message edit does to an example's list of messages.

    The returned function changes the list in place and raises EditError (changing nothing)
    when the edit does not fit it."""
    match edit:
        case SetContent():
            return _set_key(edit.message, "content", edit.text)
        case SetRole():
            return _set_key(edit.message, "role", edit.role)
        case ReplaceMessage():
            return _replace_message(edit.message, edit.value)
        case InsertMessage():
            return _insert_message(edit.at, edit.message)
        case DeleteMessage():
            return _delete_message(edit.message)
        case MoveMessage():
            return _move_message(edit.message, edit.to)
    raise EditError(f"{edit.describe()} is not an edit of messages")


def _set_key(index: int, key: str, text: str) -> Callable[[list[Any]], None]:
    def change(messages: list[Any]) -> None:
        message = _message_at(messages, index)
        old = message.get(key)
        message[key] = _with_text(old, text) if isinstance(old, list) else text

    return change


def _with_text(parts: list[Any], text: str) -> list[Any]:
    """Content given as typed parts: the text becomes the first text part; images and other
    non-text parts stay where they were."""
    out: list[Any] = []
    placed = False
    for part in parts:
        is_text = isinstance(part, dict) and part.get("type") in ("text", None)
        is_text = is_text and isinstance(part.get("text", part.get("value")), str)
        if not is_text:
            out.append(part)
        elif not placed:
            field = "text" if "text" in part else "value"
            out.append({**part, field: text})
            placed = True
    if not placed:
        out.insert(0, {"type": "text", "text": text})
    return out


def _replace_message(index: int, value: dict[str, Any]) -> Callable[[list[Any]], None]:
    def change(messages: list[Any]) -> None:
        _message_at(messages, index)
        messages[index] = checked_value(value)

    return change


def _insert_message(at: int, message: dict[str, Any]) -> Callable[[list[Any]], None]:
    def change(messages: list[Any]) -> None:
        if not 0 <= at <= len(messages):
            raise EditError(f"cannot insert a message at {at + 1}; it has {len(messages)} messages")
        messages.insert(at, checked_value(message))

    return change


def _delete_message(index: int) -> Callable[[list[Any]], None]:
    def change(messages: list[Any]) -> None:
        _message_at(messages, index)
        del messages[index]

    return change


def _move_message(index: int, to: int) -> Callable[[list[Any]], None]:
    def change(messages: list[Any]) -> None:
        _message_at(messages, index)
        if not 0 <= to < len(messages):
            raise EditError(f"cannot move a message to {to + 1}; it has {len(messages)} messages")
        messages.insert(to, messages.pop(index))

    return change


def _message_at(messages: list[Any], index: int) -> dict[str, Any]:
    if not 0 <= index < len(messages):
        raise EditError(f"there is no message {index + 1}; the example has {len(messages)}")
    message = messages[index]
    if not isinstance(message, dict):
        raise EditError(f"message {index + 1} is not a JSON object; replace it instead")
    return message


def checked_value(value: Any) -> Any:
    """A private copy of a JSON value; EditError if it is not JSON (a set, an object...)."""
    try:
        return orjson.loads(orjson.dumps(value))
    except TypeError as exc:
        raise EditError(f"that value cannot be stored as JSON: {exc}") from None
