"""Cancel, pause and resume from the Runs list and a run's page, driven with Pilot against the test
OpenAI server: each goes to the backend that owns the run, the remote job follows, the keys are
offered only where the backend and the run's status allow, and a failure is a notification with
the backend's reason (never a traceback, never the key)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Static

from ftui.config import Config, OpenAISettings
from ftui.core.runs.events import EventWriter
from ftui.services.backends.base import Capabilities
from ftui.services.backends.openai_client import RetryPolicy
from ftui.services.backends.openai_follower import is_following
from ftui.services.root import Services
from ftui.services.store import Run
from ftui.tui.keymap import collect_commands
from ftui.tui.screens.confirm import ConfirmScreen
from ftui.tui.screens.run_page import RunScreen
from ftui.tui.sections.runs import RunsPane
from ftui.tui.sections.runs_actions import can_control
from ftui.tui.stylesheet import APP_CSS, HORIZONTAL_BREAKPOINTS, VERTICAL_BREAKPOINTS
from tests.tui.conftest import press, settle
from tests.unit.openai_support import backend_for, config_for, follower_for, job, write_chat

SIZE = (150, 40)
# validating_files and queued on the test server, with a margin: the job is running after this.
TO_RUNNING_S = 60 + 120 + 5


@pytest.fixture
def openai_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home, and an environment without a key: a liveness check (it reads the settings from
    there) starts no follower process. These tests poll the server themselves, and the app's
    backend starts none either (`no_followers`), so nothing outlives a test."""
    home = tmp_path / "home"
    monkeypatch.setenv("FTUI_HOME", str(home))
    monkeypatch.setenv("FTUI_CONFIG", str(tmp_path / "no-settings.toml"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return home


def no_followers(app: RunsApp) -> RunsApp:
    app.services.openai.start_followers = False
    return app


async def running_openai_run(server: Any, home: Path, data: Path) -> Run:
    """An OpenAI job launched, brought to running on the server's clock, and its run's log
    caught up with it (one poll of a follower, as the detached one would do)."""
    backend = backend_for(server, home)  # no follower process: this test polls itself
    try:
        run = await backend.launch(job(data))
        server.clock.advance(TO_RUNNING_S)
        follower = follower_for(backend, run, server)
        try:
            await follower.sync()
        finally:
            follower.close()
            await follower.client.close()
        backend.store.ingest_events(run.id)
        run = backend.store.get_run(run.id)
        assert run.status == "running" and server.jobs[run.remote_job_id].status == "running"
        return run
    finally:
        backend.store.close()


def add_local_run(services: Services, run_id: str, status: str, created_at: float) -> Run:
    store = services.store
    run = store.create_run(
        backend="local", base_model="Qwen2.5-0.5B", config={}, run_id=run_id, created_at=created_at
    )
    with EventWriter(run.events_path) as writer:
        writer.write({"ts": created_at + 1, "type": "status", "status": status})
    store.ingest_events(run.id)
    return store.get_run(run.id)


class RunsApp(App[None]):
    CSS_PATH = APP_CSS
    HORIZONTAL_BREAKPOINTS = HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = VERTICAL_BREAKPOINTS

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.services = Services(config)

    def compose(self) -> ComposeResult:
        yield RunsPane(self.services, refresh_interval=None)

    def on_unmount(self) -> None:
        self.services.close()


def offered(app: App[Any]) -> set[str]:
    """The run controls the palette and the help screen list as enabled on this screen."""
    return {
        entry.action.removeprefix("control('").removesuffix("')")
        for entry in collect_commands(app.screen)
        if entry.action.startswith("control(") and entry.enabled
    }


def notifications(app: App[Any]) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def until(pilot: Pilot[Any], done: Any, timeout: float = 30.0) -> None:
    """Let the app run until `done()` holds (a live page tails its run: its worker never ends
    while the run goes on, so waiting for every worker is not an option there)."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await pilot.pause(0.05)


async def test_pause_resume_and_cancel_an_openai_run_from_the_list(
    fake_openai: Any, openai_env: Path, tmp_path: Path
) -> None:
    run = await running_openai_run(fake_openai, openai_env, write_chat(tmp_path / "t.jsonl", 12))
    remote = fake_openai.jobs[run.remote_job_id]
    app = no_followers(RunsApp(config_for(fake_openai, openai_env)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(RunsPane)
        add_local_run(app.services, "local-1", "running", run.created_at - 100)
        pane.reload()
        await settle(pilot)
        assert [r.id for r in pane.table.runs] == [run.id, "local-1"]
        assert offered(app) == {"cancel", "pause"}  # running: no resume yet

        await press(pilot, "p")
        await settle(pilot)
        assert remote.status == "paused"
        assert app.services.store.get_run(run.id).status == "paused"
        assert pane.table.runs[0].status == "paused"  # the list read it again
        assert offered(app) == {"cancel", "resume"}

        await press(pilot, "R")
        await settle(pilot)
        assert remote.status == "running"
        assert pane.table.runs[0].status == "running"
        assert offered(app) == {"cancel", "pause"}

        await press(pilot, "x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)  # cancel asks first
        assert "bills the tokens trained so far" in str(
            app.screen.query_one(".dialog-body", Static).render()
        )
        await press(pilot, "escape")
        await settle(pilot)
        assert remote.status == "running"  # not asked twice, not cancelled
        await press(pilot, "x", "y")
        await settle(pilot)
        assert remote.status == "cancelled"
        assert pane.table.runs[0].status == "cancelled"
        assert offered(app) == set()  # finished: nothing to control

        # A local run: its backend cannot pause, and a running one is not resumed.
        await press(pilot, "down")
        await settle(pilot)
        assert pane.current_run is not None and pane.current_run.id == "local-1"
        assert offered(app) == {"cancel"}
        await press(pilot, "p")  # no such action here: nothing happens
        await settle(pilot)
        assert app.services.store.get_run("local-1").status == "running"
        assert fake_openai.api_key not in app.export_screenshot()
    assert any("paused" in text for text in notifications(app))
    assert not is_following(run.run_dir)


async def test_pause_resume_and_cancel_an_openai_run_from_its_page(
    fake_openai: Any, openai_env: Path, tmp_path: Path
) -> None:
    run = await running_openai_run(fake_openai, openai_env, write_chat(tmp_path / "t.jsonl", 12))
    remote = fake_openai.jobs[run.remote_job_id]
    app = no_followers(RunsApp(config_for(fake_openai, openai_env)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        page = app.screen
        assert isinstance(page, RunScreen)
        await until(pilot, lambda: page.data is not None and page.data.capabilities is not None)
        assert page.services is app.services  # the page is handed the root, not a store
        assert "live" in str(page.query_one("#run-title", Static).render())
        assert offered(app) == {"cancel", "pause"}

        def status() -> str | None:
            return page.data.run.status if page.data is not None else None

        await press(pilot, "p")
        await until(pilot, lambda: status() == "paused")
        assert remote.status == "paused"
        assert offered(app) == {"cancel", "resume"}
        await press(pilot, "R")
        await until(pilot, lambda: status() == "running")
        assert remote.status == "running"
        await press(pilot, "x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await press(pilot, "y")
        await until(pilot, lambda: status() == "cancelled")
        assert remote.status == "cancelled"
        await until(pilot, lambda: page.monitor is None)  # the run is over: its follow ended
        await settle(pilot)
        title = str(page.query_one("#run-title", Static).render())
        assert "cancelled" in title and "live" not in title
        assert offered(app) == set()
        await press(pilot, "escape")
        await settle(pilot)
        assert app.query_one(RunsPane).table.runs[0].status == "cancelled"  # the list reloaded
    assert not is_following(run.run_dir)


async def test_a_refused_key_is_a_notification_with_the_reason_and_never_the_key(
    fake_openai: Any, openai_env: Path, tmp_path: Path
) -> None:
    run = await running_openai_run(fake_openai, openai_env, write_chat(tmp_path / "t.jsonl", 12))
    wrong = "sk-wrong-" + "x" * 24
    config = Config(
        home=openai_env, openai=OpenAISettings(api_key=wrong, base_url=fake_openai.base_url)
    )
    app = no_followers(RunsApp(config))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "p")
        await settle(pilot)
        shown = notifications(app)
        assert any("refused the API key" in text and "not paused" in text for text in shown)
        assert all(wrong not in text and "Traceback" not in text for text in shown)
        screen = app.export_screenshot()
        assert wrong not in screen and "Traceback" not in screen
        assert fake_openai.jobs[run.remote_job_id].status == "running"
        assert app.query_one(RunsPane).table.runs[0].status == "running"


async def test_the_network_down_is_a_notification_and_the_run_is_left_as_it_was(
    fake_openai: Any, openai_env: Path, tmp_path: Path
) -> None:
    run = await running_openai_run(fake_openai, openai_env, write_chat(tmp_path / "t.jsonl", 12))
    app = no_followers(RunsApp(config_for(fake_openai, openai_env)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.services.openai.policy = RetryPolicy(attempts=2, base_s=0.01, max_s=0.02)
        fake_openai.faults.add(r"/pause", "503", times=10)
        await press(pilot, "p")
        await settle(pilot)
        shown = notifications(app)
        assert any("Could not pause job" in text and "try again later" in text for text in shown)
        assert all("Traceback" not in text for text in shown)
        assert fake_openai.api_key not in app.export_screenshot()
        assert app.services.store.get_run(run.id).status == "running"


def test_what_is_offered_follows_the_backend_and_the_status() -> None:
    openai = Capabilities(label="OpenAI", cancel=True, pause=True, resume=True)
    local = Capabilities(label="Local", cancel=True, resume=True)

    def allowed(capabilities: Capabilities | None, status: str) -> set[str]:
        run = Run(
            id="r", backend="any", status=status, base_model="m", dataset_id=None,
            validation_dataset_id=None, config={}, created_at=0.0, started_at=None,
            finished_at=None, output_model=None, adapter_path=None, error=None,
            run_dir=Path("r"),
        )  # fmt: skip
        return {a for a in ("cancel", "pause", "resume") if can_control(run, capabilities, a)}

    assert allowed(openai, "running") == {"cancel", "pause"}
    assert allowed(openai, "queued") == {"cancel"}
    assert allowed(openai, "paused") == {"cancel", "resume"}
    assert allowed(openai, "succeeded") == set()
    assert allowed(openai, "failed") == set()  # a failed job is not resumed on OpenAI
    assert allowed(local, "running") == {"cancel"}
    assert allowed(local, "cancelled") == {"resume"}  # from its last checkpoint
    assert allowed(local, "failed") == {"resume"}
    assert allowed(local, "succeeded") == set()
    assert allowed(None, "running") == set()  # a backend this ftui does not know
