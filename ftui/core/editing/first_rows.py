"""A dataset's first rows, read before its session opens: what the browser shows in its first frame.

Opening a `DatasetSession` imports the whole editing layer (undo, journal, writer, checks), which
costs more than the rest of the first frame together. The browser needs none of it to show the
first screenful, so it starts on `FirstRows` (a few modules, the first chunk of the index) and
swaps in the session, row for row the same, once it is open. A file that cannot be read here
just has no first rows: the session's open reports what is wrong with it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ftui.core.dataset.formats import DatasetFormat, detect_format, example_messages
from ftui.core.dataset.index import ExampleIndex, scan_index
from ftui.core.editing.row_summary import RowSummary, first_user_text, role_pattern

__all__ = ["FirstRows"]


class FirstRows:
    """The rows of the first chunk of a file, as the session will show them before validation
    (no token counts, no findings). Rows are built when asked for, so only a screenful is read."""

    def __init__(self, index: ExampleIndex, fmt: DatasetFormat) -> None:
        self._index = index
        self._format = fmt
        self._rows: dict[int, RowSummary] = {}

    @classmethod
    def read(cls, path: str | os.PathLike[str], fmt: str | None = None) -> FirstRows | None:
        """The first rows of `path`, or None when it cannot be read (the open will say why)."""
        try:
            detected = DatasetFormat(fmt) if fmt else detect_format(Path(path))
            scanner = scan_index(path)
            try:
                index = next(scanner)
            finally:
                scanner.close()
        except Exception:  # any failure here is reported by the session's own open
            return None
        return cls(index, detected) if len(index) else None

    def __len__(self) -> int:
        return len(self._index)

    def row(self, pos: int) -> RowSummary:
        row = self._rows.get(pos)
        if row is None:
            if not 0 <= pos < len(self._index):
                raise IndexError(pos)
            value = self._index.read(pos).value
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
