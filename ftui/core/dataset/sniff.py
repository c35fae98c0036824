"""What a file is before it is read as records: its layout, or why it is no dataset at all.

Streams are refused here (a named pipe, `<(zcat ...)`, a terminal): a dataset is read more than
once, and opening a pipe with no writer would block forever. The CLI spools streams to a file
first; everything else says what to do.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

import orjson

from ftui.core.dataset.records import (
    BLOCK_SIZE,
    MAX_RECORD_BYTES,
    UTF8_BOM,
    WHITESPACE,
    DatasetError,
    Layout,
)

# Checked in order: UTF-32's byte order marks start like UTF-16's.
_MAGIC = (
    (b"\x1f\x8b", "gzip-compressed; decompress it first (gunzip)"),
    (b"PK\x03\x04", "a zip archive; extract the .jsonl/.json file from it first"),
    (b"PAR1", "a Parquet file; export it to JSONL first"),
    (b"\xff\xfe\x00\x00", "UTF-32 encoded; re-save it as UTF-8"),
    (b"\x00\x00\xfe\xff", "UTF-32 encoded; re-save it as UTF-8"),
    (b"\xff\xfe", "UTF-16 encoded; re-save it as UTF-8"),
    (b"\xfe\xff", "UTF-16 encoded; re-save it as UTF-8"),
    (b"SQLite format 3", "an SQLite database, not a dataset file"),
    (b"\x7fELF", "a binary program (ELF), not a dataset file"),
)
_SNIFF_BYTES = 4096


def _wide_or_binary(head: bytes) -> str | None:
    """UTF-16/32 without a byte order mark, or binary data: what the file is, or None for text.

    A NUL byte never appears in UTF-8 JSON; where the NULs fall tells a wide encoding of (mostly
    ASCII) JSON text from binary data."""
    sample = head[: _SNIFF_BYTES - _SNIFF_BYTES % 4]
    sample = sample[: len(sample) - len(sample) % 4]
    if b"\x00" not in sample:
        return None
    zeros = [sample[k::4].count(0) for k in range(4)]
    quarter = len(sample) // 4
    if zeros[1] == zeros[2] == zeros[3] == quarter and zeros[0] < quarter:
        return "UTF-32 (little-endian) encoded text; re-save it as UTF-8"
    if zeros[0] == zeros[1] == zeros[2] == quarter and zeros[3] < quarter:
        return "UTF-32 (big-endian) encoded text; re-save it as UTF-8"
    if zeros[0] == zeros[2] == 0:
        return "UTF-16 (little-endian) encoded text without a byte order mark; re-save it as UTF-8"
    if zeros[1] == zeros[3] == 0:
        return "UTF-16 (big-endian) encoded text without a byte order mark; re-save it as UTF-8"
    return "binary data (it holds NUL bytes), not a JSON dataset"


def stream_kind(path: str | os.PathLike[str]) -> str | None:
    """'a named pipe' / 'a device' when `path` is a stream rather than a regular file."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return "a named pipe or stream"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return None


def open_dataset(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open a dataset file for binary reading, or raise DatasetError with an actionable message."""
    p = Path(path)
    kind = stream_kind(p)
    if kind is not None:
        # Checked before open(): opening a pipe blocks until something writes to it.
        raise DatasetError(
            f"{p} is {kind}, not a regular file; ftui reads a dataset more than once: save it "
            "to a file first (the validate, stats and convert commands also read '-', stdin)"
        )
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


def _first_line_stands_alone(handle: IO[bytes], rest: bytes) -> bool:
    """Whether the first line is one complete JSON value with more lines after it (JSON lines)."""
    while b"\n" not in rest and len(rest) < MAX_RECORD_BYTES:
        block = handle.read(BLOCK_SIZE)
        if not block:
            return False
        rest += block
    first, newline, after = rest.partition(b"\n")
    if not newline:
        return False
    try:
        orjson.loads(first)
    except orjson.JSONDecodeError:
        return False
    while not after.strip(WHITESPACE):
        after = handle.read(BLOCK_SIZE)
        if not after:
            return False  # one value on one line: an array file written compactly
    return True


def detect_layout(path: str | os.PathLike[str]) -> tuple[Layout, int]:
    """The file's layout and the offset of its first byte after a BOM; DatasetError if unusable."""
    with open_dataset(path) as handle:
        try:
            head = handle.read(BLOCK_SIZE)
            for magic, what in _MAGIC:
                if head.startswith(magic):
                    raise DatasetError(f"{path} is {what}")
            problem = _wide_or_binary(head)
            if problem is not None:
                raise DatasetError(f"{path} is {problem}")
            start = len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0
            rest = head[start:].lstrip(WHITESPACE)
            while not rest:  # only blanks so far
                block = handle.read(BLOCK_SIZE)
                if not block:
                    raise DatasetError(
                        f"{path} is empty; a dataset has one JSON example per line (.jsonl) "
                        "or a JSON array of examples (.json)"
                    )
                rest = block.lstrip(WHITESPACE)
            if rest[:1] == b"[":
                # `[]` or a bare list of messages on the first of many lines is JSON lines.
                return ("jsonl" if _first_line_stands_alone(handle, rest) else "json_array"), start
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
