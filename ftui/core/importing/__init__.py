"""Getting data in: tables and conversation logs into chat examples (pure; no model calls).

`tables` reads CSV / TSV / JSON / JSONL / Parquet rows with their source row numbers, `where`
parses the row filter, `mapping` says which columns make which turns, `examples` builds the
examples, `run` ties them together (`run_import`, `preview_import`) and `write` writes the
result atomically. The CLI (`ftui import`) and the app's import screen call the same functions.
"""

from ftui.core.importing.examples import ImportedExample
from ftui.core.importing.mapping import ColumnMapping, ResolvedMapping, guess_column
from ftui.core.importing.problems import ImportInputError, ImportStopped, SkippedRow
from ftui.core.importing.run import (
    ImportOptions,
    ImportPreview,
    ImportRun,
    ImportSummary,
    preview_import,
    run_import,
)
from ftui.core.importing.where import WhereError, parse_where
from ftui.core.importing.write import (
    ImportCancelled,
    ImportResult,
    import_origins,
    new_batch_id,
    write_import,
)

__all__ = [
    "ColumnMapping",
    "ImportCancelled",
    "ImportInputError",
    "ImportOptions",
    "ImportPreview",
    "ImportResult",
    "ImportRun",
    "ImportStopped",
    "ImportSummary",
    "ImportedExample",
    "ResolvedMapping",
    "SkippedRow",
    "WhereError",
    "guess_column",
    "import_origins",
    "new_batch_id",
    "parse_where",
    "preview_import",
    "run_import",
    "write_import",
]
