"""Streaming reader for dataset files: one pass, constant memory, every record located.

Two layouts are read:

- JSONL (`.jsonl`, and any file whose first value is a one-line object): one example per non-blank
  line. Blank lines are skipped (they still count for line numbers).
- JSON (`.json`): an array of examples, or one or more objects one after another (a single
  pretty-printed example is common). The array is scanned incrementally, object by object; the
  file is never loaded whole.

Every record keeps its 0-based example index, the 1-based line where it starts and its byte span,
so the UI can seek straight back to it. A line that can't be read (invalid UTF-8, invalid JSON, not
an object, bigger than `MAX_RECORD_BYTES`) becomes a record with a `Finding`, and reading goes on.
"""

from __future__ import annotations

import json
import os
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import orjson

from ftui.core.findings import Finding, Severity

if TYPE_CHECKING:
    from ftui.core.dataset.formats import DatasetFormat

BLOCK_SIZE = 1 << 20
# No model's context holds an example this big (a 1M-token example is ~4 MB of text); reading
# stops buffering past it so a runaway line can't exhaust memory.
MAX_RECORD_BYTES = 16 << 20

UTF8_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"

Layout = Literal["jsonl", "json_array", "json_values"]


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


# --------------------------------------------------------------------------- file checks


def _describe_size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.1f} KB"
    return f"{n} bytes"


_MAGIC = (
    (b"\x1f\x8b", "gzip-compressed; decompress it first (gunzip)"),
    (b"PK\x03\x04", "a zip archive; extract the .jsonl/.json file from it first"),
    (b"PAR1", "a Parquet file; export it to JSONL first"),
    (b"\xff\xfe", "UTF-16 encoded; re-save it as UTF-8"),
    (b"\xfe\xff", "UTF-16 encoded; re-save it as UTF-8"),
    (b"SQLite format 3", "an SQLite database, not a dataset file"),
)


