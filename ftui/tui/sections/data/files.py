"""The Data section's files: open (index, restore), save, save as, export, and noticing a file
changed on disk by another program. Each runs in a thread worker that reports what it did."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.worker import get_current_worker

from ftui.tui.sections.data.part import (
    FIRST_PAINT_WAIT,
    PROGRESS_INTERVAL,
    DataPart,
    ExampleEdited,
    WorkerReport,
    WorkFailed,
)
from ftui.tui.shared_session import SharedSession

if TYPE_CHECKING:
    from ftui.config import Config

DISK_CHECK_INTERVAL = 2.0


@dataclass
class SessionOpened(WorkerReport):
    session: SharedSession
    examples: int
    # Set by the UI once the first rows are painted; the opening worker waits for it.
    painted: threading.Event = field(default_factory=threading.Event)


@dataclass
class OpenFailed(WorkerReport):
    path: Path
    error: str


@dataclass
class IndexProgress(WorkerReport):
    session: SharedSession
    examples: int
    done: bool


@dataclass
class Saved(WorkerReport):
    path: Path
    then: Any = None


@dataclass
class ExportDone(WorkerReport):
    path: Path
    count: int


@dataclass
class DiskChanged(WorkerReport):
    session: SharedSession
    change: str | None


@dataclass
class DatasetReady(WorkerReport):
    """Indexed, and any edits left by a crash restored or set aside: time to validate."""

    session: SharedSession


def existing_file_check(answer: str) -> str | None:
    path = Path(answer).expanduser()
    if not answer:
        return "Type a path."
    if path.is_dir():
        return f"{path} is a folder: type the path of a file in it."
    if not path.exists():
        return f"{path} does not exist."
    return None


def new_file_check(answer: str) -> str | None:
    path = Path(answer).expanduser()
    if not answer:
        return "Type a path."
    if path.is_dir():
        return f"{path} is a folder: type a file name."
    if not path.parent.is_dir():
        return f"The folder {path.parent} does not exist."
    if path.exists():
        return f"{path} exists already: choose a new name."
    return None


class DatasetFiles(DataPart):
    """Opens, indexes, saves and exports the dataset, and watches the file on disk."""

    saving = False
    _known_disk_change: str | None = None
    _painted_version = -1

    def __init__(self, section: Any, config: Config, fmt: str | None) -> None:
        super().__init__(section)
        self.config = config
        self.fmt = fmt
        # Set once the open dataset's first rows are painted (see FIRST_PAINT_WAIT).
        self.first_paint = threading.Event()
        self.first_paint.set()

    def start_disk_checks(self) -> None:
        self.section.set_interval(DISK_CHECK_INTERVAL, self.check_disk)

    def forget(self) -> None:
        self._known_disk_change = None

    # -- opening ----------------------------------------------------------------------------------

    def request_open(self, path: Path) -> None:
        """Open `path`, asking first when the open dataset has unsaved edits."""
        path = Path(path).expanduser()
        if self.session is None or not self.session.dirty:
            self.section.start_open(path)
            return
        from ftui.tui.screens.confirm import CANCEL, Choice, ConfirmScreen

        def decided(choice: str | None) -> None:
            if choice == "save":
                self.save_then(lambda: self.section.start_open(path))
            elif choice == "discard":
                self.discard_unsaved()
                self.section.start_open(path)

        self.section.app.push_screen(
            ConfirmScreen(
                "Unsaved edits",
                f"{self.unsaved_summary()}\n\nSave them before opening {path.name}?",
                [
                    Choice("s", "save", "Save, then open", "primary"),
                    Choice("d", "discard", "Open without saving", "error"),
                    CANCEL,
                ],
            ),
            decided,
        )

    def unsaved_summary(self) -> str:
        if self.session is None:
            return ""
        name = self.session.path.name
        label = self.session.undo_label
        return f"{name} has unsaved edits" + (f" (the last: {label})." if label else ".")

    def load(self, path: Path) -> None:
        """Show the file's first rows now, then open its session in a thread worker.

        The first rows (`FirstRows`: a small, bounded first chunk) are read on this thread, so
        they are in the next frame; the session's imports cost more than that whole frame and
        wait, in the worker, until it is painted."""
        from ftui.core.editing.first_rows import FirstRows

        first_rows = FirstRows.read(path, self.fmt)
        shown = threading.Event()
        if first_rows is None:
            shown.set()
        else:
            self.section.show_first_rows(first_rows)
            self.section.call_after_refresh(shown.set)
        self.run_thread(partial(self._load, path, shown), "dataset")

    def _load(self, path: Path, first_rows_shown: threading.Event) -> None:
        worker = get_current_worker()
        first_rows_shown.wait(FIRST_PAINT_WAIT)
        if worker.is_cancelled:
            return
        from ftui.core.dataset.reader import DatasetError
        from ftui.core.editing.session import DatasetSession

        try:
            session = DatasetSession.open(
                path, fmt=self.fmt, journal_dir=self.config.home / "journals"
            )
        except (DatasetError, OSError, ValueError) as exc:
            self.post(OpenFailed(path, str(exc)))
            return
        from ftui.tui.workspace_state import remember_dataset

        remember_dataset(self.config, session.path)
        shared = SharedSession(session)
        opened = False
        last = 0.0
        for count in session.index_steps():
            if worker.is_cancelled:
                session.close()
                return
            if not opened:
                # The first rows go on screen before anything else: after this chunk the session
                # loads its tokenizer, in this thread, and indexing goes on, both holding the GIL
                # the first paint needs. Rows show without token counts until an IndexProgress.
                opened_report = SessionOpened(shared, count)
                self.post(opened_report)
                opened_report.painted.wait(FIRST_PAINT_WAIT)
                opened, last = True, time.monotonic()
            elif time.monotonic() - last >= PROGRESS_INTERVAL:
                self.post(IndexProgress(shared, count, done=False))
                last = time.monotonic()
        if not opened:
            self.post(SessionOpened(shared, len(session)))
        self.post(IndexProgress(shared, len(session), done=True))
        # Not on the UI thread at the first code block: the highlighter's imports.
        from ftui.tui.widgets.message_render import warm_up

        warm_up()

    def index_progress(self, event: IndexProgress) -> bool:
        """Whether the rows already painted must be painted again (the session changed)."""
        version = event.session.version
        repaint = version != self._painted_version or event.done
        self._painted_version = version
        return repaint

    def indexing_done(self) -> None:
        """Offer the edits a crash left, then report the dataset ready."""
        from ftui.tui.screens.restore import restore_screen

        session = self.session
        if session is None:
            return
        pending = session.pending_journal()
        if pending is None:
            self.post(DatasetReady(session))
            return

        def decided(choice: str | None) -> None:
            if self.session is not session:
                return
            if choice == "restore":
                self._restore_journal(session)
            elif choice == "discard":
                session.discard_journal()
                self.section.notify(
                    "The unsaved edits were set aside; the file is as it is on disk."
                )
            self.post(DatasetReady(session))

        self.section.app.push_screen(restore_screen(session.path, pending), decided)

    def _restore_journal(self, session: SharedSession) -> None:
        from ftui.core.editing.journal import JournalError

        try:
            count = session.restore_journal()
        except JournalError as exc:
            self.section.notify(str(exc), severity="error", timeout=15)
            return
        self.section.notify(
            f"Restored {count} unsaved edit{'s' if count != 1 else ''}: ctrl+s saves them."
        )
        self.section.example_list.set_marks(set())
        self.post(ExampleEdited())

    def ask_open(self) -> None:
        from ftui.tui.screens.prompt import PromptScreen

        def chosen(answer: str | None) -> None:
            if answer:
                self.request_open(Path(answer).expanduser())

        path = self.section.path
        self.section.app.push_screen(
            PromptScreen(
                "Open a dataset",
                "Path of an OpenAI chat JSONL, Alpaca or ShareGPT JSON/JSONL file:",
                value=str(path.parent) + "/" if path is not None else "",
                check=existing_file_check,
            ),
            chosen,
        )

    # -- saving -----------------------------------------------------------------------------------

    def save_then(self, then: Any) -> None:
        """Save (asking first if the file changed on disk), then call `then` on success."""
        from ftui.tui.screens.confirm import CANCEL, Choice, ConfirmScreen

        session = self.session
        if session is None:
            return
        if not session.dirty:
            self.section.notify("No unsaved edits.", timeout=3)
            if then is not None:
                then()
            return
        change = session.changed_on_disk()
        if change is None:
            self._save(session, force=False, then=then)
            return

        def decided(choice: str | None) -> None:
            if choice == "overwrite":
                self._save(session, force=True, then=then)
            elif choice == "save_as":
                self._save_as(session, then)

        self.section.app.push_screen(
            ConfirmScreen(
                "The file changed on disk",
                f"{session.path} was changed by another program since ftui opened it: "
                f"{change}.\n\nOverwriting loses those changes. Save as writes your version "
                "to a new file and goes on editing that one.",
                [
                    Choice("a", "save_as", "Save as…", "primary"),
                    Choice("o", "overwrite", "Overwrite", "error"),
                    CANCEL,
                ],
            ),
            decided,
        )

    def _save_as(self, session: SharedSession, then: Any) -> None:
        from ftui.tui.screens.prompt import PromptScreen

        default = session.path.with_name(f"{session.path.stem}.edited{session.path.suffix}")

        def chosen(answer: str | None) -> None:
            if answer:
                self._save(session, force=False, then=then, path=Path(answer).expanduser())

        self.section.app.push_screen(
            PromptScreen(
                "Save as", "Path of the new file:", value=str(default), check=new_file_check
            ),
            chosen,
        )

    def _save(
        self, session: SharedSession, *, force: bool, then: Any, path: Path | None = None
    ) -> None:
        self.saving = True
        self.section.notify("Saving…", timeout=2)
        self.run_thread(partial(self._save_worker, session, force, then, path), "save")

    def _save_worker(
        self, session: SharedSession, force: bool, then: Any, path: Path | None
    ) -> None:
        from ftui.core.editing.session import FileChangedError

        try:
            saved = Path(session.save(path, force=force))
        except (FileChangedError, OSError, ValueError) as exc:
            self.post(WorkFailed("save", str(exc)))
            return
        from ftui.tui.workspace_state import remember_dataset

        remember_dataset(self.config, saved)
        self.post(Saved(saved, then))

    def saved(self, event: Saved) -> None:
        self.saving = False
        self._known_disk_change = None
        self.section.notify(f"Saved {event.path}", timeout=4)

    def discard_unsaved(self) -> None:
        """Drop the unsaved edits (their journal is set aside, not deleted) and close the file."""
        from ftui.core.editing.journal import journal_path_for, set_aside

        session = self.session
        if session is None:
            return
        journal = journal_path_for(session.path, session.journal_dir)
        session.close()
        if journal.exists():
            set_aside(journal)

    # -- exporting --------------------------------------------------------------------------------

    def ask_export(self, marks: list[int]) -> None:
        from ftui.tui.screens.prompt import PromptScreen

        session = self.session
        if session is None or not marks:
            self.section.notify("Mark examples with space first.", severity="warning")
            return
        suffix = ".json" if session.path.suffix.lower() == ".json" else ".jsonl"
        default = session.path.with_name(f"{session.path.stem}.selected{suffix}")

        def chosen(answer: str | None) -> None:
            if answer:
                work = partial(self._export, session, marks, Path(answer).expanduser())
                self.run_thread(work, "export")

        self.section.app.push_screen(
            PromptScreen(
                f"Export {len(marks):,} marked examples",
                "Path of the new file (.jsonl for JSON lines, .json for a JSON array):",
                value=str(default),
                check=new_file_check,
            ),
            chosen,
        )

    def _export(self, session: SharedSession, positions: list[int], path: Path) -> None:
        try:
            written = session.export(positions, path)
        except (OSError, ValueError, IndexError) as exc:
            self.post(WorkFailed("export", str(exc)))
            return
        self.post(ExportDone(Path(written), len(positions)))

    # -- the file on disk -------------------------------------------------------------------------

    def check_disk(self) -> None:
        if self.session is not None and not self.saving:
            session = self.session
            self.run_thread(
                lambda: self.post(DiskChanged(session, session.changed_on_disk())), "disk"
            )

    def disk_changed(self, event: DiskChanged) -> None:
        from ftui.tui.screens.confirm import Choice, ConfirmScreen

        session = self.session
        if session is not event.session or event.change is None or self.saving:
            return
        if event.change == self._known_disk_change:
            return
        self._known_disk_change = event.change
        if session.dirty:
            self.section.notify(
                f"{session.path.name} was changed on disk by another program ({event.change}). "
                "Your edits are kept; saving will ask before overwriting anything.",
                severity="warning",
                timeout=20,
            )
            return

        def decided(choice: str | None) -> None:
            if choice == "reload" and self.session is session:
                self.section.start_open(session.path)

        self.section.app.push_screen(
            ConfirmScreen(
                "The file changed on disk",
                f"{session.path} was changed by another program ({event.change}).",
                [
                    Choice("r", "reload", "Reload it", "primary"),
                    Choice("escape", "keep", "Keep this view"),
                ],
            ),
            decided,
        )
