"""One record's bytes into a parsed value or a located, worded problem.

orjson does the parsing; the stdlib parser is the second opinion for what orjson refuses or
would change: integers beyond 64 bits (orjson reads them as floats, so they would come out
rounded) and text that is not valid UTF-8 or JSON (to say where, in words). A value nested
deeper than ftui can write back is refused here, once, instead of failing in a later write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from ftui.core.findings import Finding, Severity

BLOCK_SIZE = 1 << 20
# No model's context holds an example this big (a 1M-token example is ~4 MB of text); reading
# stops buffering past it so a runaway line can't exhaust memory.
MAX_RECORD_BYTES = 16 << 20
# orjson reads 1,024 levels but writes only 254; conversion adds a few levels around a record.
MAX_NESTING = 200

UTF8_BOM = b"\xef\xbb\xbf"
WHITESPACE = b" \t\r\n"

Layout = Literal["jsonl", "json_array", "json_values"]

# 19 digits in a row may be an integer outside orjson's 64-bit range (it would become a float).
_LONG_DIGIT_RUN = 19
_DIGITS_AS_ZERO = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))


class DatasetError(Exception):
    """The file can't be read as a dataset at all; the message says why and what to do."""


@dataclass(slots=True)
class RawRecord:
    index: int  # 0-based example index
    line: int  # 1-based line where the example starts
    offset: int  # byte offset of its first byte
    length: int  # byte length
    value: Any | None  # parsed JSON value, None if unparsable
    finding: Finding | None  # a read-level problem, else None


def describe_size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.1f} KB"
    return f"{n} bytes"


def json_type_name(value: Any) -> str:
    """How a JSON value is named in messages: 'an array', 'a string', 'null', ..."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    return type(value).__name__


def _finding(code: str, index: int, line: int, message: str) -> Finding:
    return Finding(code, Severity.ERROR, line, index, message)


def _failed(code: str, index: int, line: int, offset: int, length: int, message: str) -> RawRecord:
    return RawRecord(index, line, offset, length, None, _finding(code, index, line, message))


def _is_message_list(value: list[Any]) -> bool:
    return bool(value) and all(isinstance(m, dict) and ("role" in m or "from" in m) for m in value)


def _shape_finding(value: Any, index: int, line: int) -> Finding | None:
    if isinstance(value, dict):
        return None
    if isinstance(value, list) and _is_message_list(value):
        message = (
            f"this is a bare list of {len(value)} messages, not an example; wrap it as "
            '{"messages": [...]} (one object per line)'
        )
    else:
        message = f"expected a JSON object (one example), got {json_type_name(value)}"
    return _finding("data_type", index, line, message)


def nesting_depth(value: Any, limit: int) -> int:
    """How deep arrays and objects nest in `value`, counting no further than `limit` + 1."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _too_deep(index: int, line: int, offset: int, length: int) -> RawRecord:
    return _failed(
        "nested_too_deep",
        index,
        line,
        offset,
        length,
        f"this example nests arrays and objects more than {MAX_NESTING} levels deep; "
        "no chat example needs that and ftui can't write it back: flatten it or remove it",
    )


def _checked(value: Any, data: bytes, index: int, line: int, offset: int, length: int) -> RawRecord:
    """A parsed record, unless it nests deeper than ftui can write back."""
    # More than MAX_NESTING levels need more than MAX_NESTING brackets, so more than half that
    # of '{' or of '['; the walk runs only on such bracket-heavy records.
    half = MAX_NESTING // 2
    if (data.count(b"{") > half or data.count(b"[") > half) and nesting_depth(
        value, MAX_NESTING
    ) > MAX_NESTING:
        return _too_deep(index, line, offset, length)
    return RawRecord(index, line, offset, length, value, _shape_finding(value, index, line))


def parse_record(
    data: bytes | None,
    index: int,
    line: int,
    offset: int,
    length: int,
    *,
    exact_numbers: bool = True,
) -> RawRecord:
    """Parse one record's bytes (None: it was too big to buffer) into a RawRecord.

    `exact_numbers=False` skips the search for integers beyond 64 bits (about a quarter of the
    parse time): for readers that never write a value back and don't look at numbers."""
    if data is None:
        return _failed(
            "oversized_record",
            index,
            line,
            offset,
            length,
            f"this example is {describe_size(length)}, over the "
            f"{describe_size(MAX_RECORD_BYTES)} ftui reads as one example; no model's context "
            "holds it: split it or remove it",
        )
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return _parse_slow(data, index, line, offset, length)
    if exact_numbers and _may_hold_long_integer(data):
        value = _exact_integers(data, value)
    return _checked(value, data, index, line, offset, length)


def _may_hold_long_integer(data: bytes) -> bool:
    """Whether `data` has a run of 19+ digits (a string's digits count too: a cheap over-guess).

    Every 9th byte first: a run of 19 covers two consecutive multiples of 9, so a record with no
    two digits 9 bytes apart is ruled out by looking at a ninth of it (most are)."""
    if b"00" not in data[::9].translate(_DIGITS_AS_ZERO):
        return False
    return b"0" * _LONG_DIGIT_RUN in data.translate(_DIGITS_AS_ZERO)


def _exact_integers(data: bytes, value: Any) -> Any:
    """The stdlib's reading of a record that may hold integers beyond 64 bits (kept exact)."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return value


def _where(bad_line: int, line: int, column: int) -> str:
    return f"column {column}" if bad_line == line else f"line {bad_line}, column {column}"


def _parse_slow(data: bytes, index: int, line: int, offset: int, length: int) -> RawRecord:
    """orjson refused it: find out why, in words, or accept what only the stdlib parser reads."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = line + data.count(b"\n", 0, exc.start)
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = data[exc.start : exc.start + 4].hex(" ")
        return _failed(
            "invalid_encoding",
            index,
            line,
            offset,
            length,
            f"{_where(bad_line, line, column)}: bytes {bad} are not valid UTF-8; "
            "re-save the file as UTF-8 (or fix this line's text)",
        )
    try:
        value = json.loads(text)
        orjson.dumps(value)  # lone surrogates (\\ud800) parse but can't be tokenized or written
    except json.JSONDecodeError as exc:
        bad_line = line + exc.lineno - 1
        return _failed(
            "invalid_json",
            index,
            line,
            offset,
            length,
            f"{_where(bad_line, line, exc.colno)}: invalid JSON ({exc.msg}); "
            "each example must be one complete JSON object",
        )
    except RecursionError:
        return _too_deep(index, line, offset, length)
    except (TypeError, ValueError) as exc:  # orjson.JSONEncodeError is a TypeError
        if "64-bit" not in str(exc):  # integers beyond 64 bits are fine: json.loads kept them
            return _failed(
                "invalid_json",
                index,
                line,
                offset,
                length,
                f"invalid JSON ({exc}); escape sequences must form valid Unicode",
            )
    return _checked(value, data, index, line, offset, length)


def truncated_record(index: int, line: int, offset: int, length: int) -> RawRecord:
    if length == 0:
        message = (
            "the file ends here, before the closing ']' of its array (a cut download?); "
            "the examples before it are read but more may be missing: get the whole file again, "
            "or add the ']' if nothing is missing"
        )
    else:
        message = "the file ends inside this example (truncated?); complete it or remove it"
    return _failed("invalid_json", index, line, offset, length, message)
