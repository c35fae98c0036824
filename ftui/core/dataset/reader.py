"""Streaming reader for dataset files: one pass, constant memory, every record located.

Two layouts are read:

- JSONL (`.jsonl`, and any file whose first line is one complete JSON value): one example per
  non-blank line. Blank lines are skipped (they still count for line numbers).
- JSON (`.json`): an array of examples, or one or more objects one after another (a single
  pretty-printed example is common). The array is scanned incrementally, object by object; the
  file is never loaded whole. What follows the array (a second array) is read too, and an array
  cut off before its `]` ends with a record that says so.

Every record keeps its 0-based example index, the 1-based line where it starts and its byte span,
so the UI can seek straight back to it. A record that can't be read (invalid UTF-8, invalid JSON,
not an object, bigger than `MAX_RECORD_BYTES`, nested too deep) becomes a record with a `Finding`,
and reading goes on.

This module is the facade; the work is done in `sniff` (what the file is), `spans` (where the
records are), `records` (parsing one) and `index` (random access).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ftui.core.dataset.index import ExampleIndex, build_index, scan_index
from ftui.core.dataset.records import (
    BLOCK_SIZE,
    MAX_NESTING,
    MAX_RECORD_BYTES,
    UTF8_BOM,
    DatasetError,
    Layout,
    RawRecord,
    json_type_name,
    parse_record,
    truncated_record,
)
from ftui.core.dataset.sniff import detect_layout, open_dataset, stream_kind
from ftui.core.dataset.spans import Span, iter_json_spans, iter_line_spans

if TYPE_CHECKING:
    from ftui.core.dataset.formats import DatasetFormat

__all__ = [
    "BLOCK_SIZE",
    "MAX_NESTING",
    "MAX_RECORD_BYTES",
    "UTF8_BOM",
    "DatasetError",
    "ExampleIndex",
    "Layout",
    "RawRecord",
    "Span",
    "build_index",
    "detect_layout",
    "iter_json_spans",
    "iter_line_spans",
    "iter_records",
    "iter_spans",
    "json_type_name",
    "open_dataset",
    "parse_record",
    "scan_index",
    "stream_kind",
    "truncated_record",
]


def iter_spans(
    path: str | os.PathLike[str], *, keep_data: bool = True
) -> Iterator[tuple[Layout, Iterator[Span]]]:
    """Yields once: the layout and an iterator over its record spans (the file stays open)."""
    layout, start = detect_layout(path)
    with open_dataset(path) as handle:
        if layout == "jsonl":
            yield layout, iter_line_spans(handle, start, keep_data=keep_data)
        else:
            yield layout, iter_json_spans(handle, start, layout, keep_data=keep_data)


def iter_records(
    path: str | os.PathLike[str],
    *,
    fmt: DatasetFormat | None = None,
    exact_numbers: bool = True,
) -> Iterator[RawRecord]:
    """Every record of a dataset file, in order, streamed in constant memory.

    Raises DatasetError (before yielding anything) when the file can't be read at all. `fmt` does
    not change how bytes are read: the layout (JSONL or JSON) is detected from the file itself.
    `exact_numbers=False`: see `parse_record` (for readers that never write values back).
    """
    del fmt
    for _layout, spans in iter_spans(path):
        for index, (offset, line, length, data, truncated) in enumerate(spans):
            if truncated:
                yield truncated_record(index, line, offset, length)
            else:
                yield parse_record(data, index, line, offset, length, exact_numbers=exact_numbers)
