"""The monitor's child process: it follows a run, sends batches, stops when its parent closes the
pipe (or dies), and says why when it cannot follow."""

from __future__ import annotations

import time
from pathlib import Path

from ftui.core.runs.events import EventWriter
from ftui.services.monitor import MonitorBatch
from ftui.services.monitor_process import ProcessMonitor
from ftui.services.store import RunStore


def wait_for(condition, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_it_follows_a_run_to_its_end_and_merges_what_came_between_drains(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "ftui.db", tmp_path / "runs")
    run = store.create_run(backend="local", base_model="tiny", config={})
    with EventWriter(run.events_path) as writer:
        writer.status("running")
    store.ingest_events(run.id)
    monitor = ProcessMonitor(store, run.id, history_from=0, events_path=run.events_path)
    monitor.start()
    try:
        with EventWriter(run.events_path) as writer:
            for step in range(1, 201):
                writer.metric(step, {"train_loss": 1.0 / step}, max_steps=200)
                writer.log(f"line {step}")
            writer.status("succeeded")
        wait_for(lambda: monitor.finished)
        batch = monitor.drain()
        assert isinstance(batch, MonitorBatch) and batch.finished
        assert [step for step, _ in batch.metrics["train_loss"]] == list(range(1, 201))
        assert [line.text.split("  ", 1)[1] for line in batch.event_lines][-2:] == [
            "info    line 200",
            "status  -> succeeded",
        ]
        assert batch.state.status == "succeeded" and batch.progress.step == 200
        assert monitor.error is None
    finally:
        monitor.stop()
    assert store.get_run(run.id).last_step == 200  # the child indexed what it read
    store.close()


def test_it_stops_when_the_pipe_closes(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "ftui.db", tmp_path / "runs")
    run = store.create_run(backend="local", base_model="tiny", config={})
    with EventWriter(run.events_path) as writer:
        writer.status("running")
    monitor = ProcessMonitor(store, run.id, history_from=0, events_path=run.events_path)
    monitor.start()
    wait_for(lambda: monitor.drain() is not None)  # it follows
    process = monitor._process
    assert process is not None and process.poll() is None
    started = time.monotonic()
    monitor.stop(timeout=5)
    assert process.returncode == 0 and time.monotonic() - started < 3
    store.close()


def test_a_run_it_cannot_follow_is_an_error_with_the_reason(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "ftui.db", tmp_path / "runs")
    run = store.create_run(backend="local", base_model="tiny", config={})
    monitor = ProcessMonitor(store, "no-such-run", history_from=0, events_path=run.events_path)
    monitor.start()
    wait_for(lambda: monitor.finished)
    assert monitor.error is not None and "no-such-run" in str(monitor.error)
    store.close()
