"""The Runs pane, its run page and the compare screen, driven with Pilot over a real store whose
runs were filled from real event logs written with EventWriter."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from textual.app import App, ComposeResult
from textual.message import Message
from textual.widgets import Input, Select, Static
from textual.worker import WorkerFailed

from ftui.config import Config
from ftui.core.runs.events import EventWriter
from ftui.services.root import Services
from ftui.services.store import RunStore
from ftui.tui.messages import OpenDataset
from ftui.tui.screens.confirm import ConfirmScreen
from ftui.tui.screens.prompt import PromptScreen
from ftui.tui.screens.run_page import RunScreen
from ftui.tui.screens.runs_compare import CompareScreen
from ftui.tui.sections import runs as runs_module
from ftui.tui.sections.runs import RunsLoaded, RunsPane
from ftui.tui.stylesheet import APP_CSS, HORIZONTAL_BREAKPOINTS, VERTICAL_BREAKPOINTS
from ftui.tui.widgets.config_diff import ConfigDiff
from ftui.tui.widgets.log_view import LogPanel
from ftui.tui.widgets.loss_chart import LossChart

T0 = 1_700_000_000.0
CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def write_run_log(store: RunStore, run_id: str, *, start: float, steps: int, end: str | None):
    run = store.get_run(run_id)
    with EventWriter(run.events_path) as writer:
        writer.write({"ts": start, "type": "status", "status": "running"})
        for step in range(1, steps + 1):
            values = {"train_loss": 2.0 * math.exp(-step / 10) + 0.5}
            if step % 5 == 0:
                values["valid_loss"] = 2.0 * math.exp(-step / 12) + 0.7
            writer.write(
                {
                    "ts": start + step,
                    "type": "metric",
                    "step": step,
                    "max_steps": steps,
                    "values": values,
                }
            )
        writer.write({"ts": start + steps, "type": "log", "level": "info", "message": "saved"})
        if end is not None:
            writer.write({"ts": start + steps + 1, "type": "status", "status": end})
    store.ingest_events(run_id)


def build_history(root: Path) -> RunStore:
    store = RunStore(root / "ftui.db", root / "runs")
    data = root / "support.jsonl"
    data.write_bytes(b"".join(orjson.dumps(CHAT) + b"\n" for _ in range(30)))
    specs: list[tuple[str, str, str, dict[str, Any], str | None]] = [
        ("qwen-a", "local", "Qwen2.5-0.5B", {"epochs": 2, "learning_rate": 2e-4}, "succeeded"),
        ("gpt-b", "openai", "gpt-4o-mini", {"n_epochs": 3}, "failed"),
        ("qwen-c", "local", "Qwen2.5-0.5B", {"epochs": 2, "learning_rate": 1e-4}, "succeeded"),
        ("llama-d", "local", "Llama-3.2-1B", {"epochs": 1}, None),
    ]
    for n, (run_id, backend, model, config, end) in enumerate(specs):
        store.create_run(
            backend=backend,
            base_model=model,
            config=config,
            dataset_path=data,
            run_id=run_id,
            created_at=T0 + n * 100,
        )
        write_run_log(store, run_id, start=T0 + n * 100 + 5, steps=20, end=end)
    return store


class RunsApp(App[None]):
    CSS_PATH = APP_CSS
    HORIZONTAL_BREAKPOINTS = HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = VERTICAL_BREAKPOINTS

    def __init__(self, store: RunStore) -> None:
        super().__init__()
        self.store = store
        # The history handed in stays the caller's: the root does not close it.
        self.services = Services(Config(home=store.runs_dir.parent), store=store)
        self.posted: list[OpenDataset] = []

    def compose(self) -> ComposeResult:
        yield RunsPane(self.services, refresh_interval=None, now=T0 + 1000)

    def on_open_dataset(self, message: OpenDataset) -> None:
        self.posted.append(message)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    store = build_history(tmp_path)
    yield store
    store.close()


async def settle(app: App[None], pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


async def wait_followed(app: App[None], pilot, page: RunScreen, timeout: float = 15) -> None:
    """Until the page's monitor has seen the run end and the page has read it again."""
    deadline = asyncio.get_running_loop().time() + timeout
    while page.monitor is not None:
        assert asyncio.get_running_loop().time() < deadline, "the run page kept following"
        await pilot.pause(0.05)
    await settle(app, pilot)