def open_dataset(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open a dataset file for binary reading, or raise DatasetError with an actionable message."""
    p = Path(path)
    try:
        handle = open(p, "rb")  # noqa: SIM115 - returned to the caller
    except FileNotFoundError:
        raise DatasetError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise DatasetError(f"{p} is a directory; give the path of a .jsonl or .json file") from None
    except PermissionError:
        raise DatasetError(f"{p}: permission denied; check the file's read permission") from None
    except OSError as exc:
        raise DatasetError(f"{p}: cannot open ({exc.strerror or exc})") from None
    if p.is_dir():  # some platforms open directories
        handle.close()
        raise DatasetError(f"{p} is a directory; give the path of a .jsonl or .json file")
    return handle


def detect_layout(path: str | os.PathLike[str]) -> tuple[Layout, int]:
    """The file's layout and the offset of its first byte after a BOM; DatasetError if unusable."""
    with open_dataset(path) as handle:
        try:
            head = handle.read(BLOCK_SIZE)
            for magic, what in _MAGIC:
                if head.startswith(magic):
                    raise DatasetError(f"{path} is {what}")
            start = len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0
            rest = head[start:].lstrip(_WHITESPACE)
            while not rest:  # only blanks so far
                block = handle.read(BLOCK_SIZE)
                if not block:
                    raise DatasetError(
                        f"{path} is empty; a dataset has one JSON example per line (.jsonl) "
                        "or a JSON array of examples (.json)"
                    )
                rest = block.lstrip(_WHITESPACE)
            if rest[:1] == b"[":
                return "json_array", start
            if rest[:1] == b"{" and Path(path).suffix.lower() == ".json":
                # A .json file holding one pretty-printed object (or several), not JSON lines.
                while b"\n" not in rest and len(rest) < MAX_RECORD_BYTES:
                    block = handle.read(BLOCK_SIZE)
                    if not block:
                        break
                    rest += block
                try:
                    orjson.loads(rest.split(b"\n", 1)[0])
                except orjson.JSONDecodeError:
                    return "json_values", start
            return "jsonl", start
        except OSError as exc:
            raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None


# --------------------------------------------------------------------------- parsing


def json_type_name(value: Any) -> str:
    """How a JSON value is named in messages: 'an array', 'a string', 'null', ..."""
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


def _shape_finding(value: Any, index: int, line: int) -> Finding | None:
    if isinstance(value, dict):
        return None
    return _finding(
        "data_type",
        index,
        line,
        f"expected a JSON object (one example), got {json_type_name(value)}",
    )


def parse_record(data: bytes | None, index: int, line: int, offset: int, length: int) -> RawRecord:
    """Parse one record's bytes (None: it was too big to buffer) into a RawRecord."""
    if data is None:
        return RawRecord(
            index,
            line,
            offset,
            length,
            None,
            _finding(
                "oversized_record",
                index,
                line,
                f"this example is {_describe_size(length)}, over the "
                f"{_describe_size(MAX_RECORD_BYTES)} ftui reads as one example; no model's context "
                "holds it: split it or remove it",
            ),
        )
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return _parse_slow(data, index, line, offset, length)
    return RawRecord(index, line, offset, length, value, _shape_finding(value, index, line))


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
        return RawRecord(
            index,
            line,
            offset,
            length,
            None,
            _finding(
                "invalid_encoding",
                index,
                line,
                f"{_where(bad_line, line, column)}: bytes {bad} are not valid UTF-8; "
                "re-save the file as UTF-8 (or fix this line's text)",
            ),
        )
    try:
        value = json.loads(text)
        orjson.dumps(value)  # lone surrogates (\\ud800) parse but can't be tokenized or written
    except json.JSONDecodeError as exc:
        bad_line = line + exc.lineno - 1
        return RawRecord(
            index,
            line,
            offset,
            length,
            None,
            _finding(
                "invalid_json",
                index,
                line,
                f"{_where(bad_line, line, exc.colno)}: invalid JSON ({exc.msg}); "
                "each example must be one complete JSON object",
            ),
        )
    except (TypeError, RecursionError, orjson.JSONEncodeError, ValueError) as exc:
        return RawRecord(
            index,
            line,
            offset,
            length,
            None,
            _finding(
                "invalid_json",
                index,
                line,
                f"invalid JSON ({exc}); escape sequences must form valid Unicode",
            ),
        )
    return RawRecord(index, line, offset, length, value, _shape_finding(value, index, line))


def truncated_record(index: int, line: int, offset: int, length: int) -> RawRecord:
    return RawRecord(
        index,
        line,
        offset,
        length,
        None,
        _finding(
            "invalid_json",
            index,
            line,
            "the file ends inside this example (truncated?); complete it or remove it",
        ),
    )


# --------------------------------------------------------------------------- JSONL spans

# A span: (offset, line, length, data or None when oversized, truncated?)
Span = tuple[int, int, int, bytes | None, bool]


def iter_line_spans(
    handle: IO[bytes], start: int = 0, *, keep_data: bool = True, line: int = 1, end: int = -1
) -> Iterator[Span]:
    """Non-blank lines from byte `start` (at a line start) to `end` (-1: EOF), with their spans.

    A line longer than MAX_RECORD_BYTES is yielded with data None, without buffering it whole.
    """
    handle.seek(start)
    pos = start  # file offset of the next unread byte
    pending = bytearray()  # the start of a line that continues in the next block
    pending_start = start
    skipping_from: tuple[int, int] | None = None  # (offset, line) of an oversized line
    remaining = -1 if end < 0 else end - start
    while True:
        size = BLOCK_SIZE if remaining < 0 else min(BLOCK_SIZE, remaining)
        block = handle.read(size) if size else b""
        if remaining >= 0:
            remaining -= len(block)
        if not block:
            break
        block_start = pos
        pos += len(block)
        if skipping_from is not None or pending:
            newline = block.find(b"\n")
            if newline < 0:
                if skipping_from is None and len(pending) + len(block) > MAX_RECORD_BYTES:
                    skipping_from = (pending_start, line)
                    pending = bytearray()
                elif skipping_from is None:
                    pending += block
                continue
            if skipping_from is not None:
                offset, first_line = skipping_from
                yield offset, first_line, block_start + newline - offset, None, False
                skipping_from = None
            else:
                pending += block[:newline]
                yield from _line_span(bytes(pending), pending_start, line, keep_data)
            line += 1
            pending = bytearray()
            block_start += newline + 1
            block = block[newline + 1 :]
        pieces = block.split(b"\n")
        tail = pieces.pop()
        offset = block_start
        for piece in pieces:
            n = len(piece)
            if n and not (piece[0] in _WHITESPACE and piece.isspace()):
                if piece[-1] == 13:  # \r of a CRLF line
                    yield offset, line, n - 1, piece[:-1] if keep_data else b"", False
                else:
                    yield offset, line, n, piece if keep_data else b"", False
            offset += n + 1
            line += 1
        pending_start = offset
        if len(tail) > MAX_RECORD_BYTES:
            skipping_from = (offset, line)
        elif tail:
            pending = bytearray(tail)
    if skipping_from is not None:
        offset, first_line = skipping_from
        yield offset, first_line, pos - offset, None, False
    elif pending:
        yield from _line_span(bytes(pending), pending_start, line, keep_data)


def _line_span(data: bytes, offset: int, line: int, keep_data: bool) -> Iterator[Span]:
    """The span of one line assembled across blocks (nothing if it is blank)."""
    if not data or data.isspace():
        return
    if len(data) > MAX_RECORD_BYTES:
        yield offset, line, len(data), None, False
        return
    if data[-1] == 13:
        data = data[:-1]
    yield offset, line, len(data), data if keep_data else b"", False


# --------------------------------------------------------------------------- JSON spans

_STRUCTURE = re.compile(rb'[\[\]{}"]')
_SCALAR_END = re.compile(rb"[,\]}\s]")


class _JsonSpanScanner:
    """Finds the byte spans of the top-level values of a JSON array (or of concatenated values).

    It tracks only nesting depth and string state, jumping between structural bytes with a regex
    and through strings with `bytes.find`, so it runs at close to memory speed; the values
    themselves are parsed later, one at a time.
    """

    def __init__(self, handle: IO[bytes], start: int, layout: Layout, keep_data: bool) -> None:
        self.handle = handle
        self.keep_data = keep_data
        self.in_array = layout == "json_array"
        handle.seek(start)
        self.buf = bytearray()
        self.base = start  # file offset of buf[0]
        self.eof = False
        self.line = 1
        self.counted_to = 0  # buf index up to which newlines are counted into self.line

    def _fill(self) -> bool:
        if self.eof:
            return False
        block = self.handle.read(BLOCK_SIZE)
        if not block:
            self.eof = True
            return False
        self.buf += block
        return True

    def _trim(self, upto: int) -> None:
        """Drop buf[:upto] (already consumed), keeping line accounting right."""
        if upto <= 0:
            return
        if self.counted_to < upto:
            self.line += self.buf.count(b"\n", self.counted_to, upto)
            self.counted_to = upto
        del self.buf[:upto]
        self.base += upto
        self.counted_to -= upto

    def _line_at(self, index: int) -> int:
        if self.counted_to < index:
            self.line += self.buf.count(b"\n", self.counted_to, index)
            self.counted_to = index
        return self.line

    def _skip_separators(self, pos: int) -> int | None:
        """Index of the next value's first byte, or None at the end of the values."""
        while True:
            buf = self.buf
            n = len(buf)
            while pos < n:
                ch = buf[pos]
                if ch in _WHITESPACE or ch == 44:  # whitespace and commas between values
                    pos += 1
                    continue
                if ch == 93 and self.in_array:  # ']' closes the array: the rest is ignored
                    return None
                return pos
            self._trim(pos)
            pos = 0
            if not self._fill():
                return None

    def spans(self) -> Iterator[Span]:
        pos = self._skip_separators(0)
        if pos is None:
            return
        if self.in_array:
            if self.buf[pos] != 91:  # '['
                return
            pos += 1
        while True:
            pos = self._skip_separators(pos)
            if pos is None:
                return
            self._trim(pos)
            span, pos = self._scan_value()
            yield span
            if span[4]:  # truncated: nothing after it
                return

    def _scan_value(self) -> tuple[Span, int]:
        """Scan the value starting at buf[0]; return its span and the index just past it."""
        buf = self.buf
        line = self._line_at(0)
        offset = self.base
        first = buf[0]
        dropped = 0  # bytes of an oversized value already discarded
        if first not in b'{["':
            searched = 0
            while True:
                m = _SCALAR_END.search(self.buf, searched)
                if m is not None:
                    end = m.start()
                    break
                searched = len(self.buf)
                if searched > MAX_RECORD_BYTES or not self._fill():
                    end = len(self.buf)
                    break
            end = max(end, 1)  # a stray '}' or ']' is a one-byte (invalid) value: always advance
            data = bytes(self.buf[:end]) if end <= MAX_RECORD_BYTES else None
            return (offset, line, end, data if self.keep_data else b"", False), end
        depth = 0
        in_string = False
        pos = 0
        while True:
            buf = self.buf
            n = len(buf)
            while pos < n:
                if in_string:
                    q = buf.find(b'"', pos)
                    if q < 0:
                        pos = n
                        break
                    k = q - 1
                    while k >= 0 and buf[k] == 92:  # count backslashes before the quote
                        k -= 1
                    pos = q + 1
                    if (q - 1 - k) % 2 == 0:
                        in_string = False
                        if depth == 0:
                            return self._finish(offset, line, pos, dropped)
                    continue
                m = _STRUCTURE.search(buf, pos)
                if m is None:
                    pos = n
                    break
                ch = buf[m.start()]
                pos = m.end()
                if ch == 34:
                    in_string = True
                elif ch == 123 or ch == 91:
                    depth += 1
                else:
                    depth -= 1
                    if depth <= 0:
                        return self._finish(offset, line, pos, dropped)
            if dropped or len(buf) > MAX_RECORD_BYTES:
                # Oversized: stop buffering it, but keep a run of trailing backslashes so an
                # escaped quote across the block boundary is still recognised.
                keep = 0
                while keep < pos and buf[pos - 1 - keep] == 92:
                    keep += 1
                cut = pos - keep
                self.line += buf.count(b"\n", self.counted_to, cut)
                self.counted_to = cut
                del buf[:cut]
                self.counted_to = 0
                self.base += cut
                dropped += cut
                pos = keep
            if not self._fill():
                length = dropped + len(self.buf)
                rest = None if dropped else bytes(self.buf)
                return (offset, line, length, rest, True), len(self.buf)

    def _finish(self, offset: int, line: int, end: int, dropped: int) -> tuple[Span, int]:
        if dropped:
            return (offset, line, dropped + end, None, False), end
        data = bytes(self.buf[:end]) if self.keep_data else b""
        return (offset, line, end, data, False), end


def iter_json_spans(
    handle: IO[bytes], start: int, layout: Layout, *, keep_data: bool = True
) -> Iterator[Span]:
    return _JsonSpanScanner(handle, start, layout, keep_data).spans()


# --------------------------------------------------------------------------- records


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
    path: str | os.PathLike[str], *, fmt: DatasetFormat | None = None
) -> Iterator[RawRecord]:
    """Every record of a dataset file, in order, streamed in constant memory.

    Raises DatasetError (before yielding anything) when the file can't be read at all. `fmt` does
    not change how bytes are read: the layout (JSONL or JSON) is detected from the file itself.
    """
    del fmt
    for _layout, spans in iter_spans(path):
        for index, (offset, line, length, data, truncated) in enumerate(spans):
            if truncated:
                yield truncated_record(index, line, offset, length)
            else:
                yield parse_record(data, index, line, offset, length)


