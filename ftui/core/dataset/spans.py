"""Where each record of a file starts and ends, found without parsing it.

JSON lines are split on newlines in big blocks; a JSON array (or values one after another) is
scanned for the top-level values' byte spans. Both run in constant memory: a record longer than
`MAX_RECORD_BYTES` is yielded with no data rather than buffered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from ftui.core.dataset.records import BLOCK_SIZE, MAX_RECORD_BYTES, WHITESPACE, Layout

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
            if n and not (piece[0] in WHITESPACE and piece.isspace()):
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


_STRUCTURE = re.compile(rb'[\[\]{}"]')
_SCALAR_END = re.compile(rb"[,\]}\s]")
_VALUE, _CLOSE, _EOF = 0, 1, 2


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

    def _skip(self, pos: int, in_array: bool) -> tuple[int, int]:
        """From buf[pos], past whitespace and commas: (index, _VALUE) at the next value's first
        byte, (index, _CLOSE) at a ']' closing the array, (0, _EOF) at the end of the file."""
        while True:
            buf = self.buf
            n = len(buf)
            while pos < n:
                ch = buf[pos]
                if ch in WHITESPACE or ch == 44:  # whitespace and commas between values
                    pos += 1
                    continue
                if ch == 93 and in_array:
                    return pos, _CLOSE
                return pos, _VALUE
            self._trim(pos)
            pos = 0
            if not self._fill():
                return 0, _EOF

    def spans(self) -> Iterator[Span]:
        # Whatever follows the first array is read too (a second array of `cat a.json b.json`,
        # stray values): every byte of the file is a record or part of one.
        pos = 0
        while True:
            pos, what = self._skip(pos, in_array=False)
            if what == _EOF:
                return
            if self.in_array and self.buf[pos] == 91:  # '[' opens an array of examples
                pos += 1
                while True:
                    pos, what = self._skip(pos, in_array=True)
                    if what == _CLOSE:
                        pos += 1
                        break
                    if what == _EOF:
                        # Cut at a record boundary: an empty truncated span says the ']' is missing.
                        yield self.base, self._line_at(0), 0, b"", True
                        return
                    self._trim(pos)
                    span, pos = self._scan_value()
                    yield span
                    if span[4]:  # truncated: nothing after it
                        return
                continue
            self._trim(pos)
            span, pos = self._scan_value()
            yield span
            if span[4]:
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
