"""Which source columns make which parts of an example, and the guess the preview starts from.

Three shapes of source:

- rows: one example per row, its user turn and assistant turn in two columns (a tickets CSV),
  optionally a system column; with a conversation column (and an order column) the rows of one
  conversation become one multi-turn example, one user/assistant pair per row.
- messages: one conversation per record, a list of turns under `messages`, `conversation`,
  `conversations` or `turns` (role/content, or ShareGPT's from/value).
- log: one message per row, with conversation id, role and content columns (and an order).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

from ftui.core.importing.problems import ImportInputError

Shape = Literal["rows", "messages", "log"]
SHAPES: tuple[Shape, ...] = ("rows", "messages", "log")
FIELDS = ("user", "assistant", "system", "conversation", "order", "role", "content", "messages")

# Candidate column names, best first. A column matches by its whole name, else by one of its words.
_GUESSES: dict[str, tuple[str, ...]] = {
    "user": ("question", "prompt", "input", "user", "customer", "query", "instruction", "request"),
    "assistant": (
        "answer",
        "response",
        "output",
        "assistant",
        "agent",
        "reply",
        "completion",
        "resolution",
    ),
    "system": ("system", "system_prompt", "persona"),
    "conversation": (
        "conversation_id",
        "conversation",
        "thread_id",
        "session_id",
        "chat_id",
        "dialog_id",
        "dialogue_id",
        "thread",
        "session",
    ),
    "order": (
        "turn",
        "order",
        "turn_index",
        "step",
        "position",
        "seq",
        "sequence",
        "index",
        "timestamp",
    ),
    "role": ("role", "from", "speaker", "author", "sender"),
    "content": ("content", "text", "message", "value", "body", "utterance"),
    "messages": ("messages", "conversations", "conversation", "turns", "dialog", "chat"),
}
_WORD = re.compile(r"[a-z0-9]+")

ROLE_NAMES: dict[str, str] = {
    "user": "user",
    "human": "user",
    "customer": "user",
    "client": "user",
    "prompter": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "bot": "assistant",
    "agent": "assistant",
    "model": "assistant",
    "support": "assistant",
    "chatgpt": "assistant",
    "system": "system",
}


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Column names for each part of an example; None: guessed from the columns, or not used."""

    user: str | None = None
    assistant: str | None = None
    system: str | None = None
    conversation: str | None = None
    order: str | None = None
    role: str | None = None
    content: str | None = None
    messages: str | None = None

    @classmethod
    def parse(cls, text: str) -> ColumnMapping:
        """`user=question,assistant=answer`: ImportInputError names a bad part."""
        given: dict[str, str] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            name, sep, column = part.partition("=")
            name = name.strip().lower()
            if not sep or not column.strip():
                raise ImportInputError(f"--map {part!r}: write FIELD=COLUMN, e.g. user=question")
            if name not in FIELDS:
                raise ImportInputError(
                    f"--map {part!r}: {name!r} is not a field; the fields are {', '.join(FIELDS)}"
                )
            given[name] = column.strip()
        return cls(**given)

    def given(self) -> dict[str, str]:
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}


def _matches(column: str, candidate: str) -> int:
    """2: the column is the candidate, 1: one of its words is, 0: neither."""
    lowered = column.strip().lower()
    if lowered == candidate or lowered.replace(" ", "_") == candidate:
        return 2
    return 1 if candidate in _WORD.findall(lowered) else 0


def guess_column(part: str, columns: Sequence[str], taken: Iterable[str] = ()) -> str | None:
    """The column that most looks like `part` (see `_GUESSES`), not one of `taken`."""
    taken = set(taken)
    for strength in (2, 1):
        for candidate in _GUESSES[part]:
            for column in columns:
                if column not in taken and _matches(column, candidate) == strength:
                    return column
    return None


@dataclass(frozen=True, slots=True)
class ResolvedMapping:
    """The mapping an import uses: its shape, each part's column, and which were guessed."""

    shape: Shape
    columns: ColumnMapping
    guessed: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [f"{name}={column}" for name, column in self.columns.given().items()]
        return f"{self.shape}: " + ", ".join(parts) if parts else self.shape


def _is_turn_list(value: Any) -> bool:
    return isinstance(value, list) and (not value or isinstance(value[0], dict))


def resolve_mapping(
    given: ColumnMapping, columns: Sequence[str], first: Mapping[str, Any] | None
) -> ResolvedMapping:
    """Fill what the user did not say from the columns (and the first row's values).

    ImportInputError when a named column does not exist, or no shape fits."""
    known = set(columns)
    for name, column in given.given().items():
        if column not in known:
            listed = ", ".join(columns[:30]) + (" …" if len(columns) > 30 else "")
            raise ImportInputError(
                f"--map {name}={column}: there is no column {column!r}; the columns are: {listed}"
            )
    chosen = given.given()
    guessed: list[str] = []

    def guess(part: str) -> str | None:
        if part in chosen:
            return chosen[part]
        column = guess_column(part, columns, chosen.values())
        if column is not None:
            chosen[part] = column
            guessed.append(part)
        return column

    # A record holding a list of turns is a conversation per record.
    if "messages" in chosen or (
        "user" not in chosen
        and "role" not in chosen
        and any(
            _is_turn_list((first or {}).get(c))
            for c in columns
            if guess_column("messages", [c]) is not None
        )
    ):
        if "messages" not in chosen:
            chosen["messages"] = next(
                c
                for c in columns
                if guess_column("messages", [c]) and _is_turn_list((first or {}).get(c))
            )
            guessed.append("messages")
        return ResolvedMapping("messages", ColumnMapping(**chosen), tuple(guessed))
    explicit_log = "role" in chosen or "content" in chosen
    if explicit_log or ("user" not in chosen and "assistant" not in chosen):
        saved = dict(chosen), list(guessed)
        if guess("role") and guess("content") and (guess("conversation") or explicit_log):
            guess("order")
            return ResolvedMapping("log", ColumnMapping(**chosen), tuple(guessed))
        if explicit_log:
            missing = [p for p in ("role", "content", "conversation") if p not in chosen]
            raise ImportInputError(
                f"a log of one message per row needs {', '.join(missing)} too: "
                f"--map {','.join(f'{p}=COLUMN' for p in missing)}"
            )
        chosen, guessed = saved[0], saved[1]
    for part in ("user", "assistant"):
        guess(part)
    missing = [p for p in ("user", "assistant") if p not in chosen]
    if missing:
        listed = ", ".join(columns[:30])
        raise ImportInputError(
            f"no column for the {' and the '.join(missing)} turn"
            f"{'s' if len(missing) > 1 else ''}: name it with --map "
            f"{','.join(f'{p}=COLUMN' for p in missing)} (the columns are: {listed})"
        )
    guess("system")
    if "conversation" in given.given() and "order" not in chosen:
        guess("order")
    return ResolvedMapping("rows", ColumnMapping(**chosen), tuple(guessed))
