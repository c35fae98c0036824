"""What the Runs list and a run's page both do to runs, shared by the two.

Delete, archive and export are asked in a modal and done in a thread worker. Cancel, pause,
resume and checkpoint (`RUN_CONTROL_COMMANDS`, declared here once for both; checkpoint only on a
run's page) go to the backend that owns the run,
in an async worker, and are offered only when that backend's `capabilities` allow them and the
run's status makes sense (`can_control`). Failures are reported with a notification naming the
run and the backend's reason, never a traceback, and never the API key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.dom import DOMNode

from ftui.core.runs.events import RunStatus
from ftui.services.store import Run, RunStore
from ftui.tui.keymap import command
from ftui.tui.screens.confirm import CANCEL, KEEP_RUNNING, Choice, ConfirmScreen
from ftui.tui.screens.prompt import PromptScreen

if TYPE_CHECKING:
    from ftui.services.backends.base import Capabilities
    from ftui.services.root import Services

ACTION_GROUP = "run-action"
CONTROL_GROUP = "run-control"
CONTROLS = ("cancel", "pause", "resume", "checkpoint")
# The capability each control needs (see backends.base.Capabilities).
CONTROL_CAPABILITIES = {
    "cancel": "cancel",
    "pause": "pause",
    "resume": "resume",
    "checkpoint": "checkpoint_now",
}
# What a cancel does, per backend, in the question before it.
CANCEL_NOTES = {
    "local": "It saves a checkpoint at the end of the current step and stops; it can be resumed "
    "later.",
    "openai": "OpenAI stops the job and bills the tokens trained so far; it cannot be resumed.",
}
# A run a backend resumes from its checkpoint (one that cannot pause): one that stopped early.
STOPPED = frozenset({RunStatus.FAILED, RunStatus.CANCELLED})

# On the Runs list and on a run's page alike: the run under the cursor, or the one shown.
RUN_CONTROL_COMMANDS: list[Binding] = [
    command(
        "x",
        "control('cancel')",
        "Cancel run",
        "Stop the run (asks first): a local run checkpoints and stops, an OpenAI job is cancelled.",
        show=True,
    ),
    command(
        "p",
        "control('pause')",
        "Pause",
        "Hold a running job (R resumes it), for backends that can pause, such as OpenAI.",
        show=True,
    ),
    command(
        "R",
        "control('resume')",
        "Resume",
        "Continue a paused job, or a stopped local run from its last checkpoint.",
        show=True,
    ),
]
# Only on a run's page, where what it saved shows at once.
CHECKPOINT_COMMAND = command(
    "k",
    "control('checkpoint')",
    "Checkpoint",
    "Ask a running local run to save a checkpoint at the end of its current step and go on.",
    show=True,
)


def can_control(run: Run, capabilities: Capabilities | None, action: str) -> bool:
    """Whether `action` (cancel, pause or resume) is worth offering on `run`: its backend can do
    it, and the run is in a state where it means something."""
    if capabilities is None or action not in CONTROLS:
        return False
    if not getattr(capabilities, CONTROL_CAPABILITIES[action]):
        return False
    if action == "cancel":
        return not run.is_terminal
    if action in ("pause", "checkpoint"):
        return run.status == RunStatus.RUNNING
    if capabilities.pause:  # a backend that pauses resumes what it paused
        return run.status == RunStatus.PAUSED
    return run.status in STOPPED  # one that resumes from a checkpoint: a stopped run


def control_run(
    host: DOMNode,
    services: Services,
    run: Run,
    action: str,
    *,
    on_done: Callable[[], None],
) -> None:
    """Cancel (after asking), pause or resume `run` through its backend; `on_done` afterwards,
    whether it worked or not (the run is read again either way)."""
    if action not in CONTROLS:
        raise ValueError(f"not a run control: {action!r}")

    app = host.app
    secret = services.config.openai.api_key

    async def act() -> None:
        try:
            # The first use of a backend imports its module: not on the event loop.
            backend = await asyncio.to_thread(services.backend_for, run)
            label = backend.capabilities.label
            if not getattr(backend.capabilities, CONTROL_CAPABILITIES[action]):
                app.notify(f"{label} runs cannot {action}.", title="Runs", severity="warning")
                return
            if action == "cancel":
                app.notify(f"Stopping run {run.id}…", title="Runs")
                done = await backend.cancel(run.id)
                message = f"Run {run.id} {done.status}."
            elif action == "pause":
                done = await backend.pause(run.id)
                message = f"Run {run.id} {done.status}; R resumes it."
            elif action == "checkpoint":
                await backend.checkpoint_now(run.id)
                message = f"Run {run.id} saves a checkpoint at the end of this step."
            else:
                done = await backend.resume(run.id)
                message = f"Run {run.id} resumed ({done.status})."
            app.notify(message, title="Runs", markup=False)
        except Exception as exc:  # the backend's reason, never a traceback, never the key
            from ftui.services.backends.openai_client import scrub

            app.notify(
                scrub(str(exc) or type(exc).__name__, secret),
                title=f"Run {run.id}: not {action_done(action)}",
                severity="error",
                markup=False,  # "[openai]" and file names are text, not markup
            )
        finally:
            on_done()

    def start() -> None:
        host.run_worker(act(), group=CONTROL_GROUP, exit_on_error=False)

    if action != "cancel":
        start()
        return

    def answered(choice: str | None) -> None:
        if choice == "cancel-run":
            start()

    host.app.push_screen(
        ConfirmScreen(
            f"Cancel run {run.id}?",
            f"{run.id} ({run.backend}, {run.base_model}, {run.status}). "
            + CANCEL_NOTES.get(run.backend, "It stops the run."),
            [Choice("y", "cancel-run", "Cancel the run", "error"), KEEP_RUNNING],
        ),
        answered,
    )


def action_done(action: str) -> str:
    return {
        "cancel": "cancelled",
        "pause": "paused",
        "resume": "resumed",
        "checkpoint": "checkpointed",
    }[action]


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
