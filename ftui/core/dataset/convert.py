"""Convert a dataset file between formats, streaming, with an atomic write.

Records go through the canonical chat form (`formats.convert_record`); what a target format can't
hold is counted by kind so the user sees exactly what was dropped. A record that can't be read or
interpreted stops the conversion (the target stays untouched) unless `skip_invalid` is set, in
which case it is left out and listed.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from ftui.core.dataset.atomic import atomic_writer
from ftui.core.dataset.formats import Conversion, DatasetFormat, convert_example, detect_format
from ftui.core.dataset.reader import MAX_NESTING, iter_records, json_type_name


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
        self.write_raw(dump_record(record, indent=self.as_array))

    def close(self) -> None:
        if self.as_array:
            self.handle.write(b"[]\n" if self.count == 0 else b"\n]\n")


def dump_record(record: Any, *, indent: bool = False) -> bytes:
    """A record's JSON bytes, integers beyond 64 bits exactly as read (orjson refuses them)."""
    try:
        return orjson.dumps(record, option=orjson.OPT_INDENT_2 if indent else 0)
    except TypeError:  # orjson.JSONEncodeError is one
        text = json.dumps(
            record,
            ensure_ascii=False,
            indent=2 if indent else None,
            separators=None if indent else (",", ":"),
        )
        return text.encode("utf-8", "surrogatepass")


def _call_problem(value: Any) -> str | None:
    """Why an OpenAI record's tool calls can't be rewritten as ShareGPT turns, if they can't."""
    messages = value.get("messages") if isinstance(value, dict) else None
    if not isinstance(messages, list):
        return None
    for number, message in enumerate(messages, 1):
        if not isinstance(message, dict):
            continue
        calls = message.get("tool_calls")
        if calls:
            if not isinstance(calls, list):
                return (
                    f"message {number}: tool_calls must be a list of calls, "
                    f"got {json_type_name(calls)}"
                )
            for call_number, call in enumerate(calls, 1):
                function = call.get("function", {}) if isinstance(call, dict) else call
                if not isinstance(call, dict) or not isinstance(function, dict):
                    return (
                        f"message {number}, tool call {call_number}: expected "
                        '{"function": {"name": ..., "arguments": ...}}, '
                        f"got {json_type_name(function)} as the "
                        f"{'function' if isinstance(call, dict) else 'call'}"
                    )
        legacy = message.get("function_call")
        if legacy and not isinstance(legacy, dict):
            return (
                f"message {number}: function_call must be an object with name and arguments, "
                f"got {json_type_name(legacy)}"
            )
    return None


def _convert_one(value: Any, src_fmt: DatasetFormat, dst_fmt: DatasetFormat) -> Conversion:
    """The record converted, or the reason it can't be (in `notes`, with no record)."""
    if src_fmt is DatasetFormat.OPENAI and dst_fmt is DatasetFormat.SHAREGPT:
        problem = _call_problem(value)
        if problem is not None:
            return Conversion(None, [problem])
    try:
        return convert_example(value, src_fmt, dst_fmt)
    except RecursionError:
        # Tool-call arguments are JSON in a string: parsed, they may nest deeper than any writer.
        return Conversion(
            None,
            [
                f"a value in it (tool-call arguments?) nests more than {MAX_NESTING} levels "
                "deep; flatten it or remove the record"
            ],
        )


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
            conversion = _convert_one(record.value, src_fmt, dst_fmt)
            if conversion.left_out is not None:
                result.notes[conversion.left_out] += 1  # on purpose, and counted
                continue
            if conversion.record is None:
                reason = "; ".join(conversion.notes) or "not a dataset example"
                problems.append((record.line, reason))
                continue
            try:
                data = dump_record(conversion.record, indent=writer.as_array)
            except (RecursionError, ValueError) as exc:
                problems.append((record.line, f"the converted record can't be written ({exc})"))
                continue
            result.notes.update(conversion.notes)
            writer.write_raw(data)
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
