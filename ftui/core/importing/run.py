"""One import, from an open source to examples: filter, map, build, count.

`run_import` is what the CLI and the app share: it opens the source and checks the mapping and
the filter at once (an unknown column or a bad filter raises `ImportInputError` before any row
is read), then its iteration gives `ImportedExample`s and `SkippedRow`s in order, and its
`summary` counts everything: rows read, filtered out, kept, skipped by reason, examples.
`preview_import` runs the same code and stops after a few examples, for the app's live preview.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from ftui.core.dataset.format_spec import DatasetFormat
from ftui.core.importing.examples import ExampleBuilder, ImportedExample
from ftui.core.importing.mapping import ColumnMapping, ResolvedMapping, resolve_mapping
from ftui.core.importing.problems import ImportInputError, SkippedRow, count
from ftui.core.importing.records import (
    FORMAT_READS,
    TURNS_KEY,
    convert_row,
    detect_record_format,
)
from ftui.core.importing.tables import SourceRow, Table, TableKind, open_table
from ftui.core.importing.where import Where, WhereError, WhereValueError, parse_where

PREVIEW_EXAMPLES = 20
PREVIEW_MAX_ROWS = 5_000  # a preview reads at most this many rows, whatever the filter keeps
PREVIEW_SKIPPED = 50
FORMAT_SAMPLE = 20  # readable rows looked at to tell whether the records are a dataset format


@dataclass(frozen=True, slots=True)
class ImportOptions:
    mapping: ColumnMapping = field(default_factory=ColumnMapping)
    where: str | None = None
    # Replaces (or adds) the system prompt of every example; None keeps the source's.
    system: str | None = None
    per_reply: bool = False
    strict: bool = False
    encoding: str = "utf-8"  # of CSV/TSV; "replace" keeps undecodable bytes as U+FFFD
    delimiter: str | None = None  # CSV only; None: by the extension, else sniffed


@dataclass
class ImportSummary:
    source: str
    kind: TableKind
    row_label: str
    shape: str
    columns: list[str]
    mapping: dict[str, str]
    guessed: list[str]
    where: str | None
    system: str  # where the examples' system prompts come from, in words
    per_reply: bool
    # The dataset format the records were read as (Alpaca...), None: columns were mapped.
    record_format: str | None = None
    rows_read: int = 0
    rows_filtered: int = 0  # rows the filter left out, on purpose
    rows_kept: int = 0  # rows that made an example
    rows_skipped: int = 0  # rows left out for a problem (a conversation's rows count each)
    skipped: Counter[str] = field(default_factory=Counter)  # skipped source rows by kind
    # The conversations those rows belong to, by kind (a grouped source: a log, or --map
    # conversation=...), so "9 rows in 4 conversations" can be said.
    skipped_conversations: dict[str, set[str]] = field(default_factory=dict)
    examples: int = 0
    notes: Counter[str] = field(default_factory=Counter)
    stopped: SkippedRow | None = None  # strict: the row that stopped the import
    complete: bool = True  # False: a preview that stopped before the end of the source

    def count_skip(self, skipped: SkippedRow) -> None:
        self.skipped[skipped.kind] += skipped.row_count
        if skipped.conversation is not None:
            self.skipped_conversations.setdefault(skipped.kind, set()).add(skipped.conversation)

    def _skip_part(self, kind: str, rows: int) -> str:
        text = f"{rows:,} {kind.replace('_', ' ')}"
        conversations = len(self.skipped_conversations.get(kind, ()))
        if conversations:
            text += f": {count(rows, 'row')} in {count(conversations, 'conversation')}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "shape": self.shape,
            "columns": self.columns,
            "mapping": self.mapping,
            "guessed": self.guessed,
            "where": self.where,
            "system": self.system,
            "per_reply": self.per_reply,
            "record_format": self.record_format,
            "rows_read": self.rows_read,
            "rows_filtered": self.rows_filtered,
            "rows_kept": self.rows_kept,
            "rows_skipped": self.rows_skipped,
            "skipped_by_kind": dict(sorted(self.skipped.items())),  # rows
            "skipped_conversations_by_kind": {
                kind: len(keys) for kind, keys in sorted(self.skipped_conversations.items())
            },
            "examples": self.examples,
            "notes": dict(self.notes),
            "stopped": self.stopped.to_json() if self.stopped else None,
        }

    def lines(self) -> list[str]:
        """The summary in a few lines of words."""
        if self.record_format is not None:
            reads = FORMAT_READS[DatasetFormat(self.record_format)]
            how = f"records read as {reads}"
        else:
            how = f"{self.shape}: " + ", ".join(f"{k}={v}" for k, v in self.mapping.items())
        out = [f"read {count(self.rows_read, 'row')} of {self.source} ({self.kind}, {how})"]
        if self.where:
            out.append(f"--where {self.where}: {count(self.rows_filtered, 'row')} filtered out")
        parts = [self._skip_part(kind, rows) for kind, rows in self.skipped.items()]
        out.append(
            f"kept {count(self.rows_kept, 'row')}, skipped {count(self.rows_skipped, 'row')}"
            + (f" ({', '.join(parts)})" if parts else "")
        )
        out.append(f"system prompt: {self.system}")
        for note, times in self.notes.most_common():
            out.append(f"{times:,} × {note}")
        return out


def _system_source(options: ImportOptions, mapping: ResolvedMapping) -> str:
    if options.system is not None:
        return (
            "none (--system '' removes them)" if not options.system else "--system (every example)"
        )
    if mapping.columns.system is not None:
        return f"from the {mapping.columns.system!r} column"
    if mapping.shape == "messages":
        return "kept from the source's system turns"
    if mapping.shape == "log":
        return "kept from the log's system rows"
    return "none"


class ImportRun:
    """An import under way. Iterate it once; `summary` is complete when the iteration ends."""

    def __init__(self, path: str | os.PathLike[str], options: ImportOptions) -> None:
        self.path = Path(path)
        self.options = options
        self.where: Where | None = None
        if options.where is not None and options.where.strip():
            try:
                self.where = parse_where(options.where)
            except WhereError as exc:
                raise ImportInputError(f"--where {options.where!r}: {exc}") from None
        self._stack = contextlib.ExitStack()
        try:
            self.table: Table = self._stack.enter_context(
                open_table(path, encoding=options.encoding, delimiter=options.delimiter)
            )
            samples, rows = self._first_rows(self.table.rows)
            self._rows = rows
            self.record_format = self._record_format(samples)
            if self.record_format is not None:
                self.mapping = ResolvedMapping("messages", ColumnMapping(messages=TURNS_KEY))
            else:
                first = samples[0] if samples else None
                try:
                    self.mapping = resolve_mapping(options.mapping, self.table.columns, first)
                except ImportInputError as exc:
                    raise ImportInputError(f"{exc}{self._delimiter_hint()}") from None
            self._check_where_columns()
        except BaseException:
            self._stack.close()
            raise
        self.builder = ExampleBuilder(
            self.mapping, system=options.system, per_reply=options.per_reply
        )
        self.summary = ImportSummary(
            source=str(path),
            kind=self.table.kind,
            row_label=self.table.row_label,
            shape=self.mapping.shape,
            columns=list(self.table.columns),
            mapping=self.mapping.columns.given(),
            guessed=list(self.mapping.guessed),
            where=self.where.text if self.where else None,
            system=_system_source(options, self.mapping),
            per_reply=options.per_reply,
            record_format=self.record_format.value if self.record_format else None,
        )
        if self.record_format is not None:
            self.summary.mapping = {}

    @property
    def columns(self) -> list[str]:
        return self.table.columns

    @staticmethod
    def _first_rows(
        rows: Iterator[SourceRow | SkippedRow],
    ) -> tuple[list[dict[str, Any]], Iterator[SourceRow | SkippedRow]]:
        """The first readable rows' values (the guess looks at them), the rows unchanged."""
        seen: list[SourceRow | SkippedRow] = []
        samples: list[dict[str, Any]] = []
        for item in rows:
            seen.append(item)
            if isinstance(item, SourceRow):
                samples.append(item.values)
            if len(samples) >= FORMAT_SAMPLE or len(seen) >= 100:
                break
        return samples, chain(seen, rows)

    def _delimiter_hint(self) -> str:
        """A CSV read as a single column whose name holds another common delimiter was split
        on the wrong character: say which one to pass."""
        columns = self.table.columns
        if self.table.kind not in ("csv", "tsv") or len(columns) != 1:
            return ""
        found = [d for d in (",", ";", "\t", "|") if d in columns[0]]
        if not found:
            return ""
        shown = "tab" if found[0] == "\t" else repr(found[0])
        return (
            f"; the whole header was read as one column, yet it holds {shown}: "
            f"pass --delimiter {shown}"
        )

    def _record_format(self, samples: list[dict[str, Any]]) -> DatasetFormat | None:
        """The dataset format the records are in, read with its converter; only when no column
        was named (a --map says the user wants the columns as they said)."""
        if self.options.mapping.given():
            return None
        layout = {"jsonl": "jsonl", "json": "json_array"}.get(self.table.kind)
        return detect_record_format(samples, layout)

    def _check_where_columns(self) -> None:
        if self.where is None:
            return
        known = set(self.table.columns)
        unknown = [c for c in self.where.columns if c not in known]
        if unknown:
            listed = ", ".join(self.table.columns[:30])
            quoted = ", ".join(repr(c) for c in unknown)
            raise ImportInputError(
                f"--where: no column {quoted} in {self.path.name}; the columns are: {listed}"
            )

    def __enter__(self) -> ImportRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()

    def __iter__(self) -> Iterator[ImportedExample | SkippedRow]:
        summary, builder = self.summary, self.builder
        try:
            for item in self._items():
                if isinstance(item, SkippedRow):
                    summary.count_skip(item)
                    if self.options.strict:
                        summary.stopped = item
                        yield item
                        return
                else:
                    summary.examples += 1
                yield item
        finally:
            summary.rows_kept = builder.rows_kept
            summary.rows_skipped = builder.rows_skipped
            summary.notes = builder.notes
            self.close()

    def _items(self) -> Iterator[ImportedExample | SkippedRow]:
        yield from self.row_items()
        yield from self.builder.finish()

    def row_items(
        self, max_rows: int | None = None, cancelled: Callable[[], bool] | None = None
    ) -> Iterator[ImportedExample | SkippedRow]:
        """What each row gives as it is read (a log's conversations wait for `finish`); stops
        after `max_rows` rows or when `cancelled()`, leaving `summary.complete` False."""
        summary, builder, where = self.summary, self.builder, self.where
        for item in self._rows:
            if (max_rows is not None and summary.rows_read >= max_rows) or (
                cancelled is not None and cancelled()
            ):
                summary.complete = False
                return
            summary.rows_read += 1
            if isinstance(item, SkippedRow):
                yield builder.skip(item)
                continue
            if where is not None:
                try:
                    keep = where.matches(item.values)
                except WhereValueError as exc:
                    yield builder.skip(SkippedRow(item.row, str(exc), "bad_value"))
                    continue
                if not keep:
                    summary.rows_filtered += 1
                    continue
            if self.record_format is not None:
                converted = convert_row(item, self.record_format)
                if isinstance(converted, SkippedRow):
                    yield builder.skip(converted)
                    continue
                item = converted
            yield from builder.add(item)


