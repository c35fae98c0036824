"""Tailing a training process's own output (`runs/<id>/train.log`) as log panel lines.

The file holds whatever the process wrote to stdout and stderr: bytes that need not be valid
UTF-8 (decoded with replacement, a character split between two reads decoded whole), lines that
tqdm rewrites with carriage returns (collapsed to their last state by `split_output`), and a last
line that may still be being written (kept pending until its newline). Each read takes in at most
`max_bytes`, so a flood is read in slices and the caller stays responsive between them.

    tailer = OutputTailer(run_dir / "train.log", offset_of_last_lines(path, 2000))
    lines = tailer.read_available()          # from a thread worker, as often as it likes
    async for batch in tailer.batches():     # or: follow it, one list of lines per read
        ...
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from ftui.core.runs.log_lines import LogLine, flush_pending, split_output
from ftui.services.eventlog import offset_of_last_lines

__all__ = ["DEFAULT_READ_BYTES", "OutputTailer", "offset_of_last_lines"]

# One read's worth: about 2,000 lines of trainer output, split and classified in a few ms.
DEFAULT_READ_BYTES = 256 * 1024
# A line never ended (a bar printed forever without a newline) is shown once it gets this long,
# so the pending text stays bounded.
MAX_PENDING_CHARS = 64 * 1024


class OutputTailer:
    """Reads what was appended to a text file since the last call, as classified lines.

    Survives a file that does not exist yet (reads nothing), truncation (the file is shorter than
    what was read: starts again from its beginning) and replacement (a new file at the path, as
    log rotation leaves it: finishes the old file, then reads the new one from the start).
    `restarts` counts truncations and replacements seen.
    """

    def __init__(self, path: str | os.PathLike[str], offset: int = 0) -> None:
        self.path = Path(path)
        self.offset = offset
        self.pending = ""
        self.restarts = 0
        self.at_end = True  # the last read reached the end of the file
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._handle: BinaryIO | None = None
        self._inode: int | None = None
        self._stopped = False
        self._wake = asyncio.Event()

    # -- reading --------------------------------------------------------------------------------

    def read_available(self, max_bytes: int = DEFAULT_READ_BYTES) -> list[LogLine]:
        """The complete lines appended since the last call, from at most `max_bytes` of the file
        (check `at_end` to know whether more is waiting)."""
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, not {max_bytes}")
        if self._handle is None and not self._open():
            self.at_end = True
            return []
        assert self._handle is not None
        try:
            current: os.stat_result | None = os.stat(self.path)
        except FileNotFoundError:
            current = None
        if current is not None and current.st_ino != self._inode:
            # Replaced: what the old file still holds comes first, then the new file from 0.
            lines = self._read(max_bytes)
            if lines or not self.at_end:
                self.at_end = False
                return lines
            lines = self.flush()
            self._restart()
            if not self._open():
                return lines
            return lines + self._read(max_bytes)
        if os.fstat(self._handle.fileno()).st_size < self.offset:
            lines = self.flush()
            self._restart()
            if not self._open():
                return lines
            return lines + self._read(max_bytes)
        return self._read(max_bytes)

    def flush(self) -> list[LogLine]:
        """The pending, unfinished last line as a line of its own (the writer has stopped)."""
        tail = self._decoder.decode(b"", final=True)
        lines = flush_pending(self.pending + tail)
        self.pending = ""
        return lines

    def _read(self, max_bytes: int) -> list[LogLine]:
        assert self._handle is not None
        self._handle.seek(self.offset)
        data = self._handle.read(max_bytes)
        self.offset += len(data)
        size = os.fstat(self._handle.fileno()).st_size
        self.at_end = self.offset >= size
        if not data:
            return []
        lines, self.pending = split_output(self._decoder.decode(data), self.pending)
        if len(self.pending) > MAX_PENDING_CHARS:
            lines += flush_pending(self.pending)
            self.pending = ""
        return lines

    # -- following ------------------------------------------------------------------------------

    async def batches(
        self, poll_interval: float = 0.1, max_bytes: int = DEFAULT_READ_BYTES
    ) -> AsyncIterator[list[LogLine]]:
        """Yields the lines of each read until `stop()`; reads again at once while behind."""
        try:
            while not self._stopped:
                lines = self.read_available(max_bytes)
                if lines:
                    yield lines
                if not self.at_end:
                    await asyncio.sleep(0)
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), poll_interval)
        finally:
            self.close()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    # -- the file -------------------------------------------------------------------------------

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle = None
        self._inode = None

    def _open(self) -> bool:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return False
        self._handle = handle
        self._inode = os.fstat(handle.fileno()).st_ino
        return True

    def _restart(self) -> None:
        self.close()
        self.offset = 0
        self.pending = ""
        self._decoder.reset()
        self.restarts += 1
