"""The import screen: a CSV, JSON or chat log into a new dataset, previewed as it is set up.

Every change of the source, the mapping, the filter, the system prompt or the per-reply switch
starts a new preview in a thread worker (the older one is cancelled and stops at its next row):
the first examples as they would be written, the skipped rows with their reasons, the counts.
Errors (a bad filter, an unknown column, an unreadable file) show inline. Import writes the file
atomically in a worker, records each example's origin in the run history, and returns the path,
which the Data section then opens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Static
from textual.worker import get_current_worker

from ftui.core.importing.problems import count
from ftui.tui.keymap import command

if TYPE_CHECKING:
    from ftui.core.dataset.origin import Origin
    from ftui.core.importing import ImportOptions, ImportPreview

# Records origins: (dataset path, [(example key, origin)]) -> count. None: no run history.
RecordOrigins = Callable[[Path, Sequence[tuple[str, "Origin"]]], int]
PREVIEW_EXAMPLES = 8
SHOWN_CHARS = 240
SKIPPED_ON_TOP = 5  # skipped rows shown above the examples (the rest after them)
SKIPPED_IN_TOAST = 3

# The core's messages name the CLI's options; the screen names its own fields instead.
_WHERE_PREFIX = re.compile(r"^--where(?: (?:'[^']*'|\"[^\"]*\"))?: ")
_FIELD_NAMES = {
    "--where": "the Filter",
    "--map": "Mapping:",
    "--encoding": "Encoding:",
    "--system": "System prompt:",
    "--per-reply": "One example per reply",
    "--delimiter": "ftui import --delimiter",  # no field: the screen sniffs the delimiter
}
_OPTION = re.compile("|".join(re.escape(name) for name in _FIELD_NAMES) + r"(?![\w-])")


def form_words(message: str) -> str:
    """`message` with the CLI's option names replaced by the screen's field names."""
    message = _WHERE_PREFIX.sub("Filter: ", message)
    return _OPTION.sub(lambda m: _FIELD_NAMES[m.group(0)], message)


@dataclass
class PreviewReady(Message):
    generation: int
    preview: ImportPreview


@dataclass
class PreviewFailed(Message):
    generation: int
    error: str


@dataclass
class ImportWritten(Message):
    path: Path
    examples: int
    skipped: int
    problem: str | None  # why the origins were not recorded, if they were not
    first_skipped: tuple[str, ...] = ()  # the first skipped rows, described
    more_skipped: int = 0  # skipped rows (or conversations) not in `first_skipped`


@dataclass
class ImportFailed(Message):
    error: str


def default_output(source: Path) -> Path:
    return source.with_name(f"{source.stem}.chat.jsonl")


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SHOWN_CHARS else flat[: SHOWN_CHARS - 1] + "…"


def render_preview(preview: ImportPreview) -> Text:
    """The preview as the screen shows it: counts, the mapping, examples, skipped rows."""
    summary = preview.summary
    label = summary.row_label
    more = "" if summary.complete else " (so far)"
    text = Text()
    text.append(
        f"{count(summary.examples, 'example')} · {count(summary.rows_skipped, 'row')} skipped · "
        f"{summary.rows_filtered:,} filtered out · {count(summary.rows_read, 'row')} read{more}\n",
        style="bold",
    )
    if summary.record_format is not None:
        text.append(f"{summary.record_format} records, read with ftui's reader\n", style="dim")
    else:
        mapping = ", ".join(f"{k}={v}" for k, v in summary.mapping.items())
        guessed = f" (guessed: {', '.join(summary.guessed)})" if summary.guessed else ""
        text.append(f"{summary.shape}: {mapping}{guessed}\n", style="dim")
    text.append(f"system prompt: {summary.system}\n", style="dim")
    # The first skipped rows come before the examples, so they show without scrolling.
    top, rest = preview.skipped[:SKIPPED_ON_TOP], preview.skipped[SKIPPED_ON_TOP:]
    if top:
        text.append("\nSkipped\n", style="bold yellow")
        for skipped in top:
            text.append(f"{form_words(skipped.describe(label))}\n", style="yellow")
        if rest:
            text.append(f"… {count(len(rest), 'more')} after the examples\n", style="yellow")
    for example in preview.examples:
        rows = example.rows
        where = f"{label} {rows[0]}" if len(rows) == 1 else f"{label}s {rows[0]}–{rows[-1]}"
        text.append(f"\n── {where} ──\n", style="bold cyan")
        for message in example.messages:
            text.append(f"{message['role']}: ", style="bold")
            text.append(_short(str(message["content"])) + "\n")
    if rest:
        text.append("\nSkipped (continued)\n", style="bold yellow")
        for skipped in rest:
            text.append(f"{form_words(skipped.describe(label))}\n", style="yellow")
    return text


class ImportScreen(ModalScreen[Path | None]):
    """Set up an import, watch its preview, write it."""

    COMMAND_GROUP = "Import"
    BINDINGS: ClassVar = [
        command("escape", "cancel", "Cancel", "Close the import without writing anything."),
        command("ctrl+s", "run_import", "Import", "Write the output file and open it.", show=True),
    ]

    def __init__(
        self, source: Path | None = None, *, record_origins: RecordOrigins | None = None
    ) -> None:
        super().__init__(classes="dialog-screen")
        self._initial_source = source
        self._record_origins = record_origins
        self._generation = 0
        self._guessed_map = ""  # the map text the screen wrote (not the user)
        self._map_source: str | None = None  # the source the map text was guessed for
        self._suggested_out = ""
        self.preview: ImportPreview | None = None
        self.error: str | None = None
        self.writing = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog import-dialog"):
            yield Static("Import a table or a chat log", classes="dialog-title")
            with Horizontal(id="import-body"):
                with VerticalScroll(id="import-form"):
                    yield Static("Source file", classes="import-label")
                    yield Input(
                        str(self._initial_source or ""),
                        id="import-source",
                        compact=True,
                        placeholder="CSV, TSV, JSON, JSONL, Parquet",
                    )
                    yield Static("Mapping", classes="import-label")
                    yield Input(id="import-map", compact=True, placeholder="user=COL,assistant=COL")
                    yield Static("Filter", classes="import-label")
                    yield Input(
                        id="import-where", compact=True, placeholder="e.g. satisfaction >= 4"
                    )
                    yield Static("System prompt", classes="import-label")
                    yield Input(id="import-system", compact=True, placeholder="the source's")
                    yield Checkbox("One example per reply", id="import-per-reply", compact=True)
                    yield Static("Encoding (CSV / TSV)", classes="import-label")
                    yield Input(
                        id="import-encoding", compact=True, placeholder="utf-8, cp1252, replace"
                    )
                    yield Static("Output (OpenAI chat JSONL)", classes="import-label")
                    yield Input(
                        id="import-out",
                        compact=True,
                        placeholder="NAME.chat.jsonl beside the source, once given",
                    )
                with VerticalScroll(id="import-preview-scroll"):
                    yield Static("Give a source file to see a preview.", id="import-preview")
            yield Static("", id="import-error", classes="dialog-error")
            with Horizontal(id="import-actions"):
                yield Static("ctrl+s: import · esc: cancel", classes="import-hint")
                yield Button("Cancel", id="import-cancel", compact=True)
                yield Button("Import", id="import-go", variant="primary", compact=True)

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False
        self.query_one("#import-source", Input).focus()
        self.refresh_preview()

    # -- the form -----------------------------------------------------------------------------

    def _value(self, field: str) -> str:
        return self.query_one(f"#import-{field}", Input).value.strip()

    @property
    def source(self) -> Path | None:
        text = self._value("source")
        return Path(text).expanduser() if text else None

    def options(self) -> ImportOptions:
        """The options the form says; ImportInputError for a mapping that can't be read."""
        from ftui.core.importing import ColumnMapping, ImportOptions

        map_text = self._value("map")
        source = str(self.source)
        # A mapping the screen guessed for another source is guessed again for this one.
        guessed = map_text == self._guessed_map and self._map_source != source
        mapping = ColumnMapping.parse(map_text) if map_text and not guessed else ColumnMapping()
        system = self.query_one("#import-system", Input).value
        return ImportOptions(
            mapping=mapping,
            where=self._value("where") or None,
            system=system if system.strip() else None,
            per_reply=self.query_one("#import-per-reply", Checkbox).value,
            encoding=self._value("encoding") or "utf-8",
        )

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id == "import-out":
            return
        if event.input.id == "import-source":
            self._suggest_output()
        self.refresh_preview()

    @on(Checkbox.Changed)
    def _toggled(self, event: Checkbox.Changed) -> None:
        self.refresh_preview()

    def _suggest_output(self) -> None:
        out = self.query_one("#import-out", Input)
        source = self.source
        if source is None or out.value.strip() not in ("", self._suggested_out):
            return  # the user wrote their own
        self._suggested_out = str(default_output(source))
        out.value = self._suggested_out

    def _show_error(self, error: str | None) -> None:
        error = form_words(error) if error else error
        self.error = error
        self.query_one("#import-error", Static).update(error or "")

    # -- the preview --------------------------------------------------------------------------

    def refresh_preview(self) -> None:
        """Start a preview of what the form says now (the one running is cancelled)."""
        from ftui.core.importing import ImportInputError

        self._generation += 1
        source = self.source
        if source is None:
            return
        if not source.is_file():
            self._no_preview(f"{source}: no such file")
            return
        try:
            options = self.options()
        except ImportInputError as exc:
            self._no_preview(str(exc))
            return
        self._preview(self._generation, source, options)

    def _no_preview(self, error: str) -> None:
        self.preview = None
        self._show_error(error)
        self.query_one("#import-preview", Static).update(
            Text("No preview: fix what is shown in red.", style="dim")
        )

    @work(thread=True, exclusive=True, group="import-preview", exit_on_error=False)
    def _preview(self, generation: int, source: Path, options: ImportOptions) -> None:
        from ftui.core.importing import ImportInputError, preview_import

        worker = get_current_worker()
        try:
            preview = preview_import(
                source, options, limit=PREVIEW_EXAMPLES, cancelled=lambda: worker.is_cancelled
            )
        except ImportInputError as exc:
            self.post_message(PreviewFailed(generation, str(exc)))
            return
        except OSError as exc:
            self.post_message(PreviewFailed(generation, f"cannot read {source}: {exc}"))
            return
        if not worker.is_cancelled:
            self.post_message(PreviewReady(generation, preview))

    @on(PreviewReady)
    def _preview_ready(self, event: PreviewReady) -> None:
        if event.generation != self._generation:
            return
        self.preview = event.preview
        self._show_error(None)
        self.query_one("#import-preview", Static).update(render_preview(event.preview))
        self._show_guess(event.preview)

    def _show_guess(self, preview: ImportPreview) -> None:
        """Put the mapping used in the map field, unless the user wrote one."""
        field = self.query_one("#import-map", Input)
        if field.value.strip() not in ("", self._guessed_map):
            return
        text = ",".join(f"{k}={v}" for k, v in preview.summary.mapping.items())
        self._guessed_map, self._map_source = text, str(self.source)
        if field.value != text:
            with field.prevent(Input.Changed):  # the preview already shows this mapping
                field.value = text

    @on(PreviewFailed)
    def _preview_failed(self, event: PreviewFailed) -> None:
        if event.generation == self._generation:
            self._no_preview(event.error)

    # -- importing ----------------------------------------------------------------------------

    @on(Button.Pressed, "#import-go")
    def _go(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_run_import()

    @on(Button.Pressed, "#import-cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def action_cancel(self) -> None:
        if not self.writing:
            self.dismiss(None)

    def action_run_import(self) -> None:
        from ftui.core.importing import ImportInputError

        source, out_text = self.source, self._value("out")
        if self.writing:
            return
        if source is None or not source.is_file():
            self._show_error("Give the source file to import.")
            return
        if not out_text:
            self._show_error("Give the output file.")
            return
        try:
            options = self.options()
        except ImportInputError as exc:
            self._show_error(str(exc))
            return
        self.writing = True
        self._show_error(None)
        self.query_one("#import-preview", Static).update(Text("Importing…", style="bold"))
        self._write(source, Path(out_text).expanduser(), options)

    @work(thread=True, exclusive=True, group="import-write", exit_on_error=False)
    def _write(self, source: Path, out: Path, options: ImportOptions) -> None:
        from ftui.core.importing import (
            ImportInputError,
            ImportStopped,
            import_origins,
            new_batch_id,
            write_import,
        )

        try:
            result = write_import(source, out, options)
        except (ImportInputError, ImportStopped) as exc:
            self.post_message(ImportFailed(str(exc)))
            return
        except OSError as exc:
            self.post_message(ImportFailed(f"cannot write {out}: {exc.strerror or exc}"))
            return
        problem = None
        if self._record_origins is not None:
            try:
                items = import_origins(result, source, new_batch_id())
                self._record_origins(out.resolve(), items)
            except Exception as exc:  # the file is written; say the history could not be
                problem = str(exc)
        label = result.summary.row_label
        first = [skipped.describe(label) for skipped in result.skipped[:SKIPPED_IN_TOAST]]
        self.post_message(
            ImportWritten(
                out,
                len(result.written),
                result.summary.rows_skipped,
                problem,
                tuple(form_words(line) for line in first),
                len(result.skipped) - len(first),
            )
        )

    @on(ImportFailed)
    def _import_failed(self, event: ImportFailed) -> None:
        self.writing = False
        if self.preview is not None:
            self._show_error(event.error)
            self.query_one("#import-preview", Static).update(render_preview(self.preview))
        else:
            self._no_preview(event.error)

    @on(ImportWritten)
    def _import_written(self, event: ImportWritten) -> None:
        self.writing = False
        done = f"Imported {count(event.examples, 'example')} to {event.path}."
        if event.skipped:
            # The screen closes: the toast itself says which rows were left out, and why.
            shown = "\n".join(event.first_skipped)
            tail = (
                f"\n… and {event.more_skipped:,} more: the import screen (I) lists every "
                "skipped row and why before you import"
                if event.more_skipped > 0
                else ""
            )
            self.app.notify(
                f"{done} {count(event.skipped, 'row')} skipped:\n{shown}{tail}",
                severity="warning",
                timeout=20,
            )
        else:
            self.app.notify(done)
        if event.problem:
            self.app.notify(
                f"The examples' origins were not recorded: {event.problem}", severity="warning"
            )
        self.dismiss(event.path)