def run_import(path: str | os.PathLike[str], options: ImportOptions) -> ImportRun:
    """Open an import of `path` (ImportInputError now if it can't be done as asked)."""
    return ImportRun(path, options)


@dataclass
class ImportPreview:
    columns: list[str]
    mapping: ResolvedMapping
    examples: list[ImportedExample]
    skipped: list[SkippedRow]
    summary: ImportSummary


def preview_import(
    path: str | os.PathLike[str],
    options: ImportOptions,
    limit: int = PREVIEW_EXAMPLES,
    *,
    max_rows: int = PREVIEW_MAX_ROWS,
    cancelled: Callable[[], bool] | None = None,
) -> ImportPreview:
    """The first `limit` examples and skipped rows, reading at most `max_rows` rows.

    `cancelled()` (optional) is polled between rows: a newer preview makes this one stop."""
    examples: list[ImportedExample] = []
    skipped: list[SkippedRow] = []
    with run_import(path, options) as run:
        summary = run.summary

        def take(item: ImportedExample | SkippedRow) -> None:
            if isinstance(item, SkippedRow):
                summary.count_skip(item)
                if len(skipped) < PREVIEW_SKIPPED:
                    skipped.append(item)
            else:
                summary.examples += 1
                examples.append(item)

        # No strict stop: the preview shows every kind of problem there is.
        try:
            for item in run.row_items(max_rows, cancelled):
                take(item)
                if len(examples) >= limit:
                    summary.complete = False
                    break
            for item in run.builder.finish():  # conversations gathered so far
                if len(examples) >= limit:
                    break
                take(item)
        finally:
            summary.rows_kept = run.builder.rows_kept
            summary.rows_skipped = run.builder.rows_skipped
            summary.notes = run.builder.notes
        skipped.sort(key=lambda s: s.row)  # a log's conversations are judged at the end
        return ImportPreview(run.columns, run.mapping, examples, skipped, summary)
