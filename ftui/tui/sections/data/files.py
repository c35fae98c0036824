"""The Data section's file commands: open (index, restore), save, save as, export, and noticing a
file changed on disk by another program."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.worker import get_current_worker

from ftui.tui.keymap import command
from ftui.tui.sections.data.base import (
    FIRST_PAINT_WAIT,
    PROGRESS_INTERVAL,
    DataSectionBase,
    WorkerReport,
    WorkFailed,
)
from ftui.tui.shared_session import SharedSession
from ftui.tui.workspace_state import remember_dataset

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


class FileCommands(DataSectionBase):
    BINDINGS: ClassVar = [
        command(
            "ctrl+s",
            "save",
            "Save",
            "Write the edits to the file (atomically, in its own format).",
            show=True,
        ),
        command("x", "export", "Export marked", "Write the marked examples to a new file."),
        command("o", "open", "Open", "Open another dataset file."),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._known_disk_change: str | None = None
        self._painted_version = -1

    def _start_disk_checks(self) -> None:
        self.set_interval(DISK_CHECK_INTERVAL, self._check_disk)

    # -- opening ----------------------------------------------------------------------------------

    def request_open(self, path: Path) -> None:
        """Open `path`, asking first when the open dataset has unsaved edits."""
        from ftui.tui.screens.confirm import CANCEL, Choice, ConfirmScreen

        path = Path(path).expanduser()
        if self.session is None or not self.session.dirty:
            self._start_open(path)
            return

        def decided(choice: str | None) -> None:
            if choice == "save":
                self.save_then(lambda: self._start_open(path))
            elif choice == "discard":
                self.discard_unsaved()
                self._start_open(path)

        self.app.push_screen(
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

    def _forget_dataset(self) -> None:
        super()._forget_dataset()
        self._known_disk_change = None

    def _start_open(self, path: Path) -> None:
        self._forget_dataset()
        self.path = path
        self.example_list.set_source(None)
        self.conversation.show_example(None)
        self.pane.show_findings([])
        self.pane.show_report(None)
        self.indexing = True
        self._post_state()
        self._load(path)

    @work(thread=True, exclusive=True, group="dataset", exit_on_error=False)
    def _load(self, path: Path) -> None:
        from ftui.core.dataset.reader import DatasetError
        from ftui.core.editing.session import DatasetSession

        worker = get_current_worker()
        try:
            session = DatasetSession.open(
                path, fmt=self._fmt, journal_dir=self.config.home / "journals"
            )
        except (DatasetError, OSError, ValueError) as exc:
            self.post_message(OpenFailed(path, str(exc)))
            return
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
                self.post_message(opened_report)
                opened_report.painted.wait(FIRST_PAINT_WAIT)
                opened, last = True, time.monotonic()
            elif time.monotonic() - last >= PROGRESS_INTERVAL:
                self.post_message(IndexProgress(shared, count, done=False))
                last = time.monotonic()
        if not opened:
            self.post_message(SessionOpened(shared, len(session)))
        self.post_message(IndexProgress(shared, len(session), done=True))
        # Not on the UI thread at the first code block: the highlighter's imports.
        from ftui.tui.widgets.message_render import warm_up

        warm_up()

    @on(OpenFailed)
    def _open_failed(self, event: OpenFailed) -> None:
        self.indexing = False
        self.path = None
        self._show_empty(True)
        self._post_state()
        self.notify(f"Cannot open {event.path}: {event.error}", severity="error", timeout=15)

    @on(SessionOpened)
    def _session_opened(self, event: SessionOpened) -> None:
        self.session = event.session
        self.path = event.session.path
        self._show_empty(False)
        self.example_list.set_source(event.session)
        self._first_paint = event.painted
        self.call_after_refresh(event.painted.set)
        if self.screen.focused is None:
            self.focus_list()
        self.pane.show_progress("waiting for the whole file", 0, 0)
        self._post_state()

    @on(IndexProgress)
    def _index_progress(self, event: IndexProgress) -> None:
        if event.session is not self.session:
            return
        self.indexing = not event.done
        # Rows already painted change only when the session does (e.g. token counts arrive).
        version = event.session.version
        self.example_list.refresh_rows(repaint=version != self._painted_version or event.done)
        self._painted_version = version
        self._post_state(bindings=event.done)
        if event.done:
            self._indexing_done()

    def _indexing_done(self) -> None:
        from ftui.tui.screens.restore import restore_screen

        session = self.session
        if session is None:
            return
        pending = session.pending_journal()
        if pending is None:
            self._start_validation()
            return

        def decided(choice: str | None) -> None:
            if self.session is not session:
                return
            if choice == "restore":
                self._restore_journal()
            elif choice == "discard":
                session.discard_journal()
                self.notify("The unsaved edits were set aside; the file is as it is on disk.")
            self._start_validation()

        self.app.push_screen(restore_screen(session.path, pending), decided)

    def _restore_journal(self) -> None:
        from ftui.core.editing.journal import JournalError

        assert self.session is not None
        try:
            count = self.session.restore_journal()
        except JournalError as exc:
            self.notify(str(exc), severity="error", timeout=15)
            return
        self.notify(f"Restored {count} unsaved edit{'s' if count != 1 else ''}: ctrl+s saves them.")
        self.example_list.set_marks(set())
        self._refresh_after_change()

    def action_open(self) -> None:
        from ftui.tui.screens.prompt import PromptScreen

        def chosen(answer: str | None) -> None:
            if answer:
                self.request_open(Path(answer).expanduser())

        self.app.push_screen(
            PromptScreen(
                "Open a dataset",
                "Path of an OpenAI chat JSONL, Alpaca or ShareGPT JSON/JSONL file:",
                value=str(self.path.parent) + "/" if self.path is not None else "",
                check=existing_file_check,
            ),
            chosen,
        )

    # -- saving -----------------------------------------------------------------------------------

    def action_save(self) -> None:
        self.save_then(None)

    def save_then(self, then: Any) -> None:
        """Save (asking first if the file changed on disk), then call `then` on success."""
        from ftui.tui.screens.confirm import CANCEL, Choice, ConfirmScreen

        session = self.session
        if session is None:
            return
        if not session.dirty:
            self.notify("No unsaved edits.", timeout=3)
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

        self.app.push_screen(
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

        self.app.push_screen(
            PromptScreen(
                "Save as", "Path of the new file:", value=str(default), check=new_file_check
            ),
            chosen,
        )

    def _save(
        self, session: SharedSession, *, force: bool, then: Any, path: Path | None = None
    ) -> None:
        self._saving = True
        self.notify("Saving…", timeout=2)
        self._save_worker(session, force, then, path)

    @work(thread=True, exclusive=True, group="save", exit_on_error=False)
    def _save_worker(
        self, session: SharedSession, force: bool, then: Any, path: Path | None
    ) -> None:
        from ftui.core.editing.session import FileChangedError

        try:
            saved = Path(session.save(path, force=force))
        except (FileChangedError, OSError, ValueError) as exc:
            self.post_message(WorkFailed("save", str(exc)))
            return
        remember_dataset(self.config, saved)
        self.post_message(Saved(saved, then))

    @on(Saved)
    def _saved(self, event: Saved) -> None:
        self._saving = False
        self._known_disk_change = None
        self.path = event.path
        self.notify(f"Saved {event.path}", timeout=4)
        # Positions are those of the saved file now: marks and matches start afresh.
        self.example_list.set_marks(set())
        self._refresh_after_change()
        if event.then is not None:
            event.then()

    @on(WorkFailed)
    def _work_failed(self, event: WorkFailed) -> None:
        if event.what == "save":
            self._saving = False
        self.notify(f"Could not {event.what}: {event.error}", severity="error", timeout=15)

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

    def action_export(self) -> None:
        from ftui.tui.screens.prompt import PromptScreen

        session = self.session
        marks = sorted(self.example_list.marks)
        if session is None or not marks:
            self.notify("Mark examples with space first.", severity="warning")
            return
        suffix = ".json" if session.path.suffix.lower() == ".json" else ".jsonl"
        default = session.path.with_name(f"{session.path.stem}.selected{suffix}")

        def chosen(answer: str | None) -> None:
            if answer:
                self._export(session, marks, Path(answer).expanduser())

        self.app.push_screen(
            PromptScreen(
                f"Export {len(marks):,} marked examples",
                "Path of the new file (.jsonl for JSON lines, .json for a JSON array):",
                value=str(default),
                check=new_file_check,
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def _export(self, session: SharedSession, positions: list[int], path: Path) -> None:
        try:
            written = session.export(positions, path)
        except (OSError, ValueError, IndexError) as exc:
            self.post_message(WorkFailed("export", str(exc)))
            return
        self.post_message(ExportDone(Path(written), len(positions)))

    @on(ExportDone)
    def _exported(self, event: ExportDone) -> None:
        self.notify(f"Exported {event.count:,} examples to {event.path}", timeout=6)

    # -- the file on disk -------------------------------------------------------------------------

    def _check_disk(self) -> None:
        if self.session is not None and not self._saving:
            self._disk_worker(self.session)

    @work(thread=True, exclusive=True, group="disk", exit_on_error=False)
    def _disk_worker(self, session: SharedSession) -> None:
        self.post_message(DiskChanged(session, session.changed_on_disk()))

    @on(DiskChanged)
    def _disk_changed(self, event: DiskChanged) -> None:
        from ftui.tui.screens.confirm import Choice, ConfirmScreen

        session = self.session
        if session is not event.session or event.change is None or self._saving:
            return
        if event.change == self._known_disk_change:
            return
        self._known_disk_change = event.change
        if session.dirty:
            self.notify(
                f"{session.path.name} was changed on disk by another program ({event.change}). "
                "Your edits are kept; saving will ask before overwriting anything.",
                severity="warning",
                timeout=20,
            )
            return

        def decided(choice: str | None) -> None:
            if choice == "reload" and self.session is session:
                self._start_open(session.path)

        self.app.push_screen(
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
