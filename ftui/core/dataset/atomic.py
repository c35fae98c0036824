"""Atomic file writes: a reader sees the old file or the new one, never half of either.

The new content goes to a temporary file beside the target (same directory, so same filesystem),
is flushed and fsynced, then `os.replace`d over the target; the directory is fsynced so the rename
itself survives a power cut. If anything fails before the rename, the target is untouched and the
temporary file is removed.

A temp file is named `.<target>.<writer pid>.<random>.tmp`, so a writer that was killed (its pid
is gone) is recognised: the next write of the same target removes what it left (`settle`).

Several files that must change together (a split's train and validation files) are written with
`atomic_group`: every temp file first, then a small commit journal naming the renames, then the
renames. A kill before the journal exists changes nothing; a kill after it is rolled forward by
the next `settle` of that directory, so the files end up all new or all old, never mixed.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

# Test hook: "before-commit:SECONDS" pauses with every temp file written and nothing renamed;
# "mid-commit:SECONDS" pauses after the first rename of a group (kill tests stop a write there).
COMMIT_PAUSE_ENV = "FTUI_TEST_COMMIT_PAUSE"
# Temp files without a writer's pid in their name (older ftui versions) are stale after this.
LEGACY_TEMP_SECONDS = 3600

_TEMP_TAIL = re.compile(r"(\d+)\.[0-9a-f]{8}")
_JOURNAL_PREFIX = ".ftui-commit."
_JOURNAL_NAME = re.compile(r"\.ftui-commit\.(\d+)\.[0-9a-f]{8}\.json")


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


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (a writer that may still be writing)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except OSError:
        return True
    return True


def _pause(phase: str) -> None:
    wanted, _, seconds = os.environ.get(COMMIT_PAUSE_ENV, "").partition(":")
    if wanted == phase and seconds:
        time.sleep(float(seconds))


def _directory_of(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def _new_temp(target: Path) -> tuple[int, Path]:
    """Create the writer's temp file beside `target` (0600, like mkstemp) and open it."""
    directory = _directory_of(target)
    while True:
        temp = directory / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), temp
        except FileExistsError:
            continue


def remove_stale_temp_files(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the temp files that killed writers of `target` left beside it; returns them.

    A temp file whose writer is still running is kept; one whose name carries no pid is removed
    once it is an hour old."""
    target = Path(target)
    directory = _directory_of(target)
    prefix = f".{target.name}."
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    legacy_cutoff = time.time() - LEGACY_TEMP_SECONDS
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        tail = name[len(prefix) : -len(".tmp")]
        match = _TEMP_TAIL.fullmatch(tail)
        with contextlib.suppress(OSError):
            if match is not None:
                stale = not pid_alive(int(match.group(1)))
            else:  # not a name with a pid (an older ftui's): gone after an hour, as before
                stale = entry.stat().st_mtime < legacy_cutoff
            if stale:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _chmod_like(temp: Path, target: Path) -> None:
    # Keep the target's permissions when replacing an existing file (the temp file is 0600).
    try:
        os.chmod(temp, os.stat(target).st_mode & 0o7777)
    except FileNotFoundError:
        os.chmod(temp, 0o666 & ~_UMASK)


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
    directory = _directory_of(target)
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
    remove_stale_temp_files(target)
    fd, tmp = _new_temp(target)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _chmod_like(tmp, target)
        _pause("before-commit")
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


# --------------------------------------------------------------------------- groups of files


@contextlib.contextmanager
def atomic_group(paths: Sequence[str | os.PathLike[str]]) -> Iterator[list[IO[bytes]]]:
    """Yield binary handles for `paths` (all in one directory); on success they all change.

    If the block raises, no target changes. If the process is killed during the renames, the
    next `settle` of the directory completes them (the journal says which)."""
    targets = [Path(p) for p in paths]
    directory = _directory_of(targets[0])
    if any(_directory_of(t).resolve() != directory.resolve() for t in targets):
        raise ValueError("atomic_group needs targets in one directory")
    settle_directory(directory)
    for target in targets:
        remove_stale_temp_files(target)
    temps: list[Path] = []
    handles: list[IO[bytes]] = []
    journal: Path | None = None
    try:
        for target in targets:
            fd, temp = _new_temp(target)
            temps.append(temp)
            handles.append(os.fdopen(fd, "wb"))
        yield handles
        for handle, temp, target in zip(handles, temps, targets, strict=True):
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            _chmod_like(temp, target)
        _pause("before-commit")
        journal = _write_journal(directory, temps, targets)
        for count, (temp, target) in enumerate(zip(temps, targets, strict=True)):
            os.replace(temp, target)
            if count == 0:
                _pause("mid-commit")
        fsync_dir(directory)
        journal.unlink()
        fsync_dir(directory)
    except BaseException:
        for handle in handles:
            handle.close()
        if journal is None or not journal.exists():
            for temp in temps:
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()
        else:  # the journal is durable: finish what it promises rather than leave a mix
            with contextlib.suppress(OSError):
                _roll_forward(journal)
        raise


def _write_journal(directory: Path, temps: list[Path], targets: list[Path]) -> Path:
    journal = directory / f"{_JOURNAL_PREFIX}{os.getpid()}.{secrets.token_hex(4)}.json"
    renames = [[t.name, target.name] for t, target in zip(temps, targets, strict=True)]
    data = orjson.dumps({"renames": renames})
    partial = journal.with_name(journal.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, journal)
    fsync_dir(directory)
    return journal


def _roll_forward(journal: Path) -> None:
    """Finish the renames a journal lists (those not done yet), then drop the journal."""
    directory = journal.parent
    try:
        renames = orjson.loads(journal.read_bytes())["renames"]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        renames = []  # written atomically, so this is not ours: leave the files alone
    for temp_name, target_name in renames:
        temp = directory / str(temp_name)
        if temp.exists():
            os.replace(temp, directory / str(target_name))
    fsync_dir(directory)
    journal.unlink()
    fsync_dir(directory)


def settle_directory(directory: str | os.PathLike[str]) -> int:
    """Complete the group writes that killed writers left half-renamed in `directory`.

    Returns how many were completed; a group whose writer still runs is left to it."""
    directory = Path(directory)
    done = 0
    try:
        names = [e.name for e in os.scandir(directory) if e.name.startswith(_JOURNAL_PREFIX)]
    except OSError:
        return 0
    for name in names:
        match = _JOURNAL_NAME.fullmatch(name.removesuffix(".partial"))
        if match is None or pid_alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            if name.endswith(".partial"):  # killed while writing the journal: nothing renamed
                os.unlink(directory / name)
            else:
                _roll_forward(directory / name)
                done += 1
    return done


def settle(path: str | os.PathLike[str]) -> None:
    """Before `path` is read or written: finish interrupted group writes beside it and remove
    temp files of killed writers of it."""
    target = Path(path)
    settle_directory(_directory_of(target))
    remove_stale_temp_files(target)
