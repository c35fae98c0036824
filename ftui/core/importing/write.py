"""Writing an import's examples: atomically, in the format asked, with what each came from.

The output goes through the dataset core: `atomic_writer` (a temp file beside the target,
renamed over it only when every example is written, so a failure or a kill leaves no half file)
and the canonical form's converters for `--to` formats other than OpenAI chat. A `--strict`
import that meets a bad row raises `ImportStopped` and writes nothing.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ftui.core.dataset.atomic import atomic_writer
from ftui.core.dataset.convert import RecordWriter, dump_record, writes_array
from ftui.core.dataset.format_spec import DatasetFormat
from ftui.core.dataset.from_canonical import (
    chat_to_alpaca,
    chat_to_openai,
    chat_to_sharegpt,
)
from ftui.core.dataset.origin import Origin, example_key
from ftui.core.importing.examples import ImportedExample
from ftui.core.importing.problems import ImportInputError, ImportStopped, SkippedRow, count
from ftui.core.importing.run import ImportOptions, ImportSummary, run_import

WRITABLE_FORMATS = (DatasetFormat.OPENAI, DatasetFormat.ALPACA, DatasetFormat.SHAREGPT)
_WRITERS = {
    DatasetFormat.OPENAI: chat_to_openai,
    DatasetFormat.ALPACA: chat_to_alpaca,
    DatasetFormat.SHAREGPT: chat_to_sharegpt,
}


@dataclass
class ImportResult:
    target: Path
    format: DatasetFormat
    summary: ImportSummary
    skipped: list[SkippedRow] = field(default_factory=list)
    # (example_key, source rows) of each example written, in order: the origins to record.
    written: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)


class ImportCancelled(Exception):
    """The import was cancelled before its output was written; nothing was."""


def write_import(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    options: ImportOptions,
    *,
    to: DatasetFormat | str = DatasetFormat.OPENAI,
    cancelled: Callable[[], bool] | None = None,
) -> ImportResult:
    """Import `source` into `target` (atomically). Raises ImportInputError (bad input, or no
    example at all), ImportStopped (strict), ImportCancelled; in each case nothing is written."""
    fmt = DatasetFormat(to)
    if fmt not in _WRITERS:
        names = ", ".join(f.value for f in WRITABLE_FORMATS)
        raise ImportInputError(f"an import writes {names}, not {fmt.value}")
    target = Path(target)
    if target.resolve() == Path(source).resolve():
        raise ImportInputError(f"the output {target} is the source: give another file")
    convert = _WRITERS[fmt]
    with run_import(source, options) as run:
        result = ImportResult(target, fmt, run.summary)
        with atomic_writer(target, "wb") as handle:
            writer = RecordWriter(handle, writes_array(target))
            for item in run:
                if cancelled is not None and cancelled():
                    raise ImportCancelled("the import was cancelled; nothing was written")
                if isinstance(item, SkippedRow):
                    result.skipped.append(item)
                    continue
                _write_one(writer, item, convert, result)
            if run.summary.stopped is not None:
                raise ImportStopped(run.summary.stopped, run.summary.row_label)
            if not result.written:
                raise ImportInputError(_nothing_to_write(run.summary))
            writer.close()
    # In source order: a log's conversations are only judged once every row is read.
    result.skipped.sort(key=lambda s: s.row)
    return result


def _write_one(
    writer: RecordWriter,
    item: ImportedExample,
    convert: Callable[[dict[str, object]], tuple[dict[str, object], list[str]]],
    result: ImportResult,
) -> None:
    chat = item.example
    if convert is chat_to_openai:
        record: dict[str, object] = chat  # already an OpenAI chat record: nothing to convert
    else:
        record, notes = convert(chat)
        result.summary.notes.update(notes)
    writer.write_raw(dump_record(record, indent=writer.as_array))
    result.written.append((example_key(chat), item.rows))


def _nothing_to_write(summary: ImportSummary) -> str:
    why = [f"{count(summary.rows_read, 'row')} read"]
    if summary.rows_filtered:
        why.append(f"{summary.rows_filtered:,} filtered out by --where")
    if summary.rows_skipped:
        why.append(f"{summary.rows_skipped:,} skipped")
    return f"no example to write ({', '.join(why)}); nothing was written"


def new_batch_id() -> str:
    """A short id shared by every example one import wrote (the Data pane can filter on it)."""
    return secrets.token_hex(4)


def import_origins(
    result: ImportResult,
    source: str | os.PathLike[str],
    batch: str,
    created_at: float | None = None,
) -> list[tuple[str, Origin]]:
    """What to record in the store for each example written: the source file, resolved, and
    the source rows it was made from."""
    when = time.time() if created_at is None else created_at
    where = str(Path(source).resolve())
    return [
        (key, Origin("import", where, when, batch=batch, detail={"rows": list(rows)}))
        for key, rows in result.written
    ]
