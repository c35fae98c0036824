"""The crash journal of a dataset session: every edit, undo and redo, on disk before it is shown.

An editing session keeps its edits in memory until the user saves. So that a crash, a `kill -9` or
a dropped SSH loses nothing, each step is appended to `<journal_dir>/<sha1 of the dataset's absolute
path>.journal` and fsynced. Replaying the steps over the original file rebuilds the session exactly.

The file is JSON lines: a header, then one entry per step::

    {"journal": 1, "path": "/abs/data.jsonl", "format": "openai",
     "source": {"size", "mtime_ns", "head_sha1", "tail_sha1"}, "created": 1700000000.0}
    {"op": "apply", "edit": {"kind": "set_content", ...}, "ts": ...}
    {"op": "undo", "ts": ...}
    {"op": "redo", "ts": ...}

The header's `source` fingerprints the original file, so a journal is only replayed over the very
file it was written against. A torn last line (killed mid-write) is ignored.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from ftui.core.dataset.atomic import fsync_dir

JOURNAL_VERSION = 1
HEAD_BYTES = 1 << 20
TAIL_BYTES = 64 << 10


class JournalError(Exception):
    """A journal that cannot be replayed; str() says why and what to do."""


@dataclass(frozen=True, slots=True)
class FileFingerprint:
    """Enough to tell that a file changed: size, mtime, and hashes of its head and its tail."""

    size: int
    mtime_ns: int
    head_sha1: str
    tail_sha1: str = ""

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> FileFingerprint:
        fd = os.open(path, os.O_RDONLY)
        try:
            return cls.of_fd(fd)
        finally:
            os.close(fd)

    @classmethod
    def of_fd(cls, fd: int, size: int | None = None) -> FileFingerprint:
        """The fingerprint of an open file (of its first `size` bytes when given)."""
        stat = os.fstat(fd)
        size = stat.st_size if size is None else size
        head = hashlib.sha1(os.pread(fd, min(size, HEAD_BYTES), 0)).hexdigest()
        tail = ""
        if size > HEAD_BYTES:
            start = max(HEAD_BYTES, size - TAIL_BYTES)
            tail = hashlib.sha1(os.pread(fd, size - start, start)).hexdigest()
        return cls(size=size, mtime_ns=stat.st_mtime_ns, head_sha1=head, tail_sha1=tail)

    def still_in(self, fd: int) -> bool:
        """Whether the open file still starts with the bytes this fingerprint describes
        (unchanged, or only appended to)."""
        if os.fstat(fd).st_size < self.size:
            return False
        now = FileFingerprint.of_fd(fd, self.size)
        return (now.head_sha1, now.tail_sha1) == (self.head_sha1, self.tail_sha1)

    def describe_change(self, now: FileFingerprint) -> str | None:
        """None when `now` is the same file; else what differs, in words."""
        if now == self:
            return None
        if now.size != self.size:
            return f"its size went from {self.size:,} to {now.size:,} bytes"
        if (now.head_sha1, now.tail_sha1) != (self.head_sha1, self.tail_sha1):
            return "its content changed"
        return "it was modified (its modification time changed)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileFingerprint:
        return cls(
            size=int(data["size"]),
            mtime_ns=int(data["mtime_ns"]),
            head_sha1=data["head_sha1"],
            tail_sha1=data.get("tail_sha1", ""),
        )


@dataclass(frozen=True, slots=True)
class JournalInfo:
    """What an earlier, unsaved session left behind.

    `count` is the number of edits that restoring brings back (undone ones excluded), `steps` the
    number of journal entries; `compatible` is False when the dataset changed since (then `reason`
    says how, and the journal cannot be replayed).
    """

    path: Path
    count: int
    steps: int
    created: float
    updated: float
    compatible: bool
    reason: str | None = None

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.updated))
        edits = f"{self.count} unsaved edit{'s' if self.count != 1 else ''}"
        if self.compatible:
            return f"{edits} from a session that ended without saving (last edit {when})"
        return f"{edits} from {when} cannot be restored: {self.reason}"


def journal_path_for(dataset: str | os.PathLike[str], journal_dir: str | os.PathLike[str]) -> Path:
    absolute = os.path.abspath(os.fspath(dataset))
    name = hashlib.sha1(absolute.encode("utf-8", "surrogateescape")).hexdigest()
    return Path(journal_dir) / f"{name}.journal"


def read_journal(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Header and entries. Raises JournalError if there is no readable header."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"cannot read the journal {path}: {exc.strerror or exc}") from exc
    lines = iter(data.split(b"\n"))
    try:
        header = orjson.loads(next(lines))
    except (StopIteration, orjson.JSONDecodeError):
        raise JournalError(f"the journal {path} has no readable header; delete it") from None
    if not isinstance(header, dict) or header.get("journal") != JOURNAL_VERSION:
        raise JournalError(f"the journal {path} is not a version {JOURNAL_VERSION} ftui journal")
    return header, list(_entries(lines))


def _entries(lines: Iterator[bytes]) -> Iterator[dict[str, Any]]:
    for raw in lines:
        if not raw.strip():
            continue
        try:
            entry = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue  # a line torn by a kill mid-append; later sessions start on a fresh line
        if isinstance(entry, dict) and entry.get("op") in {"apply", "undo", "redo"}:
            yield entry


def net_edit_count(entries: list[dict[str, Any]]) -> int:
    """How many edits are in effect after replaying `entries` (the undo stack's depth)."""
    depth = 0
    redoable = 0
    for entry in entries:
        op = entry["op"]
        if op == "apply":
            depth, redoable = depth + 1, 0
        elif op == "undo" and depth:
            depth, redoable = depth - 1, redoable + 1
        elif op == "redo" and redoable:
            depth, redoable = depth + 1, redoable - 1
    return depth


def inspect_journal(path: Path, source: FileFingerprint | None) -> JournalInfo | None:
    """Describe the journal at `path` (None when there is none or it holds no step)."""
    if not path.exists():
        return None
    try:
        header, entries = read_journal(path)
    except JournalError as exc:
        return JournalInfo(path, 0, 0, 0.0, 0.0, compatible=False, reason=str(exc))
    if not entries:
        return None
    created = float(header.get("created", 0.0))
    updated = float(entries[-1].get("ts", created))
    reason = None
    if source is not None:
        try:
            recorded = FileFingerprint.from_dict(header["source"])
        except (KeyError, TypeError, ValueError):
            reason = "its header does not say which file version it was written against"
        else:
            change = recorded.describe_change(source)
            if change is not None:
                reason = f"the dataset changed since those edits were made ({change})"
    return JournalInfo(
        path=path,
        count=net_edit_count(entries),
        steps=len(entries),
        created=created,
        updated=updated,
        compatible=reason is None,
        reason=reason,
    )


def set_aside(path: Path) -> Path:
    """Rename an unwanted journal out of the way (kept, never deleted silently)."""
    target = path.with_name(
        f"{path.stem}.{time.strftime('%Y%m%d-%H%M%S')}.{os.getpid()}.old-journal"
    )
    os.replace(path, target)
    return target


class JournalWriter:
    """Appends steps to a journal; each one is flushed and fsynced before `append` returns."""

    def __init__(
        self, path: Path, *, dataset: Path, fmt: str, source: FileFingerprint, fsync: bool = True
    ) -> None:
        self.path = path
        self._fsync = fsync
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        header = {
            "journal": JOURNAL_VERSION,
            "path": str(dataset),
            "format": fmt,
            "source": source.to_dict(),
            "created": time.time(),
        }
        self._write(header)
        if fsync:
            fsync_dir(path.parent)

    @classmethod
    def reopen(cls, path: Path, *, fsync: bool = True) -> JournalWriter:
        """Continue appending to an existing journal (after its steps were replayed)."""
        writer = cls.__new__(cls)
        writer.path = path
        writer._fsync = fsync
        writer._fd = os.open(path, os.O_RDWR | os.O_APPEND)
        size = os.fstat(writer._fd).st_size
        if size and os.pread(writer._fd, 1, size - 1) != b"\n":
            os.write(writer._fd, b"\n")  # isolate a torn last line
        return writer

    def append(self, op: str, edit: dict[str, Any] | None = None) -> None:
        entry: dict[str, Any] = {"op": op, "ts": time.time()}
        if edit is not None:
            entry["edit"] = edit
        self._write(entry)

    def _write(self, entry: dict[str, Any]) -> None:
        # One write per entry: a kill can tear only the last line, which the reader skips.
        os.write(self._fd, orjson.dumps(entry) + b"\n")
        if self._fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
