"""The app builds one services root and hands it down: the Jobs and Runs sections use the app's
run history and backend, and the Jobs section cancels through the async backend on the event
loop (no thread of its own running an event loop of its own)."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.notifications import Notify
from textual.worker import Worker, WorkerState

from ftui.config import Config, UiSettings
from ftui.core.runs.events import RunStatus
from ftui.services import launcher
from ftui.services.backends.local import Capacity
from ftui.services.root import Services
from ftui.services.store import RunStore
from ftui.tui.app import make_app
from ftui.tui.screens.confirm import ConfirmScreen
from ftui.tui.screens.workbench import WorkbenchScreen
from ftui.tui.sections.jobs import JobsPane
from ftui.tui.sections.runs import RunsPane
from ftui.tui.widgets.jobs_table import JobsTable
from tests.tui.conftest import SIZE, Recorder, press, settle

CPU_ONLY = Capacity(gpus=[], ram_total=8 * 1024**3, ram_available=4 * 1024**3)


async def test_the_sections_use_the_apps_store_and_backend(
    config: Config, demo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(WorkbenchScreen, "REATTACH_DELAY_S", 0.01)
    opened: list[RunStore] = []
    original_init = RunStore.__init__

    def counting_init(self: RunStore, *args: Any, **kwargs: Any) -> None:
        opened.append(self)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(RunStore, "__init__", counting_init)
    app = make_app(config, demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "2")
        await settle(pilot)
        jobs = app.screen.query_one(JobsPane)
        await press(pilot, "3")
        await settle(pilot)
        runs = app.screen.query_one(RunsPane)
        # The start-up reattach has run through the same root.
        for _ in range(100):
            if not any(w.group == "reattach" for w in app.workers):
                break
            await pilot.pause(0.05)
        await settle(pilot)

        assert jobs.services is app.services
        assert jobs.store is app.services.store is runs.store
        assert jobs.backend is app.services.backend("local")
        assert opened == [app.services.store]  # one history for the whole app


class JobsApp(App[None]):
    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services

    def compose(self) -> ComposeResult:
        yield JobsPane(self.services, capacity=CPU_ONLY, refresh_interval=None, grace_s=30)


async def test_cancel_from_the_jobs_table_runs_on_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recorder: Recorder
) -> None:
    services = Services(Config(home=tmp_path / "home"))
    store = services.store
    run = store.create_run(backend="local", base_model="tiny", config={"max_steps": 10})
    store.update_run(run.id, status=RunStatus.RUNNING)
    launcher.launch(run.run_dir, argv=[sys.executable, "-c", "import time; time.sleep(60)"])

    stopped_on: list[threading.Thread] = []
    real_stop = launcher.stop

    async def watched_stop(run_dir: Path, grace_s: float = 120.0, poll_s: float = 0.2) -> str:
        stopped_on.append(threading.current_thread())
        return await real_stop(run_dir, grace_s, poll_s)

    monkeypatch.setattr(launcher, "stop", watched_stop)
    app = JobsApp(services)
    async with app.run_test(size=(160, 50), message_hook=recorder) as pilot:
        await settle(pilot)
        table = app.query_one(JobsTable)
        assert [r.id for r in table.runs] == [run.id]
        table.focus()
        await press(pilot, "c")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        await settle(pilot)
        assert table.runs[0].status == RunStatus.CANCELLED  # refreshed after the cancel

    assert stopped_on == [threading.main_thread()]
    assert store.get_run(run.id).status == RunStatus.CANCELLED
    assert not launcher.is_running(run.run_dir)
    failed = [m for m in recorder.of(Worker.StateChanged) if m.state == WorkerState.ERROR]
    assert failed == []
    services.close()


async def test_the_settings_theme_is_applied_and_an_unknown_one_is_said(
    tmp_path: Path, recorder: Recorder
) -> None:
    themed = make_app(Config(home=tmp_path, ui=UiSettings(theme="nord")))
    async with themed.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert themed.theme == "nord"

    unknown = make_app(Config(home=tmp_path, ui=UiSettings(theme="no-such-theme")))
    async with unknown.run_test(size=SIZE, message_hook=recorder) as pilot:
        await settle(pilot)
        assert unknown.theme == "textual-dark"
        notes = [m.notification.message for m in recorder.of(Notify)]
        assert any("no theme called 'no-such-theme' (ui.theme)" in n for n in notes)


async def test_a_slow_periodic_refresh_is_not_replaced_by_the_next_tick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = Services(Config(home=tmp_path / "home"))
    run = services.store.create_run(backend="local", base_model="tiny", config={})
    real_reattach = services.local.reattach
    started = 0

    async def slow_reattach() -> list[Any]:
        nonlocal started
        started += 1
        await asyncio.sleep(0.5)  # a busy machine: longer than the refresh interval
        return await real_reattach()

    monkeypatch.setattr(services.local, "reattach", slow_reattach)

    class Ticking(App[None]):
        def compose(self) -> ComposeResult:
            yield JobsPane(services, capacity=CPU_ONLY, refresh_interval=0.1)

    app = Ticking()
    async with app.run_test(size=(160, 50)) as pilot:
        table = app.query_one(JobsTable)
        for _ in range(60):
            if table.runs:
                break
            await pilot.pause(0.05)
        assert [r.id for r in table.runs] == [run.id]
        assert started <= 4  # ticks that found a refresh in flight started none
    services.close()
