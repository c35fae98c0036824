"""A byte-offset index of a dataset file: random access to any example without a re-read."""

from __future__ import annotations

import os
from array import array
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO, Literal

from ftui.core.dataset.records import (
    MAX_RECORD_BYTES,
    Layout,
    RawRecord,
    parse_record,
    truncated_record,
)
from ftui.core.dataset.sniff import detect_layout, open_dataset
from ftui.core.dataset.spans import Span, iter_json_spans, iter_line_spans


class ExampleIndex:
    """Byte-offset index of a dataset file: random access to any example without a re-read.

    Three compact `array('q')`s (24 bytes per example). `complete` turns True when the scan ends.
    """

    def __init__(self, path: str | os.PathLike[str], kind: Layout) -> None:
        self.path = Path(path)
        self.kind: Literal["jsonl", "json_array"] = "jsonl" if kind == "jsonl" else "json_array"
        self.offsets = array("q")
        self.lengths = array("q")
        self.lines = array("q")
        self.complete = False
        self.truncated: int | None = None  # index of a last example cut off by the end of file
        stat = self.path.stat()
        self.size = stat.st_size
        self.mtime_ns = stat.st_mtime_ns

    def __len__(self) -> int:
        return len(self.offsets)

    def offset(self, i: int) -> int:
        return self.offsets[i]

    def length(self, i: int) -> int:
        return self.lengths[i]

    def line(self, i: int) -> int:
        return self.lines[i]

    def is_stale(self) -> bool:
        """True when the file changed on disk since it was indexed."""
        try:
            stat = self.path.stat()
        except OSError:
            return True
        return stat.st_size != self.size or stat.st_mtime_ns != self.mtime_ns

    def read(self, i: int) -> RawRecord:
        """Seek to example `i` and parse only it."""
        with open(self.path, "rb") as handle:
            return self._read(handle, i)

    def read_range(self, start: int, stop: int, *, exact_numbers: bool = True) -> list[RawRecord]:
        """Examples start..stop-1 (clamped), read with one contiguous read where that is sane.

        `exact_numbers=False`: see `parse_record` (for readers that never write values back)."""
        start, stop = max(0, start), min(stop, len(self))
        if start >= stop:
            return []
        offsets, lengths = self.offsets, self.lengths
        begin = offsets[start]
        end = max(
            (offsets[i] + lengths[i] for i in range(start, stop) if lengths[i] <= MAX_RECORD_BYTES),
            default=begin,
        )
        with open(self.path, "rb") as handle:
            if end - begin > 2 * MAX_RECORD_BYTES:
                return [self._read(handle, i, exact_numbers) for i in range(start, stop)]
            handle.seek(begin)
            block = handle.read(end - begin)
        records = []
        for i in range(start, stop):
            offset, length, line = offsets[i], lengths[i], self.lines[i]
            data = block[offset - begin : offset - begin + length]
            if length > MAX_RECORD_BYTES:
                records.append(parse_record(None, i, line, offset, length))
            elif i == self.truncated or len(data) < length:
                records.append(truncated_record(i, line, offset, length))
            else:
                records.append(
                    parse_record(data, i, line, offset, length, exact_numbers=exact_numbers)
                )
        return records

    def _read(self, handle: IO[bytes], i: int, exact_numbers: bool = True) -> RawRecord:
        if i < 0:
            i += len(self)
        offset, length, line = self.offsets[i], self.lengths[i], self.lines[i]
        if length > MAX_RECORD_BYTES:
            return parse_record(None, i, line, offset, length)
        handle.seek(offset)
        data = handle.read(length)
        if i == self.truncated or len(data) < length:
            return truncated_record(i, line, offset, length)
        return parse_record(data, i, line, offset, length, exact_numbers=exact_numbers)


# The first chunk: enough rows for a tall terminal, read in a few milliseconds.
FIRST_CHUNK_RECORDS = 500
FIRST_CHUNK_BYTES = 1 << 20


def scan_index(
    path: str | os.PathLike[str],
    *,
    chunk_records: int = 10_000,
    first_records: int = FIRST_CHUNK_RECORDS,
    first_bytes: int = FIRST_CHUNK_BYTES,
) -> Generator[ExampleIndex, None, None]:
    """Index a file incrementally: yields the same, growing ExampleIndex after each chunk.

    The first chunk is small (`first_records` records, or fewer once they pass `first_bytes`)
    so that a screenful of rows can be shown at once; each later one adds `chunk_records`. The
    last yield has `complete=True`. JSONL is indexed by scanning for newlines in big blocks,
    without parsing any JSON.
    """
    layout, start = detect_layout(path)
    index = ExampleIndex(path, layout)
    offsets, lengths, lines = index.offsets, index.lengths, index.lines
    next_yield = min(first_records, chunk_records)
    first_end = start + first_bytes
    with open_dataset(path) as handle:
        if layout == "jsonl":
            spans: Iterator[Span] = iter_line_spans(handle, start, keep_data=False)
        else:
            spans = iter_json_spans(handle, start, layout, keep_data=False)
        for offset, line, length, _data, truncated in spans:
            if truncated:
                index.truncated = len(offsets)
            offsets.append(offset)
            lengths.append(length)
            lines.append(line)
            if len(offsets) >= next_yield or (first_end and offset + length >= first_end):
                first_end = 0
                next_yield = len(offsets) + chunk_records
                yield index
    index.complete = True
    yield index


def build_index(path: str | os.PathLike[str]) -> ExampleIndex:
    """Index a whole file (see scan_index)."""
    *_, index = scan_index(path, chunk_records=1 << 62)
    return index
