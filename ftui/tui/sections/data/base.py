"""What every part of the Data section shares: its state, its children, and the one path every
change takes (`_apply` -> `_refresh_after_change`).

The Data section is put together from a few command sets (files, editing, search; see
`data.py`), each a subclass of `DataSectionBase` declaring its own keys. They share the session
and the children through this base and talk to workers through the messages below: thread workers
only ever post these, never touch a widget.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.containers import Container
from textual.message import Message
from textual.worker import Worker, WorkerState, get_current_worker

from ftui.config import Config
from ftui.core.findings import Finding, Severity
from ftui.tui.messages import DatasetStateChanged
from ftui.tui.shared_session import Cancelled, SharedSession
from ftui.tui.widgets.conversation_view import ConversationView, ExampleShown
from ftui.tui.widgets.example_list import ExampleList
from ftui.tui.widgets.validation_pane import ValidationPane

if TYPE_CHECKING:
    from ftui.core.editing.edits import Edit

# Thread workers post at most this often (seconds): a fast stream must not flood the queue.
PROGRESS_INTERVAL = 0.1
# Work that only fills in token counts (loading the tokenizer, counting) waits this long at most
# for a newly opened dataset's first rows to be painted: it holds the GIL the paint needs.
FIRST_PAINT_WAIT = 2.0


class WorkerReport(Message):
    """What a Data section worker posts to the section itself: handled there, never bubbled."""

    bubble: ClassVar[bool] = False


@dataclass
class ValidationProgress(WorkerReport):
    done: int
    total: int


@dataclass
class ValidationFinished(WorkerReport):
    generation: int
    report: Any


@dataclass
class MessageTokensCounted(WorkerReport):
    position: int
    version: int
    counts: list[int | None]


@dataclass
class WorkFailed(WorkerReport):
    """A worker could not do `what` (e.g. "save"); `error` says why, for the user."""

    what: str
    error: str


def is_structural(edit: Edit) -> bool:
    """Whether an edit moves examples (rather than changing one in place)."""
    from ftui.core.editing.edits import STRUCTURAL_EDITS, Compound

    if isinstance(edit, Compound):
        return any(is_structural(part) for part in edit.edits)
    return isinstance(edit, STRUCTURAL_EDITS)


class DataSectionBase(Container):
    """State and plumbing shared by the Data section's command sets."""

    def __init__(
        self,
        config: Config,
        path: Path | None = None,
        *,
        fmt: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.config = config
        self._initial_path = path
        self._fmt = fmt
        self.session: SharedSession | None = None
        self.path: Path | None = None
        self.indexing = False
        self.validating = False
        self._validation_generation = 0
        self._saving = False
        self._problem_positions: list[int] = []
        self._error_positions: list[int] = []
        # Set once the open dataset's first rows are painted (see FIRST_PAINT_WAIT).
        self._first_paint = threading.Event()
        self._first_paint.set()

    # -- children ---------------------------------------------------------------------------------

    @property
    def example_list(self) -> ExampleList:
        return self.query_one(ExampleList)

    @property
    def conversation(self) -> ConversationView:
        return self.query_one(ConversationView)

    @property
    def pane(self) -> ValidationPane:
        return self.query_one(ValidationPane)

    def focus_list(self) -> None:
        self.example_list.focus()

    # -- hooks the command sets fill in -----------------------------------------------------------

    def _forget_dataset(self) -> None:
        """Before another dataset opens: stop its workers, close it. Command sets that hold
        state about it extend this (calling super())."""
        for group in ("dataset", "validate", "search", "fix", "disk", "tokens"):
            self.workers.cancel_group(self, group)
        self._validation_generation += 1
        self.validating = False
        if self.session is not None:
            self.session.close()
        self.session = None

    def _show_empty(self, empty: bool) -> None:
        """Show the empty state (no dataset) instead of the browser, or the reverse."""

    def _after_change_search(self) -> None:
        """Called after every change: a running search must see the new content."""

    def _clear_filter_for(self, position: int) -> None:
        """A filter must not hide the example the user is about to look at."""

    def _list_title_extra(self) -> str:
        return ""

    # -- the one path of every change -------------------------------------------------------------

    @property
    def has_unsaved_changes(self) -> bool:
        return self.session is not None and bool(self.session.dirty)

    def unsaved_summary(self) -> str:
        if self.session is None:
            return ""
        name = self.session.path.name
        label = self.session.undo_label
        return f"{name} has unsaved edits" + (f" (the last: {label})." if label else ".")

    def _apply(self, edit: Edit, *, select: int | None = None) -> bool:
        """Apply an edit, then refresh everything that depends on it. False if it was refused."""
        from ftui.core.editing.edits import EditError

        if self.session is None:
            return False
        if self._saving:
            self.notify("Saving: edit again in a moment.", severity="warning")
            return False
        try:
            self.session.apply(edit)
        except EditError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            return False
        self._refresh_after_change(select=select)
        return True

    def _refresh_after_change(self, *, select: int | None = None) -> None:
        """Re-check what changed (the session re-validates edited examples on demand) and
        repaint everything that shows it."""
        if self.validating:
            # The running full pass may have read the edited example already: start it again.
            self._start_validation()
        self.example_list.refresh_rows()
        self._refresh_findings()
        self._show_report()
        self._after_change_search()
        self._show_current(select=select)
        self._post_state()

    # -- validation -------------------------------------------------------------------------------

    def _start_validation(self) -> None:
        """Validate everything in a thread; a pass started earlier is cancelled and ignored."""
        if self.session is None:
            return
        self.validating = True
        self._validation_generation += 1
        self.pane.show_progress("checking", 0, len(self.session))
        self._validate(self.session, self._validation_generation)

    @work(thread=True, exclusive=True, group="validate", exit_on_error=False)
    def _validate(self, shared: SharedSession, generation: int) -> None:
        worker = get_current_worker()
        last = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal last
            if worker.is_cancelled:
                raise Cancelled
            if time.monotonic() - last >= PROGRESS_INTERVAL:
                last = time.monotonic()
                self.post_message(ValidationProgress(done, total))

        # A full pass reads records by offset and swaps its results in only at the end, so it
        # runs beside the UI without the lock; an edit made meanwhile starts another pass.
        try:
            report = shared.unlocked.validate_all(progress)
        except Cancelled:
            return
        self.post_message(ValidationFinished(generation, report))

    @on(ValidationProgress)
    def _validation_progress(self, event: ValidationProgress) -> None:
        if self.validating:
            self.pane.show_progress("checking", event.done, event.total)

    @on(ValidationFinished)
    def _validation_finished(self, event: ValidationFinished) -> None:
        if event.generation != self._validation_generation or self.session is None:
            return
        self.validating = False
        self._refresh_findings()
        self._show_report()
        self.example_list.refresh_rows()
        self._show_current()

    def _show_report(self) -> None:
        session = self.session
        if session is not None and session.report is not None:
            self.pane.show_report(session.report, stale=not session.report_is_current)

    def _refresh_findings(self) -> None:
        """Regroup the pane and the positions ] [ e E walk (errors and warnings only)."""
        if self.session is None:
            return
        findings: list[Finding] = self.session.findings
        self.pane.show_findings(findings, checking=self.validating)
        problems: set[int] = set()
        errors: set[int] = set()
        for finding in findings:
            if finding.example < 0 or finding.severity == Severity.INFO:
                continue
            problems.add(finding.example)
            if finding.severity == Severity.ERROR:
                errors.add(finding.example)
        self._problem_positions = sorted(problems)
        self._error_positions = sorted(errors)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state != WorkerState.ERROR:
            return
        # exit_on_error=False: a failed worker is reported, the app goes on.
        self.notify(f"Something went wrong: {worker.error}", severity="error", timeout=15)
        if worker.group == "validate":
            self.validating = False
            self.pane.show_progress("the check failed", 0, 0)
        elif worker.group == "save":
            self._saving = False

    # -- the selected example ---------------------------------------------------------------------

    def _show_current(self, *, select: int | None = None) -> None:
        position = self.example_list.position
        session = self.session
        if session is None or position is None:
            self.conversation.show_example(None)
            return
        messages = session.messages(position)
        shown = ExampleShown(
            position=position,
            number=position + 1,
            source_line=session.source_line(position),
            messages=messages,
            message_tokens=[None] * len(messages),
            findings=session.findings_for(position),
            raw_text=session.raw_text(position) if not messages else None,
        )
        self.conversation.show_example(shown, select=select)
        if messages:
            self._count_message_tokens(session, position, session.version, messages)

    @work(thread=True, exclusive=True, group="tokens", exit_on_error=False)
    def _count_message_tokens(
        self, session: SharedSession, position: int, version: int, messages: list[dict[str, Any]]
    ) -> None:
        """Tokens of each message (the tokenizer may still be loading: not on the UI thread)."""
        self._first_paint.wait(FIRST_PAINT_WAIT)  # loading the tokenizer slows the first paint
        from ftui.core.pricing.models import DEFAULT_OPENAI_MODEL, is_local_model
        from ftui.core.pricing.tokens import (
            TOKENS_PER_EXAMPLE,
            count_example_tokens,
            encoding_for_model,
            get_encoding,
        )

        options = session.options
        model = getattr(options, "model", None) or DEFAULT_OPENAI_MODEL
        if is_local_model(model):
            return  # counted with the model's own template: only whole examples make sense
        encoding = get_encoding(getattr(options, "encoding", None) or encoding_for_model(model))
        counts: list[int | None] = []
        for message in messages:
            try:
                counts.append(count_example_tokens([message], encoding)[0] - TOKENS_PER_EXAMPLE)
            except Exception:  # a malformed message just shows no count
                counts.append(None)
        self.post_message(MessageTokensCounted(position, version, counts))

    @on(MessageTokensCounted)
    def _message_tokens_counted(self, event: MessageTokensCounted) -> None:
        if self.session is not None and event.version == self.session.version:
            self.conversation.show_tokens(event.position, event.counts)

    def _jump_to(self, position: int, message_index: int | None = None) -> None:
        self._clear_filter_for(position)
        if self.example_list.go_to_position(position):
            self._show_current(select=message_index)

    # -- what the header and titles show ----------------------------------------------------------

    def _update_list_title(self) -> None:
        example_list = self.example_list
        title = "Examples" + self._list_title_extra()
        if example_list.marks:
            title += f" · {len(example_list.marks):,} marked"
        example_list.border_title = title

    def _post_state(self, *, bindings: bool = True) -> None:
        """Tell the header; `bindings=False` for mere progress (the footer is rebuilt on each
        bindings refresh: too costly ten times a second while a big file is indexed)."""
        session = self.session
        self._update_list_title()
        if bindings:
            self.refresh_bindings()
        self.post_message(
            DatasetStateChanged(
                path=self.path,
                examples=len(session) if session is not None else 0,
                dirty=bool(session.dirty) if session is not None else False,
                indexing=self.indexing,
                format=str(session.format) if session is not None else None,
            )
        )
