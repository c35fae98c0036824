"""`ftui import SRC OUT`: tickets, tables and chat logs into a chat dataset.

The parsing is the core's (`ftui.core.importing`, shared with the app's import screen); this
module reads the options, writes OUT atomically, records where each example came from in the run
history, and reports. Exit status: 0 written (skipped rows listed), 1 `--strict` stopped at a bad
row, 2 the input can't be imported as asked (a one-line reason); OUT is untouched unless 0.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from ftui.core.importing import ImportResult

EXIT_STOPPED, EXIT_BAD_INPUT = 1, 2
LISTED_SKIPS = 20


def _fail(message: str, code: int, as_json: bool) -> NoReturn:
    if as_json:
        from ftui.commands.runs import echo_json

        echo_json({"ok": False, "error": message})
    click.echo(f"ftui: {message}", err=True)
    sys.exit(code)


@click.command("import")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--map",
    "mapping",
    metavar="FIELD=COL,...",
    help="Columns for user, assistant, system, conversation, order (a log: role, content; "
    "a record's turns: messages). Unnamed ones are guessed from the column names.",
)
@click.option(
    "--where",
    metavar="EXPR",
    help="Keep only rows that match, e.g. 'satisfaction >= 4 and status == \"resolved\"'. "
    "A number compares cells as numbers (a cell that is not one is skipped and listed); "
    'quoted text compares as text, so < <= > >= refuse a quoted number ("3"): drop the quotes.',
)
@click.option("--system", metavar="TEXT", help="The system prompt of every example.")
@click.option("--per-reply", is_flag=True, help="One example per assistant reply.")
@click.option(
    "--to",
    "to",
    type=click.Choice(["openai", "alpaca", "sharegpt"]),
    default="openai",
    show_default=True,
    help="The format OUT is written in.",
)
@click.option("--strict", is_flag=True, help="Stop at the first bad row (nothing is written).")
@click.option(
    "--encoding",
    default="utf-8",
    show_default=True,
    help="CSV/TSV text encoding (cp1252, latin-1...), or 'replace' to keep bad bytes as �.",
)
@click.option("--delimiter", metavar="CHAR", help="CSV cell delimiter (default: sniffed).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.pass_context
def import_command(
    ctx: click.Context,
    source: Path,
    out: Path,
    mapping: str | None,
    where: str | None,
    system: str | None,
    per_reply: bool,
    to: str,
    strict: bool,
    encoding: str,
    delimiter: str | None,
    as_json: bool,
) -> None:
    """Import SOURCE (CSV, TSV, JSON, JSONL, Parquet) into the chat dataset OUT.

    One example per row (a user and an assistant column), per conversation (a record's list of
    turns, or a log of one message per row with a conversation id), or per assistant reply
    (--per-reply). Every row left out is listed with its row number and why.
    """
    from ftui.core.importing import (
        ColumnMapping,
        ImportInputError,
        ImportOptions,
        ImportStopped,
        write_import,
    )

    if delimiter in ("\\t", "tab"):
        delimiter = "\t"  # a tab is hard to type in a shell
    if delimiter is not None and len(delimiter) != 1:
        _fail(f"--delimiter must be one character (got {delimiter!r})", EXIT_BAD_INPUT, as_json)
    if not source.is_file():
        _fail(f"{source}: no such file", EXIT_BAD_INPUT, as_json)
    try:
        options = ImportOptions(
            mapping=ColumnMapping.parse(mapping) if mapping else ColumnMapping(),
            where=where,
            system=system,
            per_reply=per_reply,
            strict=strict,
            encoding=encoding,
            delimiter=delimiter,
        )
        result = write_import(source, out, options, to=to)
    except ImportStopped as exc:
        _fail(f"{source}: {exc}", EXIT_STOPPED, as_json)
    except ImportInputError as exc:
        _fail(str(exc), EXIT_BAD_INPUT, as_json)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}", EXIT_BAD_INPUT, as_json)
    batch, recorded = _record_origins(ctx, source, out, result)
    if as_json:
        from ftui.commands.runs import echo_json

        echo_json(_json(result, batch, recorded))
    else:
        _report(result, batch, recorded)


def _record_origins(
    ctx: click.Context, source: Path, out: Path, result: ImportResult
) -> tuple[str, str | None]:
    """Record each written example's origin; (batch id, None) or (batch id, why it failed)."""
    from ftui.core.importing import import_origins, new_batch_id

    batch = new_batch_id()
    items = import_origins(result, source, batch)
    try:
        from ftui.commands.runs import open_store

        with open_store(ctx) as store:
            store.record_origins(out.resolve(), items)
    except (click.ClickException, OSError) as exc:
        message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
        click.echo(f"ftui: wrote {out}, but its origins were not recorded: {message}", err=True)
        return batch, message
    return batch, None


def _json(result: ImportResult, batch: str, problem: str | None) -> dict[str, Any]:
    return {
        "ok": True,
        "output": str(result.target),
        "format": result.format.value,
        "batch": batch,
        "origins_recorded": problem is None,
        "summary": result.summary.to_json(),
        "skipped": [skipped.to_json() for skipped in result.skipped],
    }


def _report(result: ImportResult, batch: str, problem: str | None) -> None:
    from ftui.core.importing.problems import count

    summary = result.summary
    for line in summary.lines():
        click.echo(line)
    label = summary.row_label
    for skipped in result.skipped[:LISTED_SKIPS]:
        click.echo(f"  skipped {skipped.describe(label)}")
    if len(result.skipped) > LISTED_SKIPS:
        click.echo(
            f"  ... and {len(result.skipped) - LISTED_SKIPS:,} more skipped (--json lists all)"
        )
    recorded = "" if problem else f", origins recorded as batch {batch}"
    click.echo(
        f"wrote {count(len(result.written), 'example')} to {result.target} "
        f"({result.format.value}{recorded})"
    )
