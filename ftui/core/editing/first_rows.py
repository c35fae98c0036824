"""A dataset's first rows, read before its session opens: what the browser shows in its first frame.

Opening a `DatasetSession` imports the whole editing layer (undo, journal, writer, checks), which
costs more than the rest of the first frame together. The browser needs none of it to show the
first screenful, so it starts on `FirstRows` (a few modules, the first chunk of the index) and
swaps in the session, row for row the same, once it is open. A file that cannot be read here
just has no first rows: the session's open reports what is wrong with it.
"""

from __future__ import annotations

import os
from typing import Any

from ftui.core.dataset.formats import (
    DatasetFormat,
    detect_format,
    detect_format_of,
    example_messages,
)
from ftui.core.dataset.index import ExampleIndex, scan_index
from ftui.core.editing.row_summary import RowSummary, first_user_text, role_pattern

__all__ = ["FirstRows"]

# As many records as `detect_format` samples, and as many rows as a tall terminal shows: read
# once, they tell the format and give the first screen its rows.
SAMPLE_RECORDS = 50
# Rows further down are read this many at a time (one read each) as the cursor gets to them.
READ_AHEAD = 64


class FirstRows:
    """The rows of the first chunk of a file, as the session will show them before validation
    (no token counts, no findings). Rows are built when asked for, so only a screenful is read."""

    def __init__(
        self, index: ExampleIndex, fmt: DatasetFormat, values: dict[int, Any] | None = None
    ) -> None:
        self._index = index
        self._format = fmt
        self._values = dict(values or {})  # parsed records not made into rows yet
        self._rows: dict[int, RowSummary] = {}

    @classmethod
    def read(cls, path: str | os.PathLike[str], fmt: str | None = None) -> FirstRows | None:
        """The first rows of `path`, or None when it cannot be read (the open will say why)."""
        try:
            scanner = scan_index(path)
            try:
                index = next(scanner)
            finally:
                scanner.close()
            records = index.read_range(0, SAMPLE_RECORDS)
            values = {record.index: record.value for record in records}
            detected = DatasetFormat(fmt) if fmt else _detect(path, index, list(values.values()))
        except Exception:  # any failure here is reported by the session's own open
            return None
        if detected is None or not len(index):
            return None
        return cls(index, detected, values)

    def __len__(self) -> int:
        return len(self._index)

    def row(self, pos: int) -> RowSummary:
        row = self._rows.get(pos)
        if row is None:
            if not 0 <= pos < len(self._index):
                raise IndexError(pos)
            if pos not in self._values:
                for record in self._index.read_range(pos, pos + READ_AHEAD):
                    if record.index not in self._rows:
                        self._values[record.index] = record.value
            value = self._values.pop(pos)
            messages = example_messages(value, self._format) if value is not None else []
            row = RowSummary(
                number=pos + 1,
                source_line=self._index.line(pos) or None,
                turns=len(messages),
                roles=role_pattern(messages),
                first_user=first_user_text(messages),
                tokens=None,
                findings=(),
            )
            self._rows[pos] = row
        return row


def _detect(
    path: str | os.PathLike[str], index: ExampleIndex, values: list[Any]
) -> DatasetFormat | None:
    """What `detect_format` says, from the records read already (the same first records)."""
    if len(values) < SAMPLE_RECORDS and not index.complete:
        # A first chunk of a few huge records: the sample goes on past it.
        return detect_format(path)
    detected = detect_format_of([v for v in values if isinstance(v, dict)], layout=index.kind)
    if detected is None and index.kind == "jsonl":
        return DatasetFormat.OPENAI  # as detect_format: JSONL is validated as OpenAI chat
    return detected
