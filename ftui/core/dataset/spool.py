"""A stream given as a dataset (`-`, a named pipe, `<(zcat data.gz)`) read once into a file.

A dataset is read more than once (format sniffing, then the records), and a stream can be read
only once: the second read of `<(zcat ...)` found it empty. Commands that read a dataset spool a
stream to a temporary file first and read that; a pipe nothing writes to is given up on after
`STREAM_WAIT_SECONDS` rather than waited on for ever.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import select
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from ftui.core.dataset.atomic import pid_alive
from ftui.core.dataset.records import BLOCK_SIZE, DatasetError
from ftui.core.dataset.sniff import stream_kind

STDIN = "-"
STREAM_WAIT_SECONDS = 60.0
_SPOOL_NAME = re.compile(r"ftui-stream\.(\d+)\.[0-9a-f]{8}\.json")


def is_stream(path: str | os.PathLike[str]) -> bool:
    """`-` (stdin), or a pipe: data that can be read only once."""
    return os.fspath(path) == STDIN or stream_kind(path) == "a named pipe or stream"


def _remove_stale_spools(directory: Path) -> None:
    """Spool files of killed commands (their pid is gone)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            match = _SPOOL_NAME.fullmatch(entry.name)
            if match is not None and not pid_alive(int(match.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _wait_readable(fd: int, name: str, notice: Callable[[str], None] | None) -> None:
    """Wait for a writer to send data (or close the pipe), at most STREAM_WAIT_SECONDS."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP)
    started = time.monotonic()
    told = False
    while not poller.poll(200):
        waited = time.monotonic() - started
        if waited >= STREAM_WAIT_SECONDS:
            raise DatasetError(
                f"{name}: nothing was written to this pipe in {STREAM_WAIT_SECONDS:.0f} s; start "
                "the program that writes it first, or save the data to a file"
            )
        if notice is not None and not told and waited >= 1:
            notice(f"waiting for data on {name} (Ctrl-C to stop)")
            told = True


def _copy_stream(source: BinaryIO | int, out: BinaryIO) -> None:
    while True:
        block = os.read(source, BLOCK_SIZE) if isinstance(source, int) else source.read(BLOCK_SIZE)
        if not block:
            return
        out.write(block)


@contextlib.contextmanager
def readable_file(
    path: str | os.PathLike[str], *, notice: Callable[[str], None] | None = None
) -> Iterator[Path]:
    """`path` itself when it is a file; a stream's content spooled to a temporary file otherwise.

    The spool file is removed afterwards (and, if the command is killed, by the next spool)."""
    name = os.fspath(path)
    if not is_stream(name):
        yield Path(name)
        return
    directory = Path(tempfile.gettempdir())
    _remove_stale_spools(directory)
    spool = directory / f"ftui-stream.{os.getpid()}.{secrets.token_hex(4)}.json"
    try:
        with open(spool, "xb") as out:
            if name == STDIN:
                if sys.stdin is None or sys.stdin.isatty():
                    raise DatasetError(
                        "'-' reads the dataset from stdin, but stdin is the terminal: pipe the "
                        "data in (zcat data.jsonl.gz | ftui validate -) or give a file"
                    )
                _copy_stream(sys.stdin.buffer, out)
            else:
                # Non-blocking open: a blocking one would wait for ever for a writer.
                fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK)
                try:
                    _wait_readable(fd, name, notice)
                    os.set_blocking(fd, True)
                    _copy_stream(fd, out)
                finally:
                    os.close(fd)
        yield spool
    finally:
        with contextlib.suppress(FileNotFoundError):
            spool.unlink()