# --------------------------------------------------------------------------- index


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

    def read_range(self, start: int, stop: int) -> list[RawRecord]:
        """Examples start..stop-1 (clamped), read with one contiguous read where that is sane."""
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
                return [self._read(handle, i) for i in range(start, stop)]
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
                records.append(parse_record(data, i, line, offset, length))
        return records

    def _read(self, handle: IO[bytes], i: int) -> RawRecord:
        if i < 0:
            i += len(self)
        offset, length, line = self.offsets[i], self.lengths[i], self.lines[i]
        if length > MAX_RECORD_BYTES:
            return parse_record(None, i, line, offset, length)
        handle.seek(offset)
        data = handle.read(length)
        if i == self.truncated or len(data) < length:
            return truncated_record(i, line, offset, length)
        return parse_record(data, i, line, offset, length)


def scan_index(
    path: str | os.PathLike[str], *, chunk_records: int = 10_000
) -> Iterator[ExampleIndex]:
    """Index a file incrementally: yields the same, growing ExampleIndex after each chunk.

    The last yield has `complete=True`. JSONL is indexed by scanning for newlines in big blocks,
    without parsing any JSON.
    """
    layout, start = detect_layout(path)
    index = ExampleIndex(path, layout)
    offsets, lengths, lines = index.offsets, index.lengths, index.lines
    next_yield = chunk_records
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
            if len(offsets) >= next_yield:
                next_yield += chunk_records
                yield index
    index.complete = True
    yield index


def build_index(path: str | os.PathLike[str]) -> ExampleIndex:
    """Index a whole file (see scan_index)."""
    *_, index = scan_index(path, chunk_records=1 << 62)
    return index
