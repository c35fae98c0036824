"""Convert a dataset file between formats, streaming, with an atomic write.

Records go through the canonical chat form (`formats.convert_record`); what a target format can't
hold is counted by kind so the user sees exactly what was dropped. A record that can't be read or
interpreted stops the conversion (the target stays untouched) unless `skip_invalid` is set, in
which case it is left out and listed.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from ftui.core.dataset.atomic import atomic_writer
from ftui.core.dataset.formats import DatasetFormat, convert_example, detect_format
from ftui.core.dataset.reader import iter_records


class ConvertError(Exception):
    """The conversion stopped; the target was not written. The message lists the bad records."""


@dataclass
class ConvertResult:
    source: str
    target: str
    source_format: DatasetFormat
    target_format: DatasetFormat
    written: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    notes: Counter[str] = field(default_factory=Counter)


class RecordWriter:
    """Writes records as JSONL, or as a JSON array (one indented object after another)."""

    def __init__(self, handle: IO[bytes], as_array: bool) -> None:
        self.handle = handle
        self.as_array = as_array
        self.count = 0

    def write_raw(self, data: bytes) -> None:
        """Write one record's JSON bytes."""
        if self.as_array:
            self.handle.write(b"[\n" if self.count == 0 else b",\n")
        self.handle.write(data)
        if not self.as_array:
            self.handle.write(b"\n")
        self.count += 1

    def write(self, record: Any) -> None:
        option = orjson.OPT_INDENT_2 if self.as_array else 0
        self.write_raw(orjson.dumps(record, option=option))

    def close(self) -> None:
        if self.as_array:
            self.handle.write(b"[]\n" if self.count == 0 else b"\n]\n")


def writes_array(path: str | os.PathLike[str]) -> bool:
    """Whether a file at `path` should be a JSON array (.json) rather than JSON lines."""
    return Path(path).suffix.lower() == ".json"


def convert_file(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    to: DatasetFormat | str,
    *,
    source_format: DatasetFormat | str | None = None,
    skip_invalid: bool = False,
) -> ConvertResult:
    """Convert `source` into `target` in format `to`; raises ConvertError or DatasetError."""
    src_fmt = DatasetFormat(source_format) if source_format else detect_format(source)
    dst_fmt = DatasetFormat(to)
    result = ConvertResult(str(source), str(target), src_fmt, dst_fmt)
    problems: list[tuple[int, str]] = []
    with atomic_writer(target, "wb") as handle:
        writer = RecordWriter(handle, writes_array(target))
        for record in iter_records(source):
            if record.value is None:
                reason = record.finding.message if record.finding else "unreadable"
                problems.append((record.line, reason))
                continue
            conversion = convert_example(record.value, src_fmt, dst_fmt)
            if conversion.left_out is not None:
                result.notes[conversion.left_out] += 1  # on purpose, and counted
                continue
            if conversion.record is None:
                reason = "; ".join(conversion.notes) or "not a dataset example"
                problems.append((record.line, reason))
                continue
            result.notes.update(conversion.notes)
            writer.write(conversion.record)
            if problems and not skip_invalid and len(problems) > 100:
                break
        if problems and not skip_invalid:
            listed = "\n".join(f"  line {line}: {reason}" for line, reason in problems[:10])
            more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
            raise ConvertError(
                f"{source}: {len(problems)} record(s) can't be converted; nothing was written:\n"
                f"{listed}{more}\nfix them, or pass --skip-invalid to leave them out"
            )
        writer.close()
        result.written = writer.count
    result.skipped = problems
    return result
