"""Delete, archive and export: asked in a modal, done in a thread worker, shared by the Runs list
and a run's page. Failures are reported with a notification naming the run and the reason."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from textual.dom import DOMNode

from ftui.services.store import Run, RunStore
from ftui.tui.screens.confirm import CANCEL, Choice, ConfirmScreen
from ftui.tui.screens.prompt import PromptScreen

ACTION_GROUP = "run-action"


def _names(runs: Sequence[Run]) -> str:
    shown = ", ".join(f"{run.id} ({run.base_model}, {run.status})" for run in runs[:5])
    return shown + (f" and {len(runs) - 5} more" if len(runs) > 5 else "")


def confirm_delete(
    host: DOMNode, store: RunStore, runs: Sequence[Run], *, on_done: Callable[[], None]
) -> None:
    """Ask, then delete the runs and their directories; a running run is kept and reported."""
    if not runs:
        return
    running = [run for run in runs if run.status == "running"]
    body = f"Delete {_names(runs)} from the history, with their directories (logs, checkpoints)?"
    if running:
        body += f"\n{len(running)} still running: those are kept (cancel them first)."
    title = "Delete run" if len(runs) == 1 else f"Delete {len(runs)} runs"
    ids = [run.id for run in runs]

    def delete() -> None:
        failures = []
        for run_id in ids:
            try:
                store.delete_run(run_id)
            except Exception as error:  # reported, and the other runs still go
                failures.append(f"{run_id}: {error}")
        app = host.app
        if failures:
            app.call_from_thread(
                app.notify, "\n".join(failures), title="Not deleted", severity="warning"
            )
        deleted = len(ids) - len(failures)
        if deleted:
            app.call_from_thread(app.notify, f"Deleted {deleted} run(s)", title="Runs")
        app.call_from_thread(on_done)

    def answered(choice: str | None) -> None:
        if choice == "delete":
            host.run_worker(delete, thread=True, group=ACTION_GROUP, exit_on_error=False)

    host.app.push_screen(
        ConfirmScreen(title, body, [Choice("y", "delete", "Delete", "error"), CANCEL]), answered
    )


def confirm_archive(
    host: DOMNode, store: RunStore, runs: Sequence[Run], *, on_done: Callable[[], None]
) -> None:
    """Ask, then archive the runs (or restore them when they are all archived already)."""
    if not runs:
        return
    restore = all(run.archived for run in runs)
    verb = "Restore" if restore else "Archive"
    body = f"{verb} {_names(runs)}? " + (
        "They come back to the list."
        if restore
        else "Archived runs leave the list (A shows them) but keep their files."
    )
    ids = [run.id for run in runs]

    def archive() -> None:
        for run_id in ids:
            store.archive_run(run_id, archived=not restore)
        host.app.call_from_thread(on_done)

    def answered(choice: str | None) -> None:
        if choice == "archive":
            host.run_worker(archive, thread=True, group=ACTION_GROUP, exit_on_error=False)

    host.app.push_screen(
        ConfirmScreen(f"{verb} runs", body, [Choice("y", "archive", verb, "primary"), CANCEL]),
        answered,
    )


def check_export_path(text: str) -> str | None:
    if not text:
        return "type a file path"
    path = Path(text).expanduser()
    if path.is_dir():
        return f"{path} is a folder; name a file in it"
    if not path.parent.is_dir():
        return f"the folder {path.parent} does not exist"
    return None


def ask_export_path(host: DOMNode, store: RunStore, run_id: str) -> None:
    """Ask where to write the run's JSON export (default: ./ftui-run-<id>.json), then write it."""

    def export(path: Path) -> None:
        import orjson

        from ftui.core.dataset.atomic import atomic_write_bytes

        data = store.export_run(run_id)
        atomic_write_bytes(path, orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
        host.app.call_from_thread(host.app.notify, f"Exported run {run_id} to {path}", title="Runs")

    def answered(text: str | None) -> None:
        if text:
            path = Path(text).expanduser()
            host.run_worker(
                lambda: export(path), thread=True, group=ACTION_GROUP, exit_on_error=False
            )

    host.app.push_screen(
        PromptScreen(
            "Export run as JSON",
            "The run's record, every metric series and every event, in one JSON file.",
            value=str(Path.cwd() / f"ftui-run-{run_id}.json"),
            check=check_export_path,
        ),
        answered,
    )
