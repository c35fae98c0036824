"""A `DatasetSession` shared by the UI thread and worker threads.

The session is not thread-safe (its caches are plain dicts), yet a search or a bulk fix over a
million examples must run in a thread while the list keeps painting. So every call goes through
one lock: the UI thread paints a row between two of the worker's calls, and neither sees the
other's half-done work. Each call the UI may make is spelled out below, typed, so mypy checks
every one. A worker gets its own view (`for_worker`) that also stops it, by raising `Cancelled`
on its next read, once the worker is cancelled.

Two things run beside the lock on purpose: indexing (`DatasetSession.index_steps` is safe in its
worker) and a full validation pass, which reads a snapshot taken under the lock and hands back a
result that the UI thread adopts under the lock (`adopt_full_pass`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftui.tui.widgets.example_list import RowNotReady

if TYPE_CHECKING:
    from ftui.core.dataset.formats import DatasetFormat
    from ftui.core.editing.checks import Adoption
    from ftui.core.editing.edits import Edit
    from ftui.core.editing.full_pass import FullPassResult, FullPassSnapshot
    from ftui.core.editing.journal import JournalInfo
    from ftui.core.editing.row_summary import RowSummary
    from ftui.core.editing.session import DatasetSession
    from ftui.core.findings import Finding
    from ftui.core.validation.validate import ValidationOptions, ValidationReport


class Cancelled(Exception):
    """The worker reading the session was cancelled."""


# How long painting a row may wait for a worker's call to finish before it shows a placeholder.
ROW_WAIT = 0.05


class SharedSession:
    """The session behind one lock: every method and property holds it for the call."""

    def __init__(self, session: DatasetSession) -> None:
        self.unlocked = session
        self.lock = threading.RLock()

    # -- what it is (fixed while the session is bound to one file) --------------------------------

    @property
    def path(self) -> Path:
        with self.lock:
            return self.unlocked.path

    @property
    def format(self) -> DatasetFormat:
        return self.unlocked.format

    @property
    def options(self) -> ValidationOptions | None:
        return self.unlocked.options

    @property
    def journal_dir(self) -> Path:
        return self.unlocked.journal_dir

    @property
    def version(self) -> int:
        with self.lock:
            return self.unlocked.version

    # -- reading ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        with self.lock:
            return len(self.unlocked)

    def row(self, pos: int) -> RowSummary:
        """A row for the list; RowNotReady while a worker holds the session (e.g. saving a
        large file), so the list paints a placeholder instead of freezing."""
        if not self.lock.acquire(timeout=ROW_WAIT):
            raise RowNotReady
        try:
            return self.unlocked.row(pos)
        finally:
            self.lock.release()

    def value(self, pos: int) -> Any:
        with self.lock:
            return self.unlocked.value(pos)

    def messages(self, pos: int, *, copy: bool = True) -> list[dict[str, Any]]:
        with self.lock:
            return self.unlocked.messages(pos, copy=copy)

    def source_line(self, pos: int) -> int | None:
        with self.lock:
            return self.unlocked.source_line(pos)

    def raw_text(self, pos: int) -> str | None:
        with self.lock:
            return self.unlocked.raw_text(pos)

    def raw_bytes(self, pos: int) -> bytes | None:
        with self.lock:
            return self.unlocked.raw_bytes(pos)

    def tokens(self, pos: int) -> int | None:
        with self.lock:
            return self.unlocked.tokens(pos)

    def token_limit(self) -> int:
        with self.lock:
            return self.unlocked.token_limit()

    def content_key(self, pos: int) -> int | None:
        with self.lock:
            return self.unlocked.content_key(pos)

    def ensure_indexed(self) -> None:
        with self.lock:
            self.unlocked.ensure_indexed()

    # -- editing ----------------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        with self.lock:
            return self.unlocked.dirty

    @property
    def can_undo(self) -> bool:
        with self.lock:
            return self.unlocked.can_undo

    @property
    def can_redo(self) -> bool:
        with self.lock:
            return self.unlocked.can_redo

    @property
    def undo_label(self) -> str | None:
        with self.lock:
            return self.unlocked.undo_label

    def apply(self, edit: Edit) -> None:
        with self.lock:
            self.unlocked.apply(edit)

    def undo(self) -> Edit | None:
        with self.lock:
            return self.unlocked.undo()

    def redo(self) -> Edit | None:
        with self.lock:
            return self.unlocked.redo()

    # -- validation -------------------------------------------------------------------------------

    @property
    def report(self) -> ValidationReport | None:
        with self.lock:
            return self.unlocked.report

    @property
    def report_is_current(self) -> bool:
        with self.lock:
            return self.unlocked.report_is_current

    @property
    def findings(self) -> list[Finding]:
        with self.lock:
            return self.unlocked.findings

    def findings_for(self, pos: int) -> list[Finding]:
        with self.lock:
            return self.unlocked.findings_for(pos)

    def full_pass_snapshot(self) -> FullPassSnapshot:
        """The content as of now, for a full pass in the calling worker. The rest of the file
        is indexed first without the lock (indexing is safe beside the UI), so a pass asked for
        while a big file is still being indexed does not freeze the list meanwhile."""
        self.unlocked.ensure_indexed()
        with self.lock:
            return self.unlocked.full_pass_snapshot()

    def adopt_full_pass(self, result: FullPassResult) -> Adoption:
        """On the UI thread: take a pass's result for the version it was computed for."""
        with self.lock:
            return self.unlocked.adopt_full_pass(result)

    # -- the file and its journal -----------------------------------------------------------------

    def pending_journal(self) -> JournalInfo | None:
        with self.lock:
            return self.unlocked.pending_journal()

    def restore_journal(self) -> int:
        with self.lock:
            return self.unlocked.restore_journal()

    def discard_journal(self) -> None:
        with self.lock:
            self.unlocked.discard_journal()

    def changed_on_disk(self) -> str | None:
        with self.lock:
            return self.unlocked.changed_on_disk()

    def save(self, path: Path | None = None, *, force: bool = False) -> Path:
        with self.lock:
            return self.unlocked.save(path, force=force)

    def export(self, positions: Iterable[int], path: Path) -> Path:
        with self.lock:
            return self.unlocked.export(positions, path)

    def close(self) -> None:
        with self.lock:
            self.unlocked.close()

    def for_worker(self, is_cancelled: Callable[[], bool]) -> WorkerView:
        return WorkerView(self, is_cancelled)


class WorkerView:
    """The shared session as one worker reads it (an `ExampleReader` for searches and fixes):
    locked, and cancellable at every call."""

    def __init__(self, shared: SharedSession, is_cancelled: Callable[[], bool]) -> None:
        self._shared = shared
        self._is_cancelled = is_cancelled

    def _check(self) -> SharedSession:
        if self._is_cancelled():
            raise Cancelled
        return self._shared

    def __len__(self) -> int:
        return len(self._check())

    def ensure_indexed(self) -> None:
        self._check().ensure_indexed()

    def messages(self, pos: int, *, copy: bool = True) -> list[dict[str, Any]]:
        return self._check().messages(pos, copy=copy)

    def raw_bytes(self, pos: int) -> bytes | None:
        return self._check().raw_bytes(pos)

    def tokens(self, pos: int) -> int | None:
        return self._check().tokens(pos)

    def token_limit(self) -> int:
        return self._check().token_limit()

    def content_key(self, pos: int) -> int | None:
        return self._check().content_key(pos)

    def findings_for(self, pos: int) -> list[Finding]:
        return self._check().findings_for(pos)
