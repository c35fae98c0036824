"""Headless dataset commands: `ftui validate`, `ftui convert`, `ftui split`, `ftui stats`.

These run in scripts and CI, so they import only the core (no Textual, no openai) and report with
exit codes: 0 fine, 1 problems in the data (a record that can't be read included: no command
exits 0 on a partial read), 2 a file that can't be read at all, 3 an internal error (ftui.crash).
A dataset may be `-` (stdin) or a pipe such as `<(zcat data.jsonl.gz)`: it is read once, into a
temporary file.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ftui.core.pricing.models import DEFAULT_OPENAI_MODEL

if TYPE_CHECKING:
    from ftui.core.validation.validate import ValidationOptions

FORMAT_NAMES = ["openai", "alpaca", "sharegpt", "dpo"]
EXIT_OK, EXIT_PROBLEMS, EXIT_UNREADABLE = 0, 1, 2
PROGRESS_MIN_BYTES = 8 << 20

_path_argument = click.Path(path_type=Path, dir_okay=True, exists=False)


# Findings that mean a record was not read at all: its content is missing from every figure.
UNREAD_CODES = frozenset(
    {"invalid_json", "invalid_encoding", "oversized_record", "nested_too_deep", "data_type"}
)


def _fail(message: str, code: int = EXIT_UNREADABLE) -> NoReturn:
    click.echo(f"ftui: {message}", err=True)
    sys.exit(code)


def _notice(message: str) -> None:
    click.echo(f"ftui: {message}", err=True)


@contextmanager
def _readable(stack: ExitStack, path: Path) -> Iterator[Path]:
    """`path` ready to read: a stream spooled to a file, a killed writer's leftovers settled.

    A DatasetError raised inside names the original path, not the spool file."""
    from ftui.core.dataset.atomic import settle
    from ftui.core.dataset.reader import DatasetError
    from ftui.core.dataset.spool import is_stream, readable_file

    try:
        readable = stack.enter_context(readable_file(path, notice=_notice))
    except DatasetError as exc:
        _fail(str(exc))
    if not is_stream(path):
        settle(readable)
    try:
        yield readable
    except DatasetError as exc:
        raise DatasetError(str(exc).replace(str(readable), str(path))) from None


class _ProgressBar:
    """A one-line progress bar on stderr, redrawn at most 10 times a second."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        fraction = done / total if total else 1.0
        width = 30
        filled = round(width * fraction)
        bar = "█" * filled + "░" * (width - filled)
        sys.stderr.write(
            f"\r{self.label} {bar} {fraction:4.0%} {done / 1e6:,.1f}/{total / 1e6:,.1f} MB"
        )
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _options(
    model: str,
    encoding: str | None,
    fmt: str | None,
    token_limit: int | None,
    epochs: int | None,
    workers: int | None,
    all_findings: bool = False,
) -> ValidationOptions:
    from ftui.core.dataset.formats import DatasetFormat
    from ftui.core.validation.validate import ValidationOptions

    return ValidationOptions(
        model=model,
        encoding=encoding,
        fmt=DatasetFormat(fmt) if fmt else None,
        token_limit=token_limit,
        epochs=epochs,
        workers=workers,
        max_findings_per_code=None if all_findings else 1_000,
    )


def _run_validation(
    path: Path, options: ValidationOptions, validation_file: Path | None, show_progress: bool
) -> Any:
    from ftui.core.dataset.reader import DatasetError
    from ftui.core.pricing.tokens import TokenizerError
    from ftui.core.validation.validate import validate_file

    bar = None
    if show_progress and sys.stderr.isatty():
        try:
            if path.stat().st_size >= PROGRESS_MIN_BYTES:
                bar = _ProgressBar(f"validating {path.name}")
        except OSError:
            pass
    with ExitStack() as stack:
        try:
            with _readable(stack, path) as readable:
                v_readable = None
                if validation_file is not None:
                    v_readable = stack.enter_context(_readable(stack, validation_file))
                report = validate_file(readable, options, validation_path=v_readable, progress=bar)
        except DatasetError as exc:
            _fail(str(exc))
        except TokenizerError as exc:
            _fail(str(exc))
        finally:
            if bar is not None:
                bar.close()
    report.path = str(path)
    if report.validation is not None:
        report.validation.path = str(validation_file)
    return report