def event_texts(page: RunScreen) -> list[str]:
    """The lines of the run page's events log."""
    return [line.text for line in page.query_one("#run-events", LogPanel).log_view.lines]


def table_ids(app: App[None]) -> list[str]:
    return [run.id for run in app.query_one(RunsPane).table.runs]


async def test_pane_lists_runs_newest_first_with_their_results(store: RunStore) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(150, 30)) as pilot:
        await settle(app, pilot)
        pane = app.query_one(RunsPane)
        assert table_ids(app) == ["llama-d", "qwen-c", "gpt-b", "qwen-a"]
        row = pane.table.row_texts(1)
        assert row["status"] == "succeeded" and row["examples"] == "30"
        assert row["train_loss"] == "0.7707" and row["valid_loss"] == "1.0778"
        assert row["duration"] == "21s"
        assert str(app.query_one("#runs-status", Static).render()).startswith("4 runs")
        assert pane.table.has_focus


async def test_filters_narrow_the_list(store: RunStore) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(150, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("f")
        assert isinstance(app.focused, Select)
        await pilot.press("tab", "tab", *"qwen", "enter")
        await settle(app, pilot)
        assert table_ids(app) == ["qwen-c", "qwen-a"]
        app.query_one("#filter-backend", Select).value = "openai"
        await settle(app, pilot)
        assert table_ids(app) == []
        assert "No runs match" in str(app.query_one("#runs-status", Static).render())
        model_filter = app.query_one("#filter-model", Input)
        model_filter.value = ""
        model_filter.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert table_ids(app) == ["gpt-b"]
        app.query_one("#filter-status", Select).value = "running"
        app.query_one("#filter-backend", Select).clear()
        await settle(app, pilot)
        assert table_ids(app) == ["llama-d"]


async def test_open_a_run_and_jump_to_its_dataset(store: RunStore) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(150, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "down", "enter")  # gpt-b, a finished (failed) run
        await settle(app, pilot)
        page = app.screen
        assert isinstance(page, RunScreen) and page.data is not None
        assert page.data.run.id == "gpt-b"
        assert "failed" in str(page.query_one("#run-title", Static).render())
        assert any("saved" in line for line in event_texts(page))
        assert page.query_one(LossChart).point_count == 20 + 4
        await pilot.press("m")  # no other metric group than the losses: stays on loss
        assert page.query_one(LossChart).title == "loss"
        await pilot.press("o")
        await pilot.pause()
        assert not isinstance(app.screen, RunScreen)
        dataset = store.get_run("gpt-b").dataset
        assert dataset is not None and [m.path for m in app.posted] == [dataset.path]


async def test_a_live_run_page_follows_new_events_and_indexes_them(store: RunStore) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(150, 40)) as pilot:
        await settle(app, pilot)
        app.query_one(RunsPane).open_run("llama-d")  # still running
        await pilot.pause()
        page = app.screen
        assert isinstance(page, RunScreen)
        for _ in range(20):  # the page loads its history in a thread worker
            if page.data is not None:
                break
            await pilot.pause(0.05)
        assert page.data is not None and "live" in str(page.query_one("#run-title").render())
        with EventWriter(store.get_run("llama-d").events_path) as writer:
            for step in range(21, 31):
                writer.metric(step, {"train_loss": 0.4}, max_steps=30)
            writer.log("training finished")
            writer.status("succeeded")
        # The monitor ends at the terminal status; the page then reloads from the store.
        await wait_followed(app, pilot, page)
        assert page.live_events == 12
        assert page.data.run.status == "succeeded"
        assert "training finished" in event_texts(page)[-2]
        assert store.get_run("llama-d").final_metrics["train_loss"] == 0.4
        assert store.metrics("llama-d")["train_loss"][-1] == (30, 0.4)


async def test_compare_marked_runs(store: RunStore) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(150, 45)) as pilot:
        await settle(app, pilot)
        await pilot.press("c")
        assert not isinstance(app.screen, CompareScreen)  # nothing marked yet
        await pilot.press("down", "space", "down", "down", "space", "c")  # qwen-c, qwen-a
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen) and screen.data is not None
        assert [run.id for run in screen.data.runs] == ["qwen-c", "qwen-a"]
        chart = screen.query_one(LossChart)
        assert chart.title == "train_loss" and len(chart.series) == 2
        diff = screen.query_one(ConfigDiff)
        assert diff.shown_keys == ["≠ learning_rate"]
        diff.focus()
        await pilot.press("x")
        assert "  run.base_model" in diff.shown_keys and "  epochs" in diff.shown_keys
        await pilot.press("m")
        assert chart.title == "valid_loss"
        await pilot.press("escape")
        assert isinstance(app.screen.query_one(RunsPane), RunsPane)


