"""Noticing a run whose process is gone without a final status, and recording it failed.

Every reader of the history (`ftui runs list/show/watch`, `--wait`, the run page, the app on
start) asks here, so a training process killed with `kill -9` or by the OOM killer never stays
`running`: the run becomes failed with the last lines its process wrote, in its `events.jsonl`
(a `process_died` alert, a log event, then a status event) and so in the store.

Each backend kind has its own check (a `LivenessCheck`: the run -> `ProcessGone`, or None while it
is alive or cannot be told from here). The local one reads the launcher's `process.json`; a remote
backend plugs its own in `CHECKS` (or passes it to `check_run`).

An OpenAI run is never judged gone: its job runs on OpenAI whatever happens here. Its check starts
the run's follower again when it has none (`openai_follower_missing`), with the settings in
effect (the key from the environment or the settings file), and always answers "alive".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ftui.core.runs.alerts import process_died_alert
from ftui.core.runs.events import TERMINAL_STATUSES, EventWriter, RunStatus
from ftui.services import launcher
from ftui.services.store import Run, RunStore

# As many lines of train.log as the failure keeps; the error message quotes the last three.
LAST_LINES = 15


@dataclass(frozen=True)
class ProcessGone:
    """A run's process ended without writing a final status; what it said last."""

    last_lines: tuple[str, ...]


LivenessCheck = Callable[[Run], ProcessGone | None]


def local_process_gone(run: Run) -> ProcessGone | None:
    """The local check: the process recorded by the launcher is no longer running here. A run
    with no process record (not launched yet) or one started on another host is not judged."""
    record = launcher.read_process(run.run_dir)
    if record is None or not record.local or launcher.pid_alive(record):
        return None
    return ProcessGone(tuple(launcher.last_log_lines(run.run_dir, LAST_LINES)))


def openai_follower_missing(run: Run) -> ProcessGone | None:
    """The OpenAI check: start a follower for the run if none is following it; never gone."""
    from ftui.config import SettingsError, load_config
    from ftui.services.backends.openai_follower import ensure_follower, is_following

    if is_following(run.run_dir):
        return None
    try:
        settings = load_config().openai
    except SettingsError:
        return None
    ensure_follower(run.run_dir, run.remote_job_id, settings)
    return None


CHECKS: Mapping[str, LivenessCheck] = {
    "local": local_process_gone,
    "openai": openai_follower_missing,
}


def record_process_gone(store: RunStore, run: Run, gone: ProcessGone) -> Run:
    """Record the run failed: a `process_died` alert (its last line, its last step, advice),
    its last log lines as an error log event, then a failed status whose error quotes the last
    three of them."""
    lines = list(gone.last_lines)
    with EventWriter(run.events_path) as writer:
        writer.write(process_died_alert(lines, run.last_step, ts=time.time()))
        if lines:
            writer.log("Last lines of train.log:\n" + "\n".join(lines), level="error")
    tail = " | ".join(lines[-3:]) if lines else "train.log is empty"
    return store.update_run(
        run.id,
        status=RunStatus.FAILED,
        error="The training process died without reporting (killed, or out of memory). "
        f"Last log lines: {tail}",
    )


def check_run(store: RunStore, run: Run, checks: Mapping[str, LivenessCheck] = CHECKS) -> Run:
    """The run as it stands, after recording it failed if its process is gone."""
    check = checks.get(run.backend)
    if run.is_terminal or check is None:
        return run
    gone = check(run)
    if gone is None:
        return run
    # Read the log after the check: a process that just finished has written its final status
    # by the time it is seen gone, and that status wins.
    store.ingest_events(run.id)
    run = store.get_run(run.id)
    if run.is_terminal:
        return run
    return record_process_gone(store, run, gone)


def check_active_runs(store: RunStore, checks: Mapping[str, LivenessCheck] = CHECKS) -> list[Run]:
    """Check every unfinished run of a backend with a check; returns those found gone."""
    unfinished = [status.value for status in RunStatus if status not in TERMINAL_STATUSES]
    gone = []
    for run in store.list_runs(status=unfinished, include_archived=True):
        if run.backend not in checks:
            continue
        checked = check_run(store, run, checks)
        if checked.status == RunStatus.FAILED and checked.status != run.status:
            gone.append(checked)
    return gone