def _unread(report: Any) -> tuple[int, int | None]:
    """How many records could not be read at all, and the first one's line."""
    counts = [c for code, c in report.code_counts.items() if code in UNREAD_CODES]
    lines = [line for c in counts for line in c.first_lines[:1]]
    return sum(c.count for c in counts), min(lines, default=None)


_model_option = click.option(
    "--model",
    "-m",
    default=DEFAULT_OPENAI_MODEL,
    show_default=True,
    help="Target model: an OpenAI model name, or a local model directory (its own tokenizer, "
    "chat template and context length are used).",
)
_encoding_option = click.option(
    "--encoding", help="tiktoken encoding to count with (default: the model's)."
)
_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMAT_NAMES),
    help="Dataset format (default: detected from the file).",
)


@click.command("validate")
@click.argument("path", type=_path_argument)
@_model_option
@_encoding_option
@_format_option
@click.option(
    "--validation-file",
    type=_path_argument,
    help="A validation file used with this one: it is validated too, and checked for leakage.",
)
@click.option("--token-limit", type=click.IntRange(min=1), help="Override the model's limit.")
@click.option("--epochs", type=click.IntRange(min=1), help="Override OpenAI's default epochs.")
@click.option("--workers", type=click.IntRange(min=1), help="Processes to use (default: all).")
@click.option("--all-findings", is_flag=True, help="Keep every finding, not 1,000 per code.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def validate_command(
    path: Path,
    model: str,
    encoding: str | None,
    fmt: str | None,
    validation_file: Path | None,
    token_limit: int | None,
    epochs: int | None,
    workers: int | None,
    all_findings: bool,
    as_json: bool,
) -> None:
    """Check a dataset before fine-tuning: format, content, tokens and cost.

    PATH may be '-' (stdin) or a pipe such as <(zcat data.jsonl.gz). Exits 0 when there are no
    errors, 1 when there are, 2 when a file can't be read at all, 3 on an internal error.
    """
    options = _options(model, encoding, fmt, token_limit, epochs, workers, all_findings)
    report = _run_validation(path, options, validation_file, show_progress=True)
    if as_json:
        import orjson

        sys.stdout.buffer.write(orjson.dumps(report.to_json_dict(), option=orjson.OPT_INDENT_2))
        sys.stdout.buffer.write(b"\n")
        sys.stdout.flush()
    else:
        from ftui.core.validation.report import format_report

        click.echo(format_report(report))
    failed = report.errors or (report.validation is not None and report.validation.errors)
    sys.exit(EXIT_PROBLEMS if failed else EXIT_OK)


@click.command("stats")
@click.argument("path", type=_path_argument)
@_model_option
@_encoding_option
@_format_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def stats_command(
    path: Path, model: str, encoding: str | None, fmt: str | None, as_json: bool
) -> None:
    """Describe a dataset: counts, token and message distributions, role patterns, prompts.

    PATH may be '-' (stdin) or a pipe. Exits 1 when some records could not be read.
    """
    from ftui.core.validation.stats import format_stats, stats_dict

    options = _options(model, encoding, fmt, None, None, None)
    report = _run_validation(path, options, None, show_progress=True)
    if as_json:
        import orjson

        sys.stdout.buffer.write(orjson.dumps(stats_dict(report), option=orjson.OPT_INDENT_2))
        sys.stdout.buffer.write(b"\n")
    else:
        click.echo(format_stats(report))
    unread, first_line = _unread(report)
    if unread:
        where = f" (the first at line {first_line})" if first_line is not None else ""
        _fail(
            f"{unread:,} record(s) of {path} could not be read{where}; the figures leave them "
            "out: `ftui validate` lists them",
            EXIT_PROBLEMS,
        )


