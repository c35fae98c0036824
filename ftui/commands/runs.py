"""`ftui runs`: the run history from the terminal (list, show, watch, export, rm, archive).

Every command first indexes what the runs' event logs gained since the last look, so a run
started by another process shows its current state. Ids may be given as unique prefixes.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ftui.config import Config
from ftui.core.runs.kinds import AlertEvent, MetricEvent, RunEvent

if TYPE_CHECKING:
    from ftui.core.runs.state import RunState
    from ftui.services.store import Run, RunStore


class RunLookupError(click.ClickException):
    """An id that names no run, or several: exit status 2, like other usage errors."""

    exit_code = 2


@contextmanager
def open_store(ctx: click.Context) -> Iterator[RunStore]:
    from ftui.services.store import RunStore, StoreError
    from ftui.services.store.schema import SchemaTooNew

    config: Config = ctx.obj if isinstance(ctx.obj, Config) else Config()
    store = RunStore.from_config(config)
    try:
        yield store
    except (StoreError, SchemaTooNew) as error:
        raise click.ClickException(str(error)) from None
    except sqlite3.DatabaseError as error:
        raise click.ClickException(
            f"the run history {store.path} cannot be read ({error}); move it aside to start "
            "a new one, or point --home elsewhere"
        ) from None
    finally:
        store.close()


def resolve(store: RunStore, run_id: str) -> str:
    from ftui.services.store import AmbiguousRunId, RunNotFound

    try:
        return store.resolve_run_id(run_id)
    except (RunNotFound, AmbiguousRunId) as error:
        raise RunLookupError(str(error)) from None


def echo_json(data: Any) -> None:
    import orjson

    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def format_time(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


@click.group("runs")
def runs_group() -> None:
    """The run history: every fine-tuning run, local or OpenAI."""


@runs_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@click.option("--status", "-s", multiple=True, help="Only runs in this status (repeatable).")
@click.option("--backend", "-b", type=click.Choice(["openai", "local"]), help="Only this backend.")
@click.option("--base-model", "-m", help="Only base models containing this text.")
@click.option("--dataset", "-d", help="Only datasets whose path contains this text.")
@click.option("--all", "include_archived", is_flag=True, help="Include archived runs.")
@click.option("--limit", "-n", type=click.IntRange(min=1), help="At most this many (newest first).")
@click.pass_context
def list_command(
    ctx: click.Context,
    as_json: bool,
    status: tuple[str, ...],
    backend: str | None,
    base_model: str | None,
    dataset: str | None,
    include_archived: bool,
    limit: int | None,
) -> None:
    """List runs, newest first."""
    from ftui.services.liveness import check_active_runs

    with open_store(ctx) as store:
        store.ingest_all(only_active=True)
        check_active_runs(store)  # a run whose process is gone is listed failed, not running
        runs = store.list_runs(
            status=list(status) or None,
            backend=backend,
            base_model=base_model,
            dataset=dataset,
            include_archived=include_archived,
            limit=limit,
        )
        if as_json:
            echo_json([run.to_json_dict() for run in runs])
            return
        if not runs:
            filtered = any((status, backend, base_model, dataset))
            click.echo("No runs match these filters." if filtered else "No runs yet.")
            return
        click.echo(render_table(runs))


def render_table(runs: list[Run]) -> str:
    from ftui.services.runs import NUMERIC_COLUMNS, ROW_HEADERS, run_row

    columns = [*ROW_HEADERS, "created"]
    headers = {**ROW_HEADERS, "created": "CREATED"}
    rows = [{**run_row(run), "created": format_time(run.created_at)} for run in runs]
    widths = {c: max(len(headers[c]), *(len(row[c]) for row in rows)) for c in columns}

    def cells(values: dict[str, str]) -> str:
        parts = [
            values[c].rjust(widths[c]) if c in NUMERIC_COLUMNS else values[c].ljust(widths[c])
            for c in columns
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([cells(headers), *(cells(row) for row in rows)])


@runs_group.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@click.pass_context
def show_command(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """Show one run: config, dataset, metrics, events and artifacts."""
    from ftui.services.liveness import check_run

    with open_store(ctx) as store:
        full_id = resolve(store, run_id)
        store.ingest_events(full_id)
        run = check_run(store, store.get_run(full_id))
        if as_json:
            alerts = [
                {
                    "kind": alert.kind,
                    "message": alert.message,
                    "steps": list(alert.steps),
                    "advice": alert.advice,
                    "ts": alert.ts,
                }
                for alert in run_alerts(store, run.id)
            ]
            echo_json({**run.to_json_dict(), "alerts": alerts})
            return
        click.echo(describe_run(store, run))


def run_alerts(store: RunStore, run_id: str) -> list[AlertEvent]:
    """The alerts the run's log holds, oldest first (from the store's index of its events)."""
    from ftui.core.runs.events import parse_event

    events = (parse_event(record) for record in store.events(run_id, types=("alert",)))
    return [event for event in events if isinstance(event, AlertEvent)]


def describe_run(store: RunStore, run: Run) -> str:
    from ftui.services.runs import format_cost, format_duration, format_metric, run_epochs

    lines = [
        f"Run {run.id}  [{run.status}]" + ("  (archived)" if run.archived else ""),
        f"  backend      {run.backend}",
        f"  base model   {run.base_model}",
        f"  created      {format_time(run.created_at)}",
        f"  finished     {format_time(run.finished_at)}",
        f"  duration     {format_duration(run.duration())}",
        f"  cost         {format_cost(run.cost_usd)}",
    ]
    if run.output_model:
        lines.append(f"  output model {run.output_model}")
    if run.adapter_path:
        lines.append(f"  adapter      {run.adapter_path}")
    if run.error:
        lines.append(f"  error        {run.error}")
    lines.append(f"  directory    {run.run_dir}")
    for label, record in (("dataset", run.dataset), ("validation", run.validation_dataset)):
        if record is None:
            continue
        lines.append(f"  {label:<12} {record.path} ({record.facts()})")
    state = store.dataset_state(run.id)
    if state == "changed":
        lines.append("  ! the dataset file changed since this run used it (sha256 differs)")
    elif state == "missing":
        lines.append("  ! the dataset file is gone")
    lines.append("Config")
    lines.extend(f"  {key} = {value!r}" for key, value in sorted(run.config.items()))
    if run.final_metrics:
        progress = f"step {run.last_step}" + (f"/{run.max_steps}" if run.max_steps else "")
        epochs = run_epochs(run)
        if epochs is not None:
            progress += f", {epochs:g} epoch{'' if epochs == 1 else 's'}"
        lines.append(f"Final metrics ({progress})")
        lines.extend(
            f"  {name:<26} {format_metric(value)}"
            for name, value in sorted(run.final_metrics.items())
        )
    alerts = run_alerts(store, run.id)
    if alerts:
        lines.append("Alerts")
        lines.extend(f"  {format_time(alert.ts)}  {alert_line(alert)}" for alert in alerts)
    artifacts = store.artifacts(run.id)
    if artifacts:
        lines.append("Artifacts")
        lines.extend(f"  {artifact_line(run.run_dir, event)}" for event in artifacts)
    recent = store.events(run.id, types=("log", "status"), limit=10)
    if recent:
        lines.append("Latest events")
        lines.extend(f"  {describe_record(event)}" for event in recent)
    return "\n".join(lines)


def artifact_line(run_dir: Path, record: dict[str, Any]) -> str:
    """An artifact's line, saying so when a local checkpoint is no longer on disk (the trainer
    keeps only the newest `save_total_limit`), so nobody reaches for one that is gone."""
    from ftui.services.runs import checkpoint_removed

    line = describe_record(record)
    if checkpoint_removed(record, run_dir):
        line += "  (removed: only the newest checkpoints are kept)"
    return line


def describe_record(record: dict[str, Any]) -> str:
    """One stored event (a line as written) as one readable line."""
    from ftui.core.runs.describe import describe_event
    from ftui.core.runs.events import parse_event

    return describe_event(parse_event(record))


@runs_group.command("watch")
@click.argument("run_id")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=0.5,
    show_default=True,
    help="Seconds between checks of the event log.",
)
@click.option(
    "--history",
    "-n",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="How many past events to print first.",
)
@click.option("--all", "from_start", is_flag=True, help="Print the whole log first.")
@click.pass_context
def watch_command(
    ctx: click.Context, run_id: str, interval: float, history: int, from_start: bool
) -> None:
    """Follow a run's events until it finishes (Ctrl-C stops watching, not the run).

    Metrics show as one progress line (step, losses, ETA), at most once a second; alerts are
    marked with "!". Exits 0 when the run succeeds, 1 when it fails or is cancelled.
    """
    from ftui.core.runs.events import RunStatus
    from ftui.services.eventlog import offset_of_last_lines

    with open_store(ctx) as store:
        full_id = resolve(store, run_id)
        store.ingest_events(full_id)
        run = store.get_run(full_id)
        click.echo(f"Watching run {run.id} ({run.backend}, {run.base_model}) [{run.status}]")
        start = 0 if from_start else offset_of_last_lines(run.events_path, history)
        try:
            status = follow_and_print(store, full_id, history_from=start, interval=interval)
        except KeyboardInterrupt:
            click.echo("\nStopped watching; the run goes on.", err=True)
            sys.exit(130)
        click.echo(f"Run {full_id} {status}.")
        if status != RunStatus.SUCCEEDED:
            sys.exit(1)


PROGRESS_EVERY_S = 1.0  # at most one progress line a second while metrics flood in


def alert_line(alert: AlertEvent) -> str:
    """An alert, made to stand out among the log lines: "! alert overfitting: ... — try: ..."."""
    text = f"! alert {alert.kind}: {alert.message}"
    if alert.steps:
        first, last = min(alert.steps), max(alert.steps)
        text += f" (step {first})" if first == last else f" (steps {first}-{last})"
    return text + (f" — try: {alert.advice}" if alert.advice else "")


class WatchPrinter:
    """What `ftui runs watch` prints of each update: every event but metrics as one line (alerts
    standing out), and for metrics one progress line (step, losses, ETA) at most every
    `every_s` seconds, the latest always printed at the end, however fast they come."""

    def __init__(
        self,
        echo: Callable[[str], None],
        *,
        every_s: float = PROGRESS_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from ftui.core.runs.progress import ProgressTracker

        self.echo = echo
        self.every_s = every_s
        self.clock = clock
        self.tracker = ProgressTracker()
        self._pending: tuple[RunState, float | None] | None = None  # a line not printed yet
        self._printed_at: float | None = None

    def update(self, events: Iterable[RunEvent], state: RunState) -> None:
        from ftui.core.runs.describe import describe_event

        metric_ts = None
        for event in events:
            if isinstance(event, MetricEvent):
                metric_ts = event.ts
            elif isinstance(event, AlertEvent):
                self.echo(f"{_clock(event.ts)}  {alert_line(event)}")
            else:
                self.echo(describe_event(event))
        self.tracker.feed(events)
        if metric_ts is not None:
            self._pending = (state, metric_ts)
        now = self.clock()
        due = self._printed_at is None or now - self._printed_at >= self.every_s
        if self._pending is not None and (due or state.is_terminal):
            self.flush()

    def flush(self) -> None:
        """Print the progress line still held back, if any."""
        from ftui.core.runs.progress import progress_line

        if self._pending is None:
            return
        state, ts = self._pending
        self._pending = None
        self._printed_at = self.clock()
        progress = self.tracker.snapshot(state, now=time.time())
        self.echo(f"{_clock(ts)}  {progress_line(progress, state)}")


def _clock(ts: float | None) -> str:
    from ftui.core.runs.describe import TIME_ONLY

    return datetime.fromtimestamp(ts).strftime(TIME_ONLY) if ts is not None else "-"


def follow_and_print(
    store: RunStore,
    run_id: str,
    *,
    history_from: int | None,
    interval: float = 0.5,
    quiet: bool = False,
    progress_every_s: float = PROGRESS_EVERY_S,
) -> str:
    """Print a run's events (from `history_from`) until it ends; returns its final status.
    Metrics become a throttled progress line (see `WatchPrinter`). A run whose process died is
    recorded failed on the way (see services.follow)."""
    import asyncio

    from ftui.services.follow import follow_run

    printer = WatchPrinter(click.echo, every_s=progress_every_s)

    async def follow() -> str:
        status = ""
        try:
            async for update in follow_run(
                store, run_id, history_from=history_from, poll_interval=interval
            ):
                if not quiet:
                    printer.update(update.events, update.state)
                status = update.state.status
        finally:
            if not quiet:
                printer.flush()
        return status

    return asyncio.run(follow())


@runs_group.command("export")
@click.argument("run_id")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (atomically) instead of printing.",
)
@click.pass_context
def export_command(ctx: click.Context, run_id: str, output: Path | None) -> None:
    """Export a run (record, metric series, events) as JSON."""
    import orjson

    from ftui.core.dataset.atomic import atomic_write_bytes

    with open_store(ctx) as store:
        data = store.export_run(resolve(store, run_id))
    if output is None:
        echo_json(data)
        return
    atomic_write_bytes(output, orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    click.echo(f"Exported run {data['run']['id']} to {output}", err=True)


@runs_group.command("rm")
@click.argument("run_ids", nargs=-1, required=True, metavar="ID...")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--keep-files", is_flag=True, help="Forget the runs but keep their directories.")
@click.option("--force", is_flag=True, help="Also delete runs that are still running.")
@click.pass_context
def rm_command(
    ctx: click.Context, run_ids: tuple[str, ...], yes: bool, keep_files: bool, force: bool
) -> None:
    """Delete runs from the history, with their directories."""
    with open_store(ctx) as store:
        resolved = [resolve(store, run_id) for run_id in run_ids]
        runs = [store.get_run(run_id) for run_id in resolved]
        if not yes:
            # With no terminal to answer, confirm() reads EOF and aborts: scripts must pass --yes.
            names = ", ".join(f"{run.id} ({run.base_model}, {run.status})" for run in runs)
            what = "" if keep_files else " and their directories"
            click.confirm(f"Delete {names}{what}?", abort=True)
        for run in runs:
            store.delete_run(run.id, remove_files=not keep_files, force=force)
            click.echo(f"Deleted run {run.id}")


@runs_group.command("archive")
@click.argument("run_ids", nargs=-1, required=True, metavar="ID...")
@click.option("--undo", is_flag=True, help="Bring archived runs back.")
@click.pass_context
def archive_command(ctx: click.Context, run_ids: tuple[str, ...], undo: bool) -> None:
    """Hide runs from the default list (`ftui runs list --all` still shows them)."""
    with open_store(ctx) as store:
        for run_id in run_ids:
            run = store.archive_run(resolve(store, run_id), archived=not undo)
            click.echo(f"{'Unarchived' if undo else 'Archived'} run {run.id}")
