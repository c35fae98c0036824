"""Source rows into chat examples: one per row, per conversation, or per assistant reply.

A conversation (a record's list of turns, or a log's rows with one id) becomes an example only
when its turns make sense for training: system turns first, then user and assistant taking
turns, starting with the user, with at least one reply. Otherwise the whole conversation is a
`SkippedRow` saying which turn is wrong; a user turn after the last reply (nothing answers it)
is left out and counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from ftui.core.importing.mapping import ROLE_NAMES, ResolvedMapping
from ftui.core.importing.problems import SkipKind, SkippedRow
from ftui.core.importing.tables import SourceRow

TRAILING_USER_NOTE = "a user turn after the last reply was left out (nothing answers it)"
EMPTY_SYSTEM_NOTE = "the system cell was empty: the example has no system prompt"


@dataclass(frozen=True, slots=True)
class ImportedExample:
    """One example to write, and the source rows it was made from."""

    messages: tuple[dict[str, Any], ...]
    rows: tuple[int, ...]

    @property
    def example(self) -> dict[str, Any]:
        """The OpenAI chat record (its message dicts are the builder's own, made for it)."""
        return {"messages": list(self.messages)}


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    content: str
    row: int


class _CellProblem(Exception):
    def __init__(self, reason: str, kind: SkipKind) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def cell_text(values: Mapping[str, Any], column: str, what: str, *, required: bool = True) -> str:
    """The text of a cell; _CellProblem when it is missing, empty (if required) or not text."""
    if column not in values:
        raise _CellProblem(f"no {column!r} field (the {what})", "missing_column")
    value = values[column]
    if value is None:
        value = ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _CellProblem(f"the {what} ({column}) is {_type_name(value)}, not text", "wrong_type")
    text = value if isinstance(value, str) else str(value)
    if required and not text.strip():
        raise _CellProblem(f"the {what} ({column}) is empty", "empty_cell")
    return text


def _role(value: Any) -> str | None:
    return ROLE_NAMES.get(value.strip().lower()) if isinstance(value, str) else None


class ExampleBuilder:
    """Feeds on source rows, gives examples and skipped rows. `finish` flushes conversations
    still being gathered (a log's rows of one conversation may be anywhere in the file)."""

    def __init__(
        self, mapping: ResolvedMapping, *, system: str | None = None, per_reply: bool = False
    ) -> None:
        self.mapping = mapping
        self.columns = mapping.columns
        self.system = system
        self.per_reply = per_reply
        self.notes: Counter[str] = Counter()
        self.rows_kept = 0
        self.rows_skipped = 0
        # conversation id -> its rows (log) or (row, user, assistant) pairs, in first-seen order.
        self._groups: dict[str, list[tuple[SourceRow, list[Turn]]]] = {}

    @property
    def grouping(self) -> bool:
        return self.mapping.shape == "log" or self.columns.conversation is not None

    def skip(self, skipped: SkippedRow) -> SkippedRow:
        self.rows_skipped += skipped.row_count
        return skipped

    def add(self, row: SourceRow) -> Iterator[ImportedExample | SkippedRow]:
        try:
            turns = self._turns(row)
            if self.grouping:
                assert self.columns.conversation is not None
                key = cell_text(row.values, self.columns.conversation, "conversation id")
        except _CellProblem as problem:
            yield self.skip(SkippedRow(row.row, problem.reason, problem.kind))
            return
        if self.grouping:
            self._groups.setdefault(key, []).append((row, turns))
            return
        if self.mapping.shape == "rows":
            yield self._pair(turns, row.row)  # a checked user / assistant pair: nothing to order
            return
        yield from self._conversation(turns, (row.row,), row.row)

    def _pair(self, turns: list[Turn], row: int) -> ImportedExample:
        messages = [{"role": t.role, "content": t.content} for t in turns if t.role != "system"]
        if self.system is not None:
            head = [{"role": "system", "content": self.system}] if self.system else []
        else:
            head = [{"role": "system", "content": t.content} for t in turns if t.role == "system"]
        self.rows_kept += 1
        return ImportedExample((*head, *messages), (row,))

    def finish(self) -> Iterator[ImportedExample | SkippedRow]:
        groups, self._groups = self._groups, {}
        for key, members in groups.items():
            ordered = self._ordered(key, members)
            if isinstance(ordered, SkippedRow):
                yield self.skip(ordered)
                continue
            turns = [turn for _row, row_turns in ordered for turn in row_turns]
            if self.mapping.shape == "rows":  # one pair per row: the first row's system only
                first = ordered[0][0].row
                turns = [t for t in turns if t.role != "system" or t.row == first]
            rows = tuple(row.row for row, _turns in ordered)
            yield from self._conversation(turns, rows, rows[0], name=key)

    # -- one row's turns ------------------------------------------------------------------------

    def _turns(self, row: SourceRow) -> list[Turn]:
        shape, columns, values = self.mapping.shape, self.columns, row.values
        if shape == "messages":
            assert columns.messages is not None
            return self._record_turns(row)
        if shape == "log":
            assert columns.role is not None and columns.content is not None
            raw_role = values.get(columns.role)
            role = _role(raw_role)
            if role is None:
                if columns.role not in values:
                    raise _CellProblem(f"no {columns.role!r} field (the role)", "missing_column")
                raise _CellProblem(
                    f"the role {raw_role!r} is not one of user, assistant, system "
                    "(or human, gpt, customer, agent, bot)",
                    "bad_turns",
                )
            content = cell_text(values, columns.content, f"{role} turn")
            return [Turn(role, content, row.row)]
        assert columns.user is not None and columns.assistant is not None
        user = cell_text(values, columns.user, "user turn")
        assistant = cell_text(values, columns.assistant, "assistant turn")
        turns = [Turn("user", user, row.row), Turn("assistant", assistant, row.row)]
        if columns.system is not None and self.system is None:
            system = cell_text(values, columns.system, "system prompt", required=False)
            if system.strip():
                turns.insert(0, Turn("system", system, row.row))
            else:
                self.notes[EMPTY_SYSTEM_NOTE] += 1
        return turns

    def _record_turns(self, row: SourceRow) -> list[Turn]:
        key = self.columns.messages
        assert key is not None
        if key not in row.values:
            raise _CellProblem(f"no {key!r} field (the list of turns)", "missing_column")
        items = row.values[key]
        if not isinstance(items, list):
            raise _CellProblem(f"{key} is {_type_name(items)}, not a list of turns", "wrong_type")
        turns = []
        for number, item in enumerate(items, 1):
            if not isinstance(item, dict):
                raise _CellProblem(
                    f"turn {number} is {_type_name(item)}, not an object", "wrong_type"
                )
            raw_role = item.get("role", item.get("from"))
            role = _role(raw_role)
            if role is None:
                raise _CellProblem(
                    f"turn {number} has the role {raw_role!r}: only system, user and "
                    "assistant turns are imported",
                    "bad_turns",
                )
            content = item.get("content", item.get("value"))
            if content is None and item.get("tool_calls"):
                raise _CellProblem(
                    f"turn {number} ({role}) is a tool call: only text turns are imported",
                    "bad_turns",
                )
            if not isinstance(content, str):
                raise _CellProblem(
                    f"turn {number} ({role}) has {_type_name(content)} as its content, not text",
                    "wrong_type",
                )
            turns.append(Turn(role, content, row.row))
        return turns

    # -- a conversation's turns in order --------------------------------------------------------

    def _ordered(
        self, key: str, members: list[tuple[SourceRow, list[Turn]]]
    ) -> list[tuple[SourceRow, list[Turn]]] | SkippedRow:
        rows = tuple(row.row for row, _turns in members)
        order = self.columns.order
        if order is None:
            return members
        keyed: list[tuple[float, SourceRow, list[Turn]]] = []
        for row, turns in members:
            raw = row.values.get(order)
            try:
                number = float(raw) if not isinstance(raw, bool) and raw not in (None, "") else None
            except (TypeError, ValueError):
                number = None
            if number is None:
                return SkippedRow(
                    rows[0],
                    f"conversation {key!r}: row {row.row} has {order} = {raw!r}, not a number",
                    "bad_turns",
                    rows=rows,
                    conversation=key,
                )
            keyed.append((number, row, turns))
        seen: dict[float, int] = {}
        for number, row, _turns in keyed:
            if number in seen:
                return SkippedRow(
                    rows[0],
                    f"conversation {key!r}: rows {seen[number]} and {row.row} both have "
                    f"{order} = {number:g}: the turns' order is unclear",
                    "bad_turns",
                    rows=rows,
                    conversation=key,
                )
            seen[number] = row.row
        keyed.sort(key=lambda item: item[0])
        return [(row, turns) for _number, row, turns in keyed]

    def _conversation(
        self, turns: list[Turn], rows: tuple[int, ...], first_row: int, *, name: str | None = None
    ) -> Iterator[ImportedExample | SkippedRow]:
        where = f"conversation {name!r}: " if name is not None else ""
        many = rows if len(rows) > 1 else ()
        system = [t for t in turns if t.role == "system"]
        dialogue = [t for t in turns if t.role != "system"]
        leading = 0
        while leading < len(turns) and turns[leading].role == "system":
            leading += 1
        if len(system) != leading:
            late = next(t for t in turns[leading:] if t.role == "system")
            yield self.skip(
                SkippedRow(
                    first_row,
                    f"{where}a system turn"
                    + (f" (row {late.row})" if self.grouping else "")
                    + " comes after the conversation began",
                    "bad_turns",
                    rows=many,
                    conversation=name,
                )
            )
            return
        dropped: list[Turn] = []
        while dialogue and dialogue[-1].role == "user":
            dropped.append(dialogue.pop())
        problem = _turn_problem(dialogue, with_rows=self.grouping)
        if problem is not None:
            yield self.skip(
                SkippedRow(first_row, where + problem, "bad_turns", rows=many, conversation=name)
            )
            return
        if dropped:
            if self.grouping:  # each turn is a row of its own: report the rows left out
                for turn in reversed(dropped):
                    yield self.skip(
                        SkippedRow(
                            turn.row, where + TRAILING_USER_NOTE, "bad_turns", conversation=name
                        )
                    )
            else:
                self.notes[TRAILING_USER_NOTE] += len(dropped)
        head: list[dict[str, Any]] = []
        if self.system is not None:
            head = [{"role": "system", "content": self.system}] if self.system else []
        elif system:
            head = [{"role": "system", "content": "\n\n".join(t.content for t in system)}]
        used = dialogue
        kept_rows = tuple(dict.fromkeys(t.row for t in (*system, *used)))
        self.rows_kept += len(kept_rows)
        body = [{"role": t.role, "content": t.content} for t in used]
        if not self.per_reply:
            yield ImportedExample((*head, *body), kept_rows)
            return
        for index, turn in enumerate(used):
            if turn.role == "assistant":
                upto = used[: index + 1]
                upto_rows = tuple(dict.fromkeys(t.row for t in (*system, *upto)))
                yield ImportedExample((*head, *body[: index + 1]), upto_rows)


def _turn_problem(dialogue: list[Turn], *, with_rows: bool) -> str | None:
    """Why these turns (system turns removed) can't be an example, or None. `with_rows`: each
    turn is a row of its own (a log), so the row is named too."""

    def where(number: int, turn: Turn) -> str:
        return (
            f"turn {number} ({turn.role}, row {turn.row})"
            if with_rows
            else (f"turn {number} ({turn.role})")
        )

    if not dialogue:
        return "no assistant reply: nothing to learn from"
    for number, turn in enumerate(dialogue, 1):
        if not turn.content.strip():
            return f"{where(number, turn)} is empty"
    if dialogue[0].role != "user":
        return f"it starts with an {dialogue[0].role} turn, not a user turn"
    for number, (before, turn) in enumerate(pairwise(dialogue), 2):
        if turn.role == before.role:
            return (
                f"{where(number, turn)} is a second {turn.role} turn in a row: "
                "user and assistant turns must alternate"
            )
    return None
