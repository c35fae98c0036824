"""Reading a run's event log: once (`read_events`, `read_chunk`) or live (`EventTailer`).

Each line comes back as the JSON object it holds; `ftui.core.runs.codec.parse_event` makes the
typed event of one. Only complete lines count: a line without its newline is a write in progress
and is left for the next read, so the offset always sits at a line boundary. Lines that are not
valid events are skipped and counted, never fatal. The store (indexing) and the follow path (live
views) both read through this module, so a run followed live and a run replayed from history are
parsed the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftui.core.runs.codec import parse_event_line

# How much one read takes in; big enough for throughput, small enough to keep a UI loop responsive.
DEFAULT_CHUNK_BYTES = 1 << 20


@dataclass
class EventChunk:
    """The complete events found between `start` and `end` (byte offsets) of an event log."""

    start: int
    end: int
    events: list[dict[str, Any]] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)  # byte offset of each event's line
    invalid: int = 0
    truncated: bool = False  # the file is now shorter than `start`: it was rewritten
    at_end: bool = True  # the read reached the end of the file (False: more to read)


def parse_chunk(data: bytes, start: int) -> EventChunk:
    """Split bytes read at offset `start` into complete events, leaving out a partial last line."""
    last_newline = data.rfind(b"\n")
    chunk = EventChunk(start=start, end=start + last_newline + 1)
    if last_newline < 0:
        chunk.end = start
        return chunk
    position = 0
    for line in data[: last_newline + 1].split(b"\n")[:-1]:
        line_offset = start + position
        position += len(line) + 1
        if not line.strip():
            continue
        event = parse_event_line(line)
        if event is None:
            chunk.invalid += 1
            continue
        chunk.events.append(event)
        chunk.offsets.append(line_offset)
    return chunk


def read_chunk(
    path: str | os.PathLike[str], offset: int = 0, max_bytes: int | None = None
) -> EventChunk:
    """Complete events from `offset` on, at most about `max_bytes` of them (a line is never split).

    A missing file reads as empty. A file shorter than `offset` is reported as `truncated`.
    """
    try:
        handle = Path(path).open("rb")  # noqa: SIM115 - closed by the `with` below
    except FileNotFoundError:
        return EventChunk(start=offset, end=offset)
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if size < offset:
            return EventChunk(start=offset, end=offset, truncated=True)
        handle.seek(offset)
        data = handle.read() if max_bytes is None else handle.read(max_bytes)
        if max_bytes is not None and len(data) == max_bytes and b"\n" not in data:
            # A single line longer than max_bytes: read on to its end rather than stall on it.
            rest = handle.readline()
            data += rest
    chunk = parse_chunk(data, offset)
    chunk.at_end = offset + len(data) >= size
    return chunk


def read_events(path: str | os.PathLike[str], offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """All complete events from `offset` on, and the offset to continue from."""
    chunk = read_chunk(path, offset)
    if chunk.truncated:
        chunk = read_chunk(path, 0)
    return chunk.events, chunk.end


def offset_of_last_lines(path: str | os.PathLike[str], lines: int) -> int:
    """The byte offset where the last `lines` complete lines of a file start (0 if fewer)."""
    try:
        handle = Path(path).open("rb")  # noqa: SIM115 - closed by the `with` below
    except FileNotFoundError:
        return 0
    with handle:
        end = os.fstat(handle.fileno()).st_size
        position, newlines, block = end, 0, 64 * 1024
        while position > 0:
            start = max(0, position - block)
            handle.seek(start)
            data = handle.read(position - start)
            index = len(data)
            while (index := data.rfind(b"\n", 0, index)) >= 0:
                newlines += 1
                if newlines > lines:  # the newline that ends the line before the last `lines`
                    return start + index + 1
            position = start
    return 0


class EventTailer:
    """Follows an event log from a byte offset and yields complete events as they are appended.

    Survives a file that does not exist yet (waits for it), a partial last line (waits for its
    newline), truncation (size < offset: starts again from 0) and rotation (a new file at the path:
    drains the old one, then reads the new one from 0). Invalid lines are skipped and counted.

        tailer = EventTailer(run_dir / "events.jsonl")
        async for event in tailer:      # or: async for batch in tailer.batches()
            ...
        tailer.stop()                   # from anywhere: the loop ends at its next poll
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        offset: int = 0,
        poll_interval: float = 0.2,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        self.path = Path(path)
        self.offset = offset
        self.poll_interval = poll_interval
        self.chunk_bytes = chunk_bytes
        self.invalid_lines = 0
        self.restarts = 0  # truncations and rotations seen
        self._stopped = False
        self._wake = asyncio.Event()
        self._handle: Any = None
        self._inode: int | None = None

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def close(self) -> None:
        """Let go of the file (for callers of `read_available`; `batches` closes it itself)."""
        self._close()

    @property
    def stopped(self) -> bool:
        return self._stopped

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        async for batch in self.batches():
            for event in batch:
                yield event

    async def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        """Yields lists of events, one per read: a UI can apply each list in one update."""
        try:
            while not self._stopped:
                batch = self._read_available()
                if batch:
                    yield batch
                    await asyncio.sleep(0)  # let the loop breathe between big chunks
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        finally:
            self._close()

    def read_available(self) -> list[dict[str, Any]]:
        """Whatever complete events are there now, without waiting (one chunk at most)."""
        return self._read_available()

    def _open(self) -> bool:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return False
        self._handle = handle
        self._inode = os.fstat(handle.fileno()).st_ino
        return True

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle = None
        self._inode = None

    def _read_from_handle(self) -> list[dict[str, Any]]:
        self._handle.seek(self.offset)
        data = self._handle.read(self.chunk_bytes)
        if len(data) == self.chunk_bytes and b"\n" not in data:
            data += self._handle.readline()
        chunk = parse_chunk(data, self.offset)
        self.offset = chunk.end
        self.invalid_lines += chunk.invalid
        return chunk.events

    def _read_available(self) -> list[dict[str, Any]]:
        if self._handle is None and not self._open():
            return []
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            current = None
        if current is not None and current.st_ino != self._inode:
            # Rotated: finish what the old file still holds, then move to the new one.
            events = self._read_from_handle()
            if events:
                return events
            self._restart()
            if not self._open():
                return []
        elif os.fstat(self._handle.fileno()).st_size < self.offset:
            self._restart()
            self._close()
            if not self._open():
                return []
        return self._read_from_handle()

    def _restart(self) -> None:
        self._close()
        self.offset = 0
        self.restarts += 1
