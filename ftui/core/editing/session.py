"""An editable dataset: the original file, an index into it, and the user's edits on top.

`DatasetSession` is the facade the Data section and the CLI use; the work is done by its parts:

- `Document` (document.py): the examples in view order over the byte-offset index, and the
  primitive operations that change them;
- `History` (history.py): an `Edit` as primitive operations, undo and redo;
- `CrashJournal` (session_journal.py): every edit is journaled before `apply` returns, so a killed
  session can be rebuilt by replaying the journal over the original file;
- `Checks` (checks.py): findings, token counts and rows, re-checked per example as edits arrive,
  and the adoption of full passes (full_pass.py) run in a worker over a snapshot;
- `DocumentWriter` (writer.py): the format-keeping atomic save.

`version` counts changes to what the session shows (a worker's result about rows or messages is
checked against it); a full validation pass is keyed by the content version, which only edits
and saves change.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftui.core.dataset.atomic import remove_stale_temp_files
from ftui.core.dataset.formats import DatasetError, DatasetFormat, detect_format, example_messages
from ftui.core.dataset.reader import ExampleIndex, build_index
from ftui.core.editing.checks import Adoption, Checks
from ftui.core.editing.document import Document, FileChangedError, SourceRewrittenError, clone
from ftui.core.editing.edits import Edit, EditError, edit_from_dict, edit_to_dict
from ftui.core.editing.full_pass import FullPassResult, FullPassSnapshot, run_full_pass
from ftui.core.editing.history import History
from ftui.core.editing.journal import FileFingerprint, JournalError, JournalInfo
from ftui.core.editing.row_summary import RowSummary
from ftui.core.editing.session_journal import CrashJournal
from ftui.core.editing.writer import (
    SAVE_PAUSE_ENV,
    DocumentWriter,
    SaveError,
    writing,
)
from ftui.core.findings import Finding

if TYPE_CHECKING:
    from ftui.core.validation.validate import ValidationOptions, ValidationReport

__all__ = [
    "SAVE_PAUSE_ENV",
    "Adoption",
    "DatasetSession",
    "FileChangedError",
    "SaveError",
    "SourceRewrittenError",
]


class DatasetSession:
    """The editable model behind the Data section. Not thread-safe, except `index_steps` and
    `run_full_pass` over a `full_pass_snapshot` (see ftui.tui.shared_session for the lock)."""

    def __init__(
        self,
        path: Path,
        fmt: DatasetFormat,
        *,
        journal_dir: Path,
        options: ValidationOptions | None = None,
    ) -> None:
        self.journal_dir = Path(journal_dir)
        self.options = options
        self._version = 0
        self._content_version = 0  # changes of the content only (what a full pass reads)
        self._version_lock = threading.Lock()
        self._validated_version = -1
        self._binding = 0
        self._document = Document(path, fmt, self._touched)
        self._history = History(self._document)
        self._checks = Checks(self._document, options)
        self._writer = DocumentWriter(self._document)
        self._journal = CrashJournal(self.journal_dir)
        self._bind(path)
        self._journal.look_for_pending()

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        fmt: DatasetFormat | str | None = None,
        journal_dir: str | os.PathLike[str],
        options: ValidationOptions | None = None,
    ) -> DatasetSession:
        """Open a dataset for editing. Reads only the head (to detect the format); call
        `index_steps()` (e.g. in a thread worker) to index the rest. Raises DatasetError."""
        resolved = Path(os.path.abspath(os.fspath(path)))
        if fmt is None and options is not None and getattr(options, "fmt", None):
            fmt = options.fmt
        detected = DatasetFormat(fmt) if fmt is not None else detect_format(resolved)
        return cls(resolved, detected, journal_dir=Path(journal_dir), options=options)

    def _bind(self, path: Path) -> None:
        """Point the session at `path` as its unedited original (after open or save)."""
        self._source: FileFingerprint = self._document.bind(path)
        self._binding += 1
        self._journal.bind(path, str(self.format), self._source)
        self._writer.forget_layout()

    # -- what it is -------------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self._document.path

    @property
    def format(self) -> DatasetFormat:
        return self._document.format

    @property
    def version(self) -> int:
        return self._version

    def _bump(self, *, content: bool = False) -> None:
        # Bumped from the UI thread (edits) and from the indexing worker: never lose one.
        with self._version_lock:
            self._version += 1
            if content:
                self._content_version += 1

    @property
    def indexing_done(self) -> bool:
        return self._document.indexing_done

    @property
    def validator_error(self) -> str | None:
        return self._checks.validator_error

    # -- indexing ---------------------------------------------------------------------------------

    def index_steps(self, *, warm_up: bool = True) -> Iterator[int]:
        """Index the file chunk by chunk, yielding how many examples are indexed so far.

        Safe to run in a thread worker while the UI reads the examples indexed so far. After
        the first chunk it also loads the tokenizer (unless `warm_up` is False: then call
        `warm_up()` yourself), so the first paint does not wait for it (rows show no token
        count until then; `version` bumps when they can)."""
        warmed = not warm_up
        while (count := self._document.index_chunk()) is not None:
            if count == -1:
                self._bump()
                return
            yield count
            if not warmed:
                warmed = True
                self.warm_up()

    def warm_up(self) -> None:
        """Load the validator (the tokenizer takes a while) so rows can show token counts."""
        checks = self._checks
        if checks.analyser is None and checks.get_analyser() is not None:
            checks.forget_rows()
            self._bump()

    def ensure_indexed(self) -> None:
        """Finish indexing now (structural edits, saving and full passes need the whole file)."""
        if self._document.ensure_indexed():
            self._bump()

    @property
    def indexed_count(self) -> int:
        return self._document.indexed_count

    def close(self) -> None:
        """Release the file and journal handles (the journal file itself stays until saved)."""
        self._journal.close()
        self._document.close()

    def __enter__(self) -> DatasetSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._document)

    def value(self, pos: int) -> Any:
        """The example's current JSON value (a copy: edit through `apply`). None if unparsable."""
        document = self._document
        return clone(document.value_by_id(document.id_at(pos)))

    def messages(self, pos: int, *, copy: bool = True) -> list[dict[str, Any]]:
        """The example's chat messages in OpenAI form (role, content, ...), for display and
        editing. `copy=False` skips the defensive copy (the caller must not change them)."""
        document = self._document
        value = document.value_by_id(document.id_at(pos))
        if value is None:
            return []
        found = example_messages(value, self.format)
        return clone(found) if copy else found

    def source_line(self, pos: int) -> int | None:
        """1-based line where the example starts in the original file; None if inserted."""
        return self._document.line_of(self._document.id_at(pos)) or None

    def is_edited(self, pos: int) -> bool:
        return self._document.id_at(pos) in self._document.overlay

    def raw_bytes(self, pos: int) -> bytes | None:
        """The record's bytes as they are in the file; None for edited or inserted examples."""
        return self._document.original_raw(pos)

    def raw_text(self, pos: int) -> str | None:
        """The record's original text (for an unparsable line), None for edited/inserted ones."""
        raw = self._document.original_raw(pos)
        return raw.decode("utf-8", "replace") if raw is not None else None

    def row(self, pos: int) -> RowSummary:
        """What the browser shows for one example; cached, reads only that record."""
        return self._checks.row(pos)

    def tokens(self, pos: int) -> int | None:
        """Token count of the example by the cookbook formula (None if it cannot be counted)."""
        document = self._document
        example_id = document.id_at(pos)
        return self._checks.tokens_of(example_id, document.value_by_id(example_id))

    def token_limit(self) -> int:
        """Tokens one training example may hold for the target model."""
        return self._checks.token_limit()

    def content_key(self, pos: int) -> int | None:
        """A key equal for examples with the same content, by the validator's definition of an
        exact duplicate (whitespace-normalised); None for an unparsable example."""
        return self._checks.content_key(pos)

    # -- editing ----------------------------------------------------------------------------------

    @property
    def can_undo(self) -> bool:
        return self._history.can_undo

    @property
    def can_redo(self) -> bool:
        return self._history.can_redo

    @property
    def undo_label(self) -> str | None:
        return self._history.undo_label

    @property
    def redo_label(self) -> str | None:
        return self._history.redo_label

    @property
    def dirty(self) -> bool:
        """Whether the content differs from the file on disk (by the undo history)."""
        return self._history.dirty

    def apply(self, edit: Edit) -> None:
        """Apply an edit (all of it or, on EditError, none of it) and journal it. If the journal
        cannot be written the edit is rolled back and JournalError says why: an edit that a
        crash could lose is never shown."""
        self._history.apply(edit)
        self._bump(content=True)
        try:
            self._journal.log("apply", edit_to_dict(edit))
        except JournalError:
            self._history.take_back()
            self._bump(content=True)
            raise
        self._history.forget_redo()

    def undo(self) -> Edit | None:
        """Undo the last edit; returns it (None when there is nothing to undo)."""
        if not self._history.can_undo:
            return None
        self._journal.log("undo")
        edit = self._history.undo()
        self._bump(content=True)
        return edit

    def redo(self) -> Edit | None:
        """Re-apply the last undone edit; returns it (None when there is nothing to redo)."""
        if not self._history.can_redo:
            return None
        self._journal.log("redo")
        edit = self._history.redo()
        self._bump(content=True)
        return edit

    def _touched(self, example_id: int) -> None:
        self._checks.touched(example_id)

    # -- journal ----------------------------------------------------------------------------------

    def pending_journal(self) -> JournalInfo | None:
        """Unsaved edits left by an earlier session on this file (None when there are none)."""
        return self._journal.pending

    def restore_journal(self) -> int:
        """Replay the pending journal over the file; returns how many edits are back."""
        info = self._journal.pending
        if info is None:
            return 0
        entries = self._journal.steps_to_replay(info)
        self.ensure_indexed()
        self._journal.replaying = True
        try:
            for entry in entries:
                op = entry["op"]
                if op == "apply":
                    self.apply(edit_from_dict(entry["edit"]))
                elif op == "undo":
                    self.undo()
                elif op == "redo":
                    self.redo()
        except (EditError, KeyError, TypeError) as exc:
            raise JournalError(f"the journal {info.path} does not replay cleanly: {exc}") from exc
        finally:
            self._journal.replaying = False
        self._journal.resume(info)
        return self._history.depth

    def discard_journal(self) -> None:
        """Forget the pending journal (it is renamed aside, not deleted)."""
        self._journal.discard_pending()

    # -- validation -------------------------------------------------------------------------------

    @property
    def report(self) -> ValidationReport | None:
        """The last full validation report (None before a full pass is adopted)."""
        return self._checks.report

    @property
    def report_is_current(self) -> bool:
        """Whether nothing changed since `report` was made (its totals describe the content)."""
        checks = self._checks
        return checks.report is not None and self._validated_version == self._content_version

    @property
    def findings(self) -> list[Finding]:
        """Every current finding: file-level ones first, then by position."""
        return self._checks.all_findings()

    def findings_for(self, pos: int) -> list[Finding]:
        """The findings of one example (re-checked first if it changed)."""
        return self._checks.findings_for(pos)

    @property
    def pending_checks(self) -> int:
        """Changed examples not re-checked yet (after a bulk edit of more than
        STALE_CHECK_LIMIT examples they are checked as they are shown, or by `findings`)."""
        return len(self._checks.stale)

    def revalidate(self, pos: int) -> list[Finding]:
        """Re-run the per-example rules and the duplicate check on one example, now."""
        self._checks.revalidate_id(self._document.id_at(pos))
        return self.findings_for(pos)

    def full_pass_snapshot(self) -> FullPassSnapshot:
        """The content as of this `version`, for `run_full_pass` in a worker thread. Indexes
        the rest of the file first. Take it under the session's lock; close it if unused."""
        self.ensure_indexed()
        return self._checks.snapshot(self._content_version, self._binding)

    def adopt_full_pass(self, result: FullPassResult) -> Adoption:
        """Take a full pass's result (under the session's lock, on the thread that edits).

        CURRENT: computed for this version, so the report describes the content. REBASED:
        edits arrived since the snapshot; the examples they touched are re-checked, and the
        report's totals are those of the snapshot (`report_is_current` is False). DISCARDED:
        computed for another file (saved or reopened since); nothing changes: run another."""
        outcome = self._checks.adopt(result, self._content_version, self._binding)
        if outcome is Adoption.DISCARDED:
            return outcome
        self._bump()  # what the rows show changed, not the content
        current = outcome is Adoption.CURRENT
        self._validated_version = self._content_version if current else -1
        return outcome

    def validate_all(self, progress: Callable[[int, int], None] | None = None) -> ValidationReport:
        """Validate the current content (edits included) in one pass and adopt the result;
        refreshes `findings`, token counts and the duplicate table. Raises what the validator
        raises when it cannot start (e.g. an unknown encoding or a local model without a
        tokenizer), and whatever `progress` raises (to cancel: nothing changes then).

        Edits made from `progress` while the pass runs are re-checked afterwards."""
        result = run_full_pass(self.full_pass_snapshot(), progress)
        self.adopt_full_pass(result)
        return result.report

    # -- saving -----------------------------------------------------------------------------------

    def changed_on_disk(self) -> str | None:
        """How the file on disk differs from the version this session edits (None: it doesn't)."""
        try:
            now = FileFingerprint.of(self.path)
        except FileNotFoundError:
            return "it was deleted or renamed"
        except OSError as exc:
            return f"it cannot be read any more ({exc.strerror or exc})"
        return self._source.describe_change(now)

    def save(self, path: str | os.PathLike[str] | None = None, *, force: bool = False) -> Path:
        """Write the current content atomically, in the file's own format, and continue editing
        the saved file. Raises FileChangedError if the file changed on disk (unless force)."""
        target = Path(os.path.abspath(os.fspath(path))) if path is not None else self.path
        self.ensure_indexed()
        if target == self.path and not force:
            change = self.changed_on_disk()
            if change is not None:
                raise FileChangedError(self.path, change)
        self._check_source_intact()
        with writing(target) as handle:
            self._writer.write(handle, range(len(self)), pause_for_tests=True)
        self._after_save(target)
        remove_stale_temp_files(target)
        return target

    def _check_source_intact(self) -> None:
        """Unedited examples are copied from the file as it was opened; if another program
        rewrote it in place, those bytes are gone and no consistent file can be written."""
        if not self._source.still_in(self._document.fd):
            raise SourceRewrittenError(self.path)

    def export(self, positions: Iterable[int], path: str | os.PathLike[str]) -> Path:
        """Write the examples at `positions` (in view order) to a new file, atomically, in this
        dataset's format; a .jsonl name gives JSON lines, a .json name a JSON array."""
        target = Path(os.path.abspath(os.fspath(path)))
        if target == self.path:
            raise ValueError("export to the dataset itself would overwrite it; choose another file")
        chosen = sorted({int(p) for p in positions})
        for pos in chosen:
            self._document.id_at(pos)
        self.ensure_indexed()
        self._check_source_intact()
        kind = "json_array" if target.suffix.lower() == ".json" else "jsonl"
        with writing(target) as handle:
            self._writer.write(handle, chosen, kind=kind)
        return target

    def _after_save(self, target: Path) -> None:
        """Re-bind to the saved file: it is the new original; edits and journal are done.
        What validation knew carries over (example ids become the new file's positions)."""
        self._checks.renumber(self._document.ids())
        self._journal.clear()
        self._bind(target)
        try:
            index = build_index(target)
        except DatasetError:  # saved with no example left: an empty file
            index = ExampleIndex(target, "jsonl")
        self._document.adopt_index(index)
        self._history.clear()
        self._bump(content=True)
