"""The crash journal of one editing session.

Every edit is appended to the journal before the session shows it, so a killed session can be
rebuilt by replaying the journal over the original file; a journal left by an earlier session is
offered back (`pending`) or set aside, never mixed in; saving removes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftui.core.editing.journal import (
    FileFingerprint,
    JournalError,
    JournalInfo,
    JournalWriter,
    inspect_journal,
    journal_path_for,
    read_journal,
    set_aside,
)


class CrashJournal:
    """Where the edits of the session on one file are journaled."""

    def __init__(self, journal_dir: Path) -> None:
        self.journal_dir = journal_dir
        self.pending: JournalInfo | None = None
        self.replaying = False  # edits replayed from the journal are on disk already
        self._writer: JournalWriter | None = None
        self._path = journal_dir
        self._dataset = journal_dir
        self._fmt = ""
        self._source: FileFingerprint | None = None

    def bind(self, dataset: Path, fmt: str, source: FileFingerprint) -> None:
        """Journal the edits of `dataset` (as `source` describes it) from now on."""
        self._path = journal_path_for(dataset, self.journal_dir)
        self._dataset, self._fmt, self._source = dataset, fmt, source

    def look_for_pending(self) -> None:
        assert self._source is not None
        self.pending = inspect_journal(self._path, self._source)

    def log(self, op: str, edit: dict[str, Any] | None = None) -> None:
        """Append one step; JournalError (the change must not be made) if it cannot."""
        if self.replaying:
            return
        try:
            if self._writer is None:
                if self.pending is not None:
                    # Editing without restoring: keep the old journal aside, not mixed in.
                    self.discard_pending()
                assert self._source is not None
                self._writer = JournalWriter(
                    self._path, dataset=self._dataset, fmt=self._fmt, source=self._source
                )
            self._writer.append(op, edit)
        except OSError as exc:
            raise JournalError(
                f"cannot write the crash journal {self._path} ({exc.strerror or exc}), so "
                "the change was not made; free some space or check the permissions of "
                f"{self.journal_dir}, then try again"
            ) from exc

    def steps_to_replay(self, info: JournalInfo) -> list[dict[str, Any]]:
        if not info.compatible:
            reason = info.reason
            raise JournalError(f"cannot restore the unsaved edits of {self._dataset}: {reason}")
        _header, entries = read_journal(info.path)
        return entries

    def resume(self, info: JournalInfo) -> None:
        """The pending journal was replayed: its steps are on disk, keep appending to it."""
        self.pending = None
        self._writer = JournalWriter.reopen(info.path)

    def discard_pending(self) -> None:
        """Forget the pending journal (it is renamed aside, not deleted)."""
        if self.pending is not None and self.pending.path.exists():
            set_aside(self.pending.path)
        self.pending = None

    def clear(self) -> None:
        """The edits are saved: the journal goes."""
        if self._writer is not None:
            self._writer.remove()
            self._writer = None
        elif self.pending is not None:
            self.discard_pending()  # unresolved edits of an earlier session: kept aside
        self.pending = None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
