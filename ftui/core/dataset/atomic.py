"""Atomic file writes: a reader sees the old file or the new one, never half of either.

The new content goes to a temporary file beside the target (same directory, so same filesystem),
is flushed and fsynced, then `os.replace`d over the target; the directory is fsynced so the rename
itself survives a power cut. If anything fails before the rename, the target is untouched and the
temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def _read_umask() -> int:
    # os.umask can only be read by setting it; done once at import, before any threads exist.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file in `directory` durable."""
    # Not every platform lets you open a directory (Windows); durability there is best effort.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str], mode: str = "wb", **open_kwargs: Any
) -> Iterator[IO[Any]]:
    """Yield a file opened on a temporary sibling of `path`; on success it replaces `path`.

    On an exception inside the block the target keeps its old content (or stays absent) and the
    exception propagates. Text modes accept `encoding`/`newline` like `open` (UTF-8 by default).
    """
    if "w" not in mode or "+" in mode or "a" in mode:
        raise ValueError(f"atomic_writer needs a plain write mode ('w' or 'wb'), got {mode!r}")
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # Keep the target's permissions when replacing an existing file (mkstemp makes 0600).
        try:
            os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        except FileNotFoundError:
            os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(directory)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically (temp file beside it, fsync, rename, fsync the dir)."""
    with atomic_writer(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` as UTF-8 to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))
