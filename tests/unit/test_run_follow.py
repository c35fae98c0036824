"""The one follow path and liveness, on a real store and real processes killed with SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ftui.cli import cli
from ftui.core.runs.events import EventWriter, RunStatus
from ftui.core.runs.kinds import LogEvent, MetricEvent, StatusEvent
from ftui.services import launcher, liveness
from ftui.services.eventlog import read_events
from ftui.services.follow import RunUpdate, follow_run
from ftui.services.store import Run, RunStore

# What a training process says before the OOM killer takes it.
LAST_WORDS = "echo 'step 3/10 loss 2.1'; echo 'CUDA out of memory. Tried to allocate 2 GiB'"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> Iterator[RunStore]:
    store = RunStore(home / "ftui.db", home / "runs")
    yield store
    store.close()


def running_run(store: RunStore, *, backend: str = "local") -> Run:
    run = store.create_run(backend=backend, base_model="tiny-llama", config={"max_steps": 10})
    with EventWriter(run.events_path) as writer:
        writer.status("running")
        writer.metric(3, {"train_loss": 2.1}, max_steps=10)
    store.ingest_events(run.id)
    return store.get_run(run.id)


def launch_sleeper(run: Run) -> launcher.ProcessRecord:
    """A process registered exactly as the launcher registers a trainer: process.json, train.log."""
    record = launcher.launch(run.run_dir, argv=["sh", "-c", f"{LAST_WORDS}; exec sleep 60"])
    deadline = time.monotonic() + 10
    while "out of memory" not in (run.run_dir / launcher.LOG_FILE).read_text():
        assert time.monotonic() < deadline, "the process never wrote its last words"
        time.sleep(0.02)
    return record


def kill_9(record: launcher.ProcessRecord) -> None:
    os.kill(record.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while launcher.pid_alive(record):  # reaps it: it is our child
        assert time.monotonic() < deadline, "SIGKILL did not end the process"
        time.sleep(0.02)


@pytest.fixture
def killed_run(store: RunStore) -> Iterator[Run]:
    run = running_run(store)
    kill_9(launch_sleeper(run))
    yield run


@pytest.fixture
def live_run(store: RunStore) -> Iterator[Run]:
    run = running_run(store)
    launch_sleeper(run)
    yield run
    asyncio.run(launcher.stop(run.run_dir, grace_s=5))


def collect(
    store: RunStore, run_id: str, timeout: float = 20, **options: object
) -> list[RunUpdate]:
    async def follow() -> list[RunUpdate]:
        return [update async for update in follow_run(store, run_id, **options)]  # type: ignore[arg-type]

    return asyncio.run(asyncio.wait_for(follow(), timeout))


def assert_recorded_failed(store: RunStore, run: Run) -> None:
    failed = store.get_run(run.id)
    assert failed.status == RunStatus.FAILED and failed.finished_at is not None
    assert failed.error is not None and "died without reporting" in failed.error
    assert "CUDA out of memory" in failed.error
    records, _ = read_events(run.events_path)
    last_words, status = records[-2], records[-1]
    assert last_words["type"] == "log" and last_words["level"] == "error"
    assert last_words["message"].endswith(
        "step 3/10 loss 2.1\nCUDA out of memory. Tried to allocate 2 GiB"
    )
    assert status["type"] == "status" and status["status"] == "failed"
    assert sum(1 for r in records if r.get("status") == "failed") == 1  # recorded once


def run_cli(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), "runs", *args])
    return result.exit_code, result.stdout


# -- the follow path ------------------------------------------------------------------------------


def test_follow_yields_new_events_with_the_folded_state_and_ends_on_a_terminal_status(
    store: RunStore,
) -> None:
    run = running_run(store)

    def train() -> None:
        with EventWriter(run.events_path) as writer:
            for step in range(4, 11):
                time.sleep(0.02)
                writer.metric(step, {"train_loss": 2.0 - step / 10}, max_steps=10)
            writer.log("saved the adapter")
            writer.status("succeeded")

    trainer = threading.Thread(target=train)

    async def follow() -> list[RunUpdate]:
        updates = []
        async for update in follow_run(store, run.id, poll_interval=0.02):
            updates.append(update)
            if len(updates) == 1:
                trainer.start()  # the run goes on once the follower stands where the store does
        return updates

    updates = asyncio.run(asyncio.wait_for(follow(), 20))
    trainer.join()
    first, last = updates[0], updates[-1]
    assert first.events == () and first.state.status == "running" and first.state.step == 3
    events = [event for update in updates for event in update.events]
    assert [e.step for e in events if isinstance(e, MetricEvent)] == list(range(4, 11))
    assert isinstance(events[-2], LogEvent) and isinstance(events[-1], StatusEvent)
    assert last.finished and last.state.status == "succeeded" and last.state.step == 10
    assert last.state.log_tail[-1] == "saved the adapter"
    assert last.state.best_metrics["train_loss"].step == 10
    indexed = store.get_run(run.id)  # the follow path indexed what it read
    assert indexed.status == "succeeded" and indexed.final_metrics["train_loss"] == pytest.approx(
        1.0
    )


def test_follow_on_a_finished_run_replays_its_history_once_and_ends(store: RunStore) -> None:
    run = running_run(store)
    store.update_run(run.id, status="succeeded")
    (update,) = collect(store, run.id, history_from=0)
    assert [event.type for event in update.events] == ["status", "status", "metric", "status"]
    assert update.finished and update.state.status == "succeeded"


def test_follow_notices_a_killed_process_and_ends_failed_with_its_last_lines(
    store: RunStore, killed_run: Run
) -> None:
    updates = collect(store, killed_run.id, poll_interval=0.02)
    assert updates[-1].finished and updates[-1].state.status == "failed"
    assert "CUDA out of memory" in (updates[-1].state.error or "")
    assert updates[-1].state.log_tail[-1] == "CUDA out of memory. Tried to allocate 2 GiB"
    assert_recorded_failed(store, killed_run)


def test_a_live_process_is_left_running(store: RunStore, live_run: Run) -> None:
    assert liveness.check_run(store, live_run).status == "running"
    assert liveness.check_active_runs(store) == []
    assert store.get_run(live_run.id).status == "running"


def test_a_run_without_a_process_record_is_not_judged(store: RunStore) -> None:
    run = running_run(store)  # never launched here (or launched by another host's ftui)
    assert liveness.check_run(store, run).status == "running"


def test_a_final_status_written_just_before_death_wins(store: RunStore) -> None:
    run = running_run(store)
    record = launch_sleeper(run)
    with EventWriter(run.events_path) as writer:
        writer.status("succeeded")  # its last words, not yet indexed
    kill_9(record)
    assert liveness.check_run(store, run).status == "succeeded"
    assert store.get_run(run.id).error is None


def test_liveness_is_pluggable_per_backend(store: RunStore) -> None:
    run = running_run(store, backend="openai")
    assert liveness.check_run(store, run).status == "running"  # no check for openai runs yet
    remote_gone = {"openai": lambda run: liveness.ProcessGone(("job vanished upstream",))}
    updates = collect(store, run.id, poll_interval=0.02, checks=remote_gone)
    assert updates[-1].state.status == "failed"
    assert "job vanished upstream" in (store.get_run(run.id).error or "")


# -- every reader of the history ------------------------------------------------------------------


def test_runs_list_json_reports_a_killed_run_failed(
    store: RunStore, home: Path, killed_run: Run
) -> None:
    code, out = run_cli(home, "list", "--json")
    assert code == 0
    (listed,) = json.loads(out)
    assert listed["status"] == "failed" and "CUDA out of memory" in listed["error"]
    assert_recorded_failed(store, killed_run)
    assert json.loads(run_cli(home, "list", "--json")[1])[0]["status"] == "failed"  # once only
    assert_recorded_failed(store, killed_run)


def test_a_script_polling_runs_list_for_a_final_status_terminates(
    store: RunStore, home: Path
) -> None:
    run = running_run(store)
    record = launch_sleeper(run)
    statuses = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        (listed,) = json.loads(run_cli(home, "list", "--json")[1])
        statuses.append(listed["status"])
        if listed["status"] in ("succeeded", "failed", "cancelled"):
            break
        if len(statuses) == 2:
            kill_9(record)  # the OOM killer, half way through the script's wait
    assert statuses[:2] == ["running", "running"] and statuses[-1] == "failed"


def test_runs_show_reports_a_killed_run_failed(
    store: RunStore, home: Path, killed_run: Run
) -> None:
    code, out = run_cli(home, "show", killed_run.id, "--json")
    assert code == 0 and json.loads(out)["status"] == "failed"
    assert_recorded_failed(store, killed_run)
    code, out = run_cli(home, "show", killed_run.id)
    assert code == 0 and f"Run {killed_run.id}  [failed]" in out and "died without reporting" in out


def test_runs_watch_returns_when_the_process_is_killed(
    store: RunStore, home: Path, live_run: Run
) -> None:
    record = launcher.read_process(live_run.run_dir)
    assert record is not None
    killer = threading.Timer(0.5, kill_9, args=(record,))
    killer.start()
    code, out = run_cli(home, "watch", live_run.id, "--interval", "0.05")
    killer.join()
    assert code == 1
    assert "Last lines of train.log:" in out and "-> failed: The training process died" in out
    assert out.rstrip().endswith(f"Run {live_run.id} failed.")
    assert_recorded_failed(store, live_run)
