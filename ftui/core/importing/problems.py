"""What can go wrong in an import: a whole source that can't be used, or one row of it.

A bad row is never dropped in silence: it becomes a `SkippedRow` naming its source row (the CSV
line where it starts, the JSONL line, the JSON array index + 1), why, and, where one exists, the
option that fixes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SkipKind = Literal[
    "bad_encoding",  # bytes that are not text in the source's encoding
    "ragged_row",  # a CSV row with more or fewer cells than the header
    "bad_record",  # a JSON record that can't be parsed, or is not an object
    "missing_column",  # a record without a mapped field
    "empty_cell",  # an empty user or assistant turn
    "wrong_type",  # a list or object where text is wanted
    "bad_value",  # a cell the filter can't compare (text under a number)
    "bad_turns",  # a conversation out of order, not alternating, or with no reply
]
SKIP_KINDS: tuple[SkipKind, ...] = (
    "bad_encoding",
    "ragged_row",
    "bad_record",
    "missing_column",
    "empty_cell",
    "wrong_type",
    "bad_value",
    "bad_turns",
)


def count(number: int, noun: str) -> str:
    """ "1 row", "2 rows", "1,204 examples"."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


class ImportInputError(Exception):
    """The source can't be imported as asked (unreadable file, unknown column, bad filter...).

    Raised before any row is read where it can be; the message says what to do."""


@dataclass(frozen=True, slots=True)
class SkippedRow:
    """A source row (or a conversation, starting at `row`) left out, and why."""

    row: int
    reason: str
    kind: SkipKind
    fix: str | None = None  # the option that would keep it, e.g. "--encoding cp1252"
    rows: tuple[int, ...] = ()  # every source row it covers (a conversation's), if several
    conversation: str | None = None  # the conversation id it belongs to, in a grouped source

    @property
    def row_count(self) -> int:
        return len(self.rows) or 1

    def describe(self, label: str = "row") -> str:
        others = [str(row) for row in self.rows if row != self.row]
        also = f" (and {label}s {', '.join(others)})" if others else ""
        text = f"{label} {self.row}{also}: {self.reason}"
        return f"{text} (fix: {self.fix})" if self.fix else text

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"row": self.row, "kind": self.kind, "reason": self.reason}
        if self.fix:
            data["fix"] = self.fix
        if self.rows:
            data["rows"] = list(self.rows)
        if self.conversation is not None:
            data["conversation"] = self.conversation
        return data


class ImportStopped(Exception):
    """`strict`: the first bad row stops the import; nothing is written."""

    def __init__(self, skipped: SkippedRow, label: str = "row") -> None:
        super().__init__(
            f"{skipped.describe(label)}; nothing was written (without --strict such rows "
            "are skipped and listed)"
        )
        self.skipped = skipped