async def test_delete_asks_then_removes_run_and_files(store: RunStore) -> None:
    app = RunsApp(store)
    doomed = store.get_run("qwen-c")
    async with app.run_test(size=(150, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # changed my mind
        await settle(app, pilot)
        assert "qwen-c" in table_ids(app)
        await pilot.press("d")
        await pilot.press("y")
        await settle(app, pilot)
        await settle(app, pilot)
        assert "qwen-c" not in table_ids(app)
    assert not doomed.run_dir.exists()
    assert [run.id for run in store.list_runs()] == ["llama-d", "gpt-b", "qwen-a"]


async def test_running_run_is_kept_when_deleting_marked_runs(store: RunStore) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(150, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("space", "space", "d", "y")  # llama-d (running) and qwen-c
        await settle(app, pilot)
        await settle(app, pilot)
        assert table_ids(app) == ["llama-d", "gpt-b", "qwen-a"]


async def test_archive_hides_runs_until_shown(store: RunStore) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(150, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("end", "a", "y")  # qwen-a
        await settle(app, pilot)
        await settle(app, pilot)
        assert table_ids(app) == ["llama-d", "qwen-c", "gpt-b"]
        assert store.get_run("qwen-a").archived
        await pilot.press("A")
        await settle(app, pilot)
        assert table_ids(app)[-1] == "qwen-a"
        assert app.query_one(RunsPane).table.row_texts(3)["status"] == "succeeded (archived)"


async def test_export_writes_the_run_as_json(
    store: RunStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = RunsApp(store)
    async with app.run_test(size=(150, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("e")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("enter")
        await settle(app, pilot)
    exported = orjson.loads((tmp_path / "ftui-run-llama-d.json").read_bytes())
    assert exported["run"]["id"] == "llama-d"
    assert len(exported["metrics"]["train_loss"]) == 20


async def test_a_long_history_shows_its_first_page_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs_module, "FIRST_PAGE", 5)
    store = RunStore(tmp_path / "ftui.db", tmp_path / "runs")
    for n in range(12):
        store.create_run(backend="local", base_model="m", config={}, created_at=T0 + n)
    pages: list[tuple[int, bool]] = []

    def record(message: Message) -> None:
        if isinstance(message, RunsLoaded):
            pages.append((len(message.runs), message.complete))

    app = RunsApp(store)
    async with app.run_test(size=(150, 30), message_hook=record) as pilot:
        await settle(app, pilot)
        assert len(table_ids(app)) == 12
    assert pages == [(5, False), (12, True)]
    store.close()


async def test_an_unreadable_store_is_reported_not_fatal(tmp_path: Path) -> None:
    bad = tmp_path / "ftui.db"
    bad.write_bytes(b"this is not a database" * 100)
    store = RunStore(bad, tmp_path / "runs")
    app = RunsApp(store)
    async with app.run_test(size=(150, 30)) as pilot:
        with contextlib.suppress(WorkerFailed):  # the failure is what this test is about
            await app.workers.wait_for_complete()
        await pilot.pause()
        status = str(app.query_one("#runs-status", Static).render())
        assert status.startswith("The run history could not be read")
        assert "not a database" in status


async def test_runs_still_going_are_refreshed_and_new_runs_appear(store: RunStore) -> None:
    class LiveApp(RunsApp):
        def compose(self) -> ComposeResult:
            yield RunsPane(self.services, refresh_interval=0.05, now=T0 + 1000)

    async def wait_until(pilot, condition) -> None:
        for _ in range(150):  # the refresh timer fires every 50 ms
            if condition():
                return
            await pilot.pause(0.02)

    app = LiveApp(store)
    async with app.run_test(size=(150, 30)) as pilot:
        await settle(app, pilot)
        table = app.query_one(RunsPane).table
        assert table.runs[0].status == "running"
        # Another process starts a run: the count changes and the list is read again.
        store.create_run(
            backend="openai",
            base_model="gpt-4o-mini",
            config={},
            run_id="new-e",
            created_at=T0 + 500,
        )
        await wait_until(pilot, lambda: table_ids(app)[0] == "new-e")
        assert table_ids(app)[:2] == ["new-e", "llama-d"]
        # The running one finishes: only the runs still going are re-read.
        with EventWriter(store.get_run("llama-d").events_path) as writer:
            writer.metric(21, {"train_loss": 0.25})
            writer.status("succeeded")
        await wait_until(pilot, lambda: table.runs[1].status == "succeeded")
        assert table.runs[1].status == "succeeded"
        assert table.row_texts(1)["train_loss"] == "0.2500"
        # With nothing going any more, a run launched from a shell still shows up.
        with EventWriter(store.get_run("new-e").events_path) as writer:
            writer.status("cancelled")
        await wait_until(pilot, lambda: all(run.is_terminal for run in table.runs))
        assert all(run.is_terminal for run in table.runs)
        store.create_run(
            backend="local", base_model="tiny", config={}, run_id="newer-f", created_at=T0 + 600
        )
        await wait_until(pilot, lambda: table_ids(app)[0] == "newer-f")
        assert table_ids(app)[0] == "newer-f"


def register_process(store: RunStore, run_id: str, argv: list[str]) -> Any:
    """A process registered for the run as the launcher registers a trainer."""
    import time

    from ftui.services import launcher

    run = store.get_run(run_id)
    record = launcher.launch(run.run_dir, argv=argv)
    for _ in range(200):
        if "step 20" in (run.run_dir / launcher.LOG_FILE).read_text():
            break
        time.sleep(0.02)
    return record


async def test_opening_a_run_whose_process_died_shows_it_failed(store: RunStore) -> None:
    import os
    import signal

    from ftui.services import launcher

    record = register_process(store, "llama-d", ["sh", "-c", "echo step 20; echo Killed"])
    while launcher.pid_alive(record):  # it exits by itself, without a final status
        await asyncio.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGKILL)
    app = RunsApp(store)
    async with app.run_test(size=(150, 40)) as pilot:
        await settle(app, pilot)
        app.query_one(RunsPane).open_run("llama-d")
        await settle(app, pilot)
        page = app.screen
        assert isinstance(page, RunScreen) and page.data is not None
        assert page.data.run.status == "failed"
        title = str(page.query_one("#run-title").render())
        assert "failed" in title and "live" not in title
        lines = event_texts(page)
        assert any("Last lines of train.log" in line for line in lines)
    run = store.get_run("llama-d")
    assert run.status == "failed" and run.error is not None and "Killed" in run.error


async def test_a_live_run_page_notices_its_process_killed(store: RunStore) -> None:
    import os
    import signal

    record = register_process(store, "llama-d", ["sh", "-c", "echo step 20; exec sleep 60"])
    app = RunsApp(store)
    async with app.run_test(size=(150, 40)) as pilot:
        await settle(app, pilot)
        app.query_one(RunsPane).open_run("llama-d")
        page = app.screen
        assert isinstance(page, RunScreen)
        for _ in range(40):
            if page.data is not None:
                break
            await pilot.pause(0.05)
        assert page.data is not None and "live" in str(page.query_one("#run-title").render())
        os.kill(record.pid, signal.SIGKILL)
        await wait_followed(app, pilot, page)  # the follow path ends once it sees the death
        assert page.data.run.status == "failed"
        assert "-> failed: The training process died" in event_texts(page)[-1]
    assert store.get_run("llama-d").status == "failed"


async def test_the_list_notices_a_process_killed_while_it_is_open(store: RunStore) -> None:
    import os
    import signal

    class LiveApp(RunsApp):
        def compose(self) -> ComposeResult:
            yield RunsPane(self.services, refresh_interval=0.05, now=T0 + 1000)

    record = register_process(store, "llama-d", ["sh", "-c", "echo step 20; exec sleep 60"])
    app = LiveApp(store)
    async with app.run_test(size=(150, 30)) as pilot:
        await settle(app, pilot)
        table = app.query_one(RunsPane).table
        assert table.runs[0].status == "running"
        os.kill(record.pid, signal.SIGKILL)
        for _ in range(150):  # the refresh timer fires every 50 ms
            if table.runs[0].status == "failed":
                break
            await pilot.pause(0.02)
        assert table.runs[0].status == "failed"
    run = store.get_run("llama-d")
    assert run.status == "failed" and run.error is not None and "step 20" in run.error
