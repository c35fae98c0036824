"""The Data section: browse, search, edit and validate one dataset.

It owns the `DatasetSession` and routes: its parts (files, validation, search, editing; one
module each) do the work and report facts (`SessionOpened`, `ExampleEdited`,
`ValidationFinished`, `Saved`...), and the section tells its children what to show (the list
gets a row source, the conversation an example, the pane findings). Every key of the section is
declared here, once; an action hands the request to the part that owns it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from ftui.config import Config
from ftui.core.findings import Finding, Severity
from ftui.tui.keymap import command
from ftui.tui.messages import DatasetStateChanged
from ftui.tui.sections.data.edit import DatasetEditing, FixComputed
from ftui.tui.sections.data.files import (
    DatasetFiles,
    DatasetReady,
    DiskChanged,
    ExportDone,
    IndexProgress,
    OpenFailed,
    Saved,
    SessionOpened,
)
from ftui.tui.sections.data.keys import CostKeys
from ftui.tui.sections.data.part import ExampleEdited, ShowExample, WorkFailed
from ftui.tui.sections.data.search import (
    DatasetSearch,
    SearchFailed,
    SearchProgress,
    next_position,
)
from ftui.tui.sections.data.selected import MessageTokensCounted, OriginFound, SelectedExample
from ftui.tui.sections.data.validation import (
    DatasetValidation,
    ValidationFinished,
    ValidationProgress,
)
from ftui.tui.shared_session import SharedSession
from ftui.tui.widgets.conversation_view import ConversationView
from ftui.tui.widgets.example_list import ExampleList
from ftui.tui.widgets.validation_pane import ValidationPane

if TYPE_CHECKING:
    from ftui.core.editing.first_rows import FirstRows
    from ftui.core.editing.search import OriginLookup, Query
    from ftui.tui.widgets.example_list import RowSource
    from ftui.tui.widgets.search_bar import SearchBar

EMPTY_STATE = (
    "No dataset is open.\n\n"
    "Press o to open a file (OpenAI chat JSONL, Alpaca or ShareGPT JSON/JSONL),\n"
    "or run `ftui PATH`, or `ftui demo` for a sample dataset to try everything on."
)
WORKER_GROUPS = ("dataset", "validate", "search", "fix", "disk", "tokens", "origin")


class DataSection(CostKeys):
    """The Data section. `request_open(path)` opens a dataset in it."""

    COMMAND_GROUP = "Data"
    BINDINGS: ClassVar = [
        command(
            "right_square_bracket",
            "next_finding(1)",
            "Next finding",
            "Go to the next example with an error or a warning.",
            key_display="]",
        ),
        command(
            "left_square_bracket",
            "next_finding(-1)",
            "Previous finding",
            "Go to the previous example with an error or a warning.",
            key_display="[",
        ),
        command("e", "next_error(1)", "Next error", "Go to the next example with an error."),
        command(
            "E", "next_error(-1)", "Previous error", "Go to the previous example with an error."
        ),
        command("v", "toggle_validation", "Findings", "Show or hide the validation pane."),
        command("V", "revalidate", "Re-check", "Validate the whole dataset again, edits included."),
        command(
            "ctrl+g",  # G is the example list's "last example"
            "generate",
            "Generate",
            "Generate examples with a model: distill or paraphrase this dataset, or synth.",
            key_display="^g",
        ),
        command(
            "c",
            "focus_conversation",
            "Conversation",
            "Move to the conversation (enter edits the selected message).",
        ),
    ]

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
        self.session: SharedSession | None = None
        self.path: Path | None = None
        self.indexing = False
        self.files = DatasetFiles(self, config, fmt)
        self.validation = DatasetValidation(self)
        self.search = DatasetSearch(self)
        self.editing = DatasetEditing(self)
        self.selected = SelectedExample(self)
        self._parts = (self.files, self.validation, self.search, self.editing, self.selected)
        self._first_rows: FirstRows | None = None  # shown until the session opens
        self._problem_positions: list[int] = []
        self._error_positions: list[int] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="data-main"):
            yield ExampleList(id="example-list")
            yield ConversationView(id="conversation")
        yield ValidationPane(id="validation")
        yield Static(EMPTY_STATE, id="data-empty")

    def on_mount(self) -> None:
        self._show_empty(True)
        self.files.start_disk_checks()
        if self._initial_path is not None:
            # Now: the file's first rows are part of the first frame (see `files.load`).
            self.request_open(self._initial_path)

    # -- children and state -----------------------------------------------------------------------

    @property
    def example_list(self) -> ExampleList:
        return self.query_one(ExampleList)

    @property
    def conversation(self) -> ConversationView:
        return self.query_one(ConversationView)

    @property
    def pane(self) -> ValidationPane:
        return self.query_one(ValidationPane)

    @property
    def validating(self) -> bool:
        return self.validation.running

    @property
    def saving(self) -> bool:
        return self.files.saving

    @property
    def search_query(self) -> Query | None:
        return self.search.query

    @property
    def matches(self) -> Any:
        """Positions matching the search so far, ascending."""
        return self.search.matches

    @property
    def has_unsaved_changes(self) -> bool:
        return self.session is not None and self.session.dirty

    def unsaved_summary(self) -> str:
        return self.files.unsaved_summary()

    def focus_list(self) -> None:
        self.example_list.focus()

    def _set_session(self, session: SharedSession | None) -> None:
        self.session = session
        for part in self._parts:
            part.session = session

    def _show_empty(self, empty: bool) -> None:
        self.query_one("#data-empty").display = empty
        self.query_one("#data-main").display = not empty
        self.pane.display = not empty and not self.has_class("-no-validation")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        session = self.session
        if session is None:
            return action in ("open", "generate", "import_data")
        if action == "undo":
            return session.can_undo
        if action == "redo":
            return session.can_redo
        if action in ("next_match", "toggle_filter", "clear_search"):
            return self.search_query is not None
        if action == "export":
            return bool(self.example_list.marks)
        return True

    # -- files ------------------------------------------------------------------------------------

    def request_open(self, path: Path) -> None:
        self.files.request_open(path)

    def save_then(self, then: Any) -> None:
        self.files.save_then(then)

    def discard_unsaved(self) -> None:
        self.files.discard_unsaved()

    def action_open(self) -> None:
        self.files.ask_open()

    def action_generate(self) -> None:
        from ftui.tui.messages import OpenDataset
        from ftui.tui.screens.generate import GenerateScreen

        def made(out: Path | None) -> None:
            if out is not None:
                self.post_message(OpenDataset(out))

        store = self.app.services.store  # type: ignore[attr-defined]
        self.app.push_screen(GenerateScreen(store, self.config, self.path), made)

    def action_import_data(self) -> None:
        from ftui.tui.messages import OpenDataset
        from ftui.tui.screens.import_data import ImportScreen

        services = getattr(self.app, "services", None)
        record = (
            (lambda path, items: services.store.record_origins(path, items))
            if services is not None
            else None
        )

        def imported(path: Path | None) -> None:
            if path is not None:
                self.post_message(OpenDataset(path))

        self.app.push_screen(ImportScreen(record_origins=record), imported)

    def action_save(self) -> None:
        self.files.save_then(None)

    def action_export(self) -> None:
        self.files.ask_export(sorted(self.example_list.marks))

    def action_show_cost(self) -> None:
        from ftui.tui.screens.cost import CostScreen

        if self.session is not None:
            self.app.push_screen(CostScreen(self.session, self.config.prices))

    def _check_disk(self) -> None:  # what the periodic check does (tests call it)
        self.files.check_disk()

    def start_open(self, path: Path) -> None:
        """Forget the open dataset (its workers stop, it closes) and open `path`."""
        for group in WORKER_GROUPS:
            self.workers.cancel_group(self, group)
        self.validation.forget()
        if self.session is not None:
            self.session.close()
        self._set_session(None)
        self.files.forget()
        self.search.forget()
        self.path = path
        self.example_list.set_source(None)
        self.conversation.show_example(None)
        self.pane.show_findings([], checked=False)
        self.pane.show_report(None)
        self.pane.show_progress("opening", 0, 0)
        self.indexing = True
        self._post_state()
        self.files.load(path)

    @on(OpenFailed)
    def _open_failed(self, event: OpenFailed) -> None:
        self.indexing = False
        self.path = None
        self.example_list.set_source(None)  # first rows may have been shown
        self._show_empty(True)
        self._post_state()
        self.notify(f"Cannot open {event.path}: {event.error}", severity="error", timeout=15)

    def show_first_rows(self, rows: FirstRows) -> None:
        """The file's first rows, before its session is open (the list's cursor moves in them)."""
        self._show_empty(False)
        self._first_rows = rows
        self.example_list.set_source(cast("RowSource", rows))

    @on(SessionOpened)
    def _session_opened(self, event: SessionOpened) -> None:
        self._set_session(event.session)
        self.path = event.session.path
        self._show_empty(False)
        # RowLike declares plain attributes; RowSummary's are frozen (read-only) fields, which
        # mypy counts as a mismatch though the list only reads them. The first rows shown so far
        # are the session's own: the cursor and the scroll stay where the user put them.
        self.example_list.set_source(
            cast("RowSource", event.session),
            keep_cursor=self.example_list.source is self._first_rows,
        )
        self._first_rows = None
        self.files.first_paint = event.painted
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
        self.example_list.refresh_rows(repaint=self.files.index_progress(event))
        self._post_state(bindings=event.done)
        if event.done:
            self.files.indexing_done()

    @on(DatasetReady)
    def _dataset_ready(self, event: DatasetReady) -> None:
        if event.session is self.session:
            self._start_validation()

    @on(Saved)
    def _saved(self, event: Saved) -> None:
        self.files.saved(event)
        self.path = event.path
        # Positions are those of the saved file now: marks and matches start afresh.
        self.example_list.set_marks(set())
        if self.validating:
            # The pass in flight reads the file as it was (it holds its own descriptor), and
            # its result would be discarded: start the one for the saved file now.
            self._start_validation()
        self._refresh_after_change()
        if event.then is not None:
            event.then()

    @on(ExportDone)
    def _exported(self, event: ExportDone) -> None:
        self.notify(f"Exported {event.count:,} examples to {event.path}", timeout=6)

    @on(DiskChanged)
    def _disk_changed(self, event: DiskChanged) -> None:
        self.files.disk_changed(event)

    @on(WorkFailed)
    def _work_failed(self, event: WorkFailed) -> None:
        if event.what == "save":
            self.files.saving = False
        self.notify(f"Could not {event.what}: {event.error}", severity="error", timeout=15)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state != WorkerState.ERROR:
            return
        # exit_on_error=False: a failed worker is reported, the app goes on.
        self.notify(f"Something went wrong: {worker.error}", severity="error", timeout=15)
        if worker.group == "validate":
            self.validation.failed()
            self.pane.show_progress("the check failed", 0, 0)
        elif worker.group == "save":
            self.files.saving = False

    # -- editing ----------------------------------------------------------------------------------

    def action_undo(self) -> None:
        self.editing.undo_redo(undo=True)

    def action_redo(self) -> None:
        self.editing.undo_redo(undo=False)

    def action_insert_example(self) -> None:
        self.editing.insert_example()

    def action_duplicate_example(self) -> None:
        self.editing.duplicate_example()

    def action_move_example(self, delta: int) -> None:
        self.editing.move_example(delta)

    def action_delete_examples(self) -> None:
        self.editing.delete_examples()

    @on(ConversationView.MessageActionRequested)
    def _message_action(self, event: ConversationView.MessageActionRequested) -> None:
        self.editing.message_action(event)

    @on(ValidationPane.FixRequested)
    def _fix_requested(self, event: ValidationPane.FixRequested) -> None:
        self.editing.fix_requested(event)

    @on(FixComputed)
    def _fix_computed(self, event: FixComputed) -> None:
        self.editing.fix_computed(event)

    @on(ExampleEdited)
    def _example_edited(self, event: ExampleEdited) -> None:
        self._refresh_after_change(select=event.select)

    @on(ShowExample)
    def _show_example(self, event: ShowExample) -> None:
        self._jump_to(event.position, event.message_index)

    def _refresh_after_change(self, *, select: int | None = None) -> None:
        """Repaint everything that shows the content (the session re-checks edited examples
        on demand). A full pass running meanwhile goes on: its result is re-based on adoption
        (what changed since it began is checked again)."""
        self.example_list.refresh_rows()
        self._refresh_findings()
        self._show_report()
        self.search.rerun()
        self._show_current(select=select)
        self._post_state()

    # -- search -----------------------------------------------------------------------------------

    async def action_search(self) -> None:
        await self.search.open_bar()

    def on_search_bar_submitted(self, event: SearchBar.Submitted) -> None:
        self.search.submitted(event.text)

    def on_search_bar_closed(self, event: SearchBar.Closed) -> None:
        self.search.closed()

    @on(SearchProgress)
    def _search_progress(self, event: SearchProgress) -> None:
        self.search.progress(event)

    @on(SearchFailed)
    def _search_failed(self, event: SearchFailed) -> None:
        self.search.failed(event)

    def action_next_match(self, direction: int) -> None:
        self.search.next_match(direction)

    def action_toggle_filter(self) -> None:
        self.search.toggle_filter()

    def action_clear_search(self) -> None:
        self.search.clear()

    # -- validation and findings ------------------------------------------------------------------

    def _start_validation(self) -> None:
        if self.session is not None and self.validation.start():
            self.pane.show_progress("checking", 0, len(self.session))

    def action_revalidate(self) -> None:
        self._start_validation()

    @on(ValidationProgress)
    def _validation_progress(self, event: ValidationProgress) -> None:
        if self.validation.is_current(event.generation):
            self.pane.show_progress("checking", event.done, event.total)

    @on(ValidationFinished)
    def _validation_finished(self, event: ValidationFinished) -> None:
        if self.validation.adopt(event):
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
        # Before a full pass is in, the findings are only those of edited examples: the pane
        # must not present them as the file's tally.
        checked = self.session.report is not None
        self.pane.show_findings(findings, checking=self.validating, checked=checked)
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

    def action_next_finding(self, direction: int) -> None:
        self._walk(self._problem_positions, direction, "errors or warnings")

    def action_next_error(self, direction: int) -> None:
        self._walk(self._error_positions, direction, "errors")

    def _walk(self, positions: list[int], direction: int, what: str) -> None:
        if not positions:
            still = " found yet (still checking)" if self.validating else ""
            self.notify(f"No {what}{still}.", timeout=3)
            return
        self._jump_to(next_position(positions, self.example_list.position, direction))

    @on(ValidationPane.FindingChosen)
    def _finding_chosen(self, event: ValidationPane.FindingChosen) -> None:
        finding = event.finding
        if finding.example < 0:
            self.notify(finding.message, timeout=10)  # about the whole file
            return
        self._jump_to(finding.example, finding.message_index)

    def action_toggle_validation(self) -> None:
        self.toggle_class("-no-validation")
        self.pane.display = not self.has_class("-no-validation") and self.session is not None

    # -- the list and the selected example --------------------------------------------------------

    @on(ExampleList.Highlighted)
    def _highlighted(self, event: ExampleList.Highlighted) -> None:
        self.selected.highlighted()

    @on(ExampleList.MarksChanged)
    def _marks_changed(self, event: ExampleList.MarksChanged) -> None:
        self.update_list_title()
        self.refresh_bindings()

    @on(ExampleList.Opened)
    def _opened(self, event: ExampleList.Opened) -> None:
        self.conversation.focus()

    def action_focus_conversation(self) -> None:
        self.conversation.focus()

    def _show_current(self, *, select: int | None = None) -> None:
        self.selected.show(select=select)

    @on(OriginFound)
    def _origin_found(self, event: OriginFound) -> None:
        if self.session is not None and event.version == self.session.version:
            self.conversation.show_origin(event.position, event.origin)

    def origin_lookup(self) -> OriginLookup | None:
        """Keys to origins, from the app's run history (None: an app without one)."""
        services = getattr(self.app, "services", None)
        if services is None:
            return None
        # The same rows may be in several files: prefer what was recorded for this one.
        dataset = self.path.resolve() if self.path is not None else None
        return lambda keys: services.store.origins_by_key(keys, dataset)

    @on(MessageTokensCounted)
    def _message_tokens_counted(self, event: MessageTokensCounted) -> None:
        if self.session is not None and event.version == self.session.version:
            self.conversation.show_tokens(event.position, event.counts)

    def _jump_to(self, position: int, message_index: int | None = None) -> None:
        self.search.reveal(position)
        if self.example_list.go_to_position(position):
            self._show_current(select=message_index)

    # -- what the header and titles show ----------------------------------------------------------

    def update_list_title(self) -> None:
        example_list = self.example_list
        title = "Examples" + self.search.title_extra()
        if example_list.marks:
            title += f" · {len(example_list.marks):,} marked"
        example_list.border_title = title

    def _post_state(self, *, bindings: bool = True) -> None:
        """Tell the header; `bindings=False` for mere progress (the footer is rebuilt on each
        bindings refresh: too costly ten times a second while a big file is indexed)."""
        session = self.session
        self.update_list_title()
        if bindings:
            self.refresh_bindings()
        self.post_message(
            DatasetStateChanged(
                path=self.path,
                examples=len(session) if session is not None else 0,
                dirty=session.dirty if session is not None else False,
                indexing=self.indexing,
                format=str(session.format) if session is not None else None,
            )
        )
