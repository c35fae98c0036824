"""Reopening ftui picks every local run back up: one whose process died is marked failed."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
from typing import Any

import orjson

from ftui.config import Config
from ftui.core.runs.events import RunStatus
from ftui.services.launcher import PROCESS_FILE, ProcessRecord, process_start_time
from ftui.services.store import RunStore
from ftui.tui.screens.workbench import WorkbenchScreen
from tests.tui.conftest import SIZE, settle


async def test_starting_the_app_marks_a_dead_local_run_failed(
    app_factory: Any, config: Config, monkeypatch: Any
) -> None:
    monkeypatch.setattr(WorkbenchScreen, "REATTACH_DELAY_S", 0.01)
    store = RunStore.from_config(config)
    run = store.create_run(backend="local", base_model="tiny", config={"max_steps": 10})
    store.update_run(run.id, status=RunStatus.RUNNING)
    (run.run_dir / "train.log").write_text("step 3/10\nKilled\n")
    # The trainer was launched and has since died without writing a final status.
    trainer = subprocess.Popen(["sleep", "0"])
    start_time = process_start_time(trainer.pid)
    trainer.wait()
    record = ProcessRecord(trainer.pid, start_time, socket.gethostname(), ["python", "-m", "x"])
    (run.run_dir / PROCESS_FILE).write_bytes(orjson.dumps(dataclasses.asdict(record)))

    app = app_factory()
    store = RunStore.from_config(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # The reattach runs from a start-up timer: wait (bounded) for its verdict.
        for _ in range(100):
            if store.get_run(run.id).status != RunStatus.RUNNING:
                break
            await pilot.pause(0.05)
        await settle(pilot)

    reloaded = store.get_run(run.id)
    assert reloaded.status == RunStatus.FAILED
    assert reloaded.error and "Killed" in reloaded.error