@click.command("convert")
@click.argument("source", type=_path_argument)
@click.argument("target", type=_path_argument)
@click.option("--to", "to", type=click.Choice(FORMAT_NAMES), required=True, help="Target format.")
@click.option(
    "--from", "source_format", type=click.Choice(FORMAT_NAMES), help="Source format (detected)."
)
@click.option("--skip-invalid", is_flag=True, help="Leave out records that can't be converted.")
def convert_command(
    source: Path, target: Path, to: str, source_format: str | None, skip_invalid: bool
) -> None:
    """Convert SOURCE into TARGET in another format (.json target: a JSON array, else JSONL).

    SOURCE may be '-' (stdin) or a pipe. The target is written atomically; what the target
    format can't hold is listed.
    """
    from ftui.core.dataset.convert import ConvertError, convert_file
    from ftui.core.dataset.reader import DatasetError
    from ftui.core.dataset.spool import is_stream

    if is_stream(target):
        _fail(f"{target} is not a regular file; convert writes its target atomically: give a file")
    with ExitStack() as stack:
        try:
            with _readable(stack, source) as readable:
                try:
                    result = convert_file(
                        readable, target, to, source_format=source_format, skip_invalid=skip_invalid
                    )
                except ConvertError as exc:
                    _fail(str(exc).replace(str(readable), str(source)), EXIT_PROBLEMS)
        except DatasetError as exc:
            _fail(str(exc))
        except OSError as exc:
            _fail(f"cannot write {target}: {exc.strerror or exc}")
    click.echo(
        f"wrote {result.written:,} examples to {target} "
        f"({result.source_format.value} → {result.target_format.value})"
    )
    for line, reason in result.skipped[:10]:
        click.echo(f"  skipped line {line}: {reason}")
    if len(result.skipped) > 10:
        click.echo(f"  ... and {len(result.skipped) - 10} more skipped")
    if result.notes:
        click.echo("what the target format could not hold:")
        for note, count in result.notes.most_common():
            click.echo(f"  {count:>7,} × {note}")


def _split_size(value: str | None, default: float) -> float:
    if value is None:
        return default
    try:
        size = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: give a fraction (0.1) or a count (200)") from None
    if size < 0 or (size >= 1 and not size.is_integer()):
        raise click.BadParameter(f"{value!r}: give a fraction (0.1) or a count (200)")
    return size


@click.command("split")
@click.argument("path", type=_path_argument)
@click.option("--val", "val", help="Validation share: a fraction (0.1) or a count.  [default 0.1]")
@click.option("--test", "test", help="Test share: a fraction or a count.  [default none]")
@click.option("--seed", type=int, default=0, show_default=True, help="Shuffle seed.")
@_format_option
@click.option("--skip-invalid", is_flag=True, help="Leave out records that can't be read.")
def split_command(
    path: Path,
    val: str | None,
    test: str | None,
    seed: int,
    fmt: str | None,
    skip_invalid: bool,
) -> None:
    """Split PATH into PATH's siblings x.train / x.val (/ x.test), duplicates kept together."""
    from ftui.core.dataset.reader import DatasetError
    from ftui.core.dataset.split import SplitError, split_file
    from ftui.core.dataset.spool import is_stream

    if is_stream(path):
        _fail(
            f"{path} is not a regular file; split writes its outputs beside the dataset: "
            "save it to a file first"
        )
    try:
        result = split_file(
            path,
            val=_split_size(val, 0.1),
            test=_split_size(test, 0.0),
            seed=seed,
            fmt=fmt,
            skip_invalid=skip_invalid,
        )
    except DatasetError as exc:
        _fail(str(exc))
    except SplitError as exc:
        _fail(str(exc), EXIT_PROBLEMS)
    except OSError as exc:
        _fail(f"cannot write the split files beside {path}: {exc.strerror or exc}")
    for name, count in result.counts.items():
        click.echo(f"wrote {count:>8,} examples to {result.paths[name]}")
    if result.duplicate_groups:
        click.echo(
            f"{result.duplicate_groups:,} group(s) of duplicates were kept in one split each"
        )
    for line, reason in result.skipped[:10]:
        click.echo(f"  skipped line {line}: {reason}")
    for stale in result.stale:
        click.echo(
            f"warning: {stale} is from an earlier split and was left as it was; its examples may "
            "now be in the train file: delete it, or split again with --test",
            err=True,
        )
