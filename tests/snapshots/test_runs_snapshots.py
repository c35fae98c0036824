"""How the Runs pane, a run's page and the compare screen look (behaviour is asserted elsewhere).

Deterministic: fixed ids and timestamps, a fixed clock, UTC, and a store at a fixed path (paths
show on the run page).
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from ftui.config import Config
from ftui.core.runs.events import EventWriter
from ftui.services.root import Services
from ftui.services.store import RunStore
from ftui.tui.sections.runs import RunsPane
from ftui.tui.stylesheet import APP_CSS, HORIZONTAL_BREAKPOINTS, VERTICAL_BREAKPOINTS

T0 = 1_700_000_000.0
SIZE = (130, 36)
CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hey"}]}
SUMMARY = {"format": "openai", "examples": 1200, "tokens": 98_311}


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def store(request: pytest.FixtureRequest) -> Iterator[RunStore]:
    root = Path(tempfile.gettempdir()) / "ftui-runs-snapshots" / request.node.name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    store = RunStore(root / "ftui.db", root / "runs")
    data = root / "support.jsonl"
    data.write_bytes(b"".join(orjson.dumps(CHAT) + b"\n" for _ in range(3)))
    specs: list[tuple[str, str, str, dict[str, Any], str | None, int, float | None]] = [
        (
            "a1f0c2d4",
            "local",
            "Qwen2.5-0.5B-Instruct",
            {"epochs": 3, "learning_rate": 2e-4, "lora": {"r": 16, "alpha": 32}},
            "succeeded",
            40,
            None,
        ),
        (
            "b7e2a9c1",
            "openai",
            "gpt-4o-mini-2024-07-18",
            {"n_epochs": 2, "suffix": "support"},
            "failed",
            12,
            0.84,
        ),
        (
            "c3d9e8f7",
            "local",
            "Qwen2.5-0.5B-Instruct",
            {"epochs": 3, "learning_rate": 1e-4, "lora": {"r": 8, "alpha": 16}},
            "succeeded",
            40,
            None,
        ),
        ("d5b1c0a8", "local", "Llama-3.2-1B-Instruct", {"epochs": 1}, None, 25, None),
    ]
    for n, (run_id, backend, model, config, end, steps, cost) in enumerate(specs):
        start = T0 + n * 3600
        store.create_run(
            backend=backend,
            base_model=model,
            config=config,
            dataset_path=data,
            dataset_summary=SUMMARY,
            run_id=run_id,
            created_at=start,
        )
        with EventWriter(store.runs_dir / run_id / "events.jsonl") as writer:
            writer.write({"ts": start + 5, "type": "status", "status": "running"})
            for step in range(1, steps + 1):
                values = {"train_loss": 2.2 * math.exp(-step / (8 + n)) + 0.4}
                if step % 5 == 0:
                    values["valid_loss"] = 2.2 * math.exp(-step / (10 + n)) + 0.6
                writer.write(
                    {
                        "ts": start + 5 + step * 20,
                        "type": "metric",
                        "step": step,
                        "max_steps": steps,
                        "epoch": step / steps,
                        "values": values,
                    }
                )
            writer.write(
                {"ts": start + 900, "type": "log", "level": "info", "message": "saved adapter"}
            )
            if end == "failed":
                writer.write(
                    {
                        "ts": start + 901,
                        "type": "status",
                        "status": "failed",
                        "error": "the job's training file has 3 examples; 10 are needed",
                    }
                )
            elif end is not None:
                writer.write(
                    {"ts": start + 901, "type": "artifact", "kind": "adapter", "path": "adapter"}
                )
                writer.write({"ts": start + 902, "type": "status", "status": end})
        store.ingest_events(run_id)
        if cost is not None:
            store.update_run(run_id, cost_usd=cost)
    yield store
    store.close()
    shutil.rmtree(root, ignore_errors=True)


class RunsApp(App[None]):
    CSS_PATH = APP_CSS
    HORIZONTAL_BREAKPOINTS = HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = VERTICAL_BREAKPOINTS

    def __init__(self, store: RunStore) -> None:
        super().__init__()
        self.store = store
        # The history handed in stays the caller's: the root does not close it.
        self.services = Services(Config(home=store.runs_dir.parent), store=store)

    def compose(self) -> ComposeResult:
        yield RunsPane(self.services, refresh_interval=None, now=T0 + 4 * 3600)


async def settle(pilot: Pilot[None]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_runs_pane(snap_compare, store: RunStore) -> None:
    async def mark_two(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("down", "space", "down", "down", "space", "up")

    assert snap_compare(RunsApp(store), terminal_size=SIZE, run_before=mark_two)


def test_run_page(snap_compare, store: RunStore) -> None:
    async def open_first_finished(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        await settle(pilot)

    assert snap_compare(RunsApp(store), terminal_size=SIZE, run_before=open_first_finished)


def test_run_page_details(snap_compare, store: RunStore) -> None:
    async def open_details(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)

    assert snap_compare(RunsApp(store), terminal_size=SIZE, run_before=open_details)


def test_compare_screen(snap_compare, store: RunStore) -> None:
    async def compare(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("down", "space", "down", "down", "space", "c")
        await settle(pilot)
        await settle(pilot)

    assert snap_compare(RunsApp(store), terminal_size=SIZE, run_before=compare)


# -- at 80x24, the size of many SSH terminals ----------------------------------------------------

SMALL = (80, 24)


def test_runs_pane_at_80x24(snap_compare, store: RunStore) -> None:
    async def mark_one(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("down", "space", "up")

    assert snap_compare(RunsApp(store), terminal_size=SMALL, run_before=mark_one)


def test_run_page_at_80x24(snap_compare, store: RunStore) -> None:
    async def open_first_finished(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        await settle(pilot)

    assert snap_compare(RunsApp(store), terminal_size=SMALL, run_before=open_first_finished)


def with_a_run_midway(store: RunStore) -> None:
    """The running run, a quarter of the way: more steps planned, an alert raised, and its
    trainer's own output so far."""
    run_id = "d5b1c0a8"
    start = T0 + 3 * 3600
    with EventWriter(store.runs_dir / run_id / "events.jsonl") as writer:
        for step in range(26, 31):
            writer.write(
                {
                    "ts": start + 5 + step * 20,
                    "type": "metric",
                    "step": step,
                    "max_steps": 120,
                    "epoch": step / 120,
                    "values": {"train_loss": 0.45 - step / 1000, "tokens_per_second": 1830.0},
                }
            )
        writer.write(
            {
                "ts": start + 610,
                "type": "alert",
                "kind": "eval_gap",
                "message": "valid_loss 0.93 is 1.9x the train loss 0.48 at step 25",
                "steps": [15, 20, 25],
                "advice": "more data, or a lower rank or learning rate; stop early if it grows",
            }
        )
    (store.runs_dir / run_id / "train.log").write_text(
        "Loading Llama-3.2-1B-Instruct\n"
        "trainable params: 851,968 || all params: 1,236,666,368 || trainable%: 0.0689\n"
        " 25%|##5       | 30/120 [10:05<30:15, 20.17s/it]\n"
    )
    store.ingest_events(run_id)


def test_run_page_midway(snap_compare, store: RunStore) -> None:
    with_a_run_midway(store)

    async def open_running(pilot: Pilot[None]) -> None:
        from ftui.tui.screens.run_page import RunScreen

        await settle(pilot)
        await pilot.press("enter")  # the newest run is the one still going
        page = pilot.app.screen
        assert isinstance(page, RunScreen)
        for _ in range(200):  # the monitor's first batch, from its own thread
            if page.repaints:
                break
            await pilot.pause(0.05)
        await settle(pilot)
        await settle(pilot)

    assert snap_compare(RunsApp(store), terminal_size=(160, 48), run_before=open_running)


def test_run_page_midway_at_80x24(snap_compare, store: RunStore) -> None:
    with_a_run_midway(store)

    async def open_running(pilot: Pilot[None]) -> None:
        from ftui.tui.screens.run_page import RunScreen

        await settle(pilot)
        await pilot.press("enter")
        page = pilot.app.screen
        assert isinstance(page, RunScreen)
        for _ in range(200):
            if page.repaints:
                break
            await pilot.pause(0.05)
        await settle(pilot)
        await settle(pilot)

    assert snap_compare(RunsApp(store), terminal_size=SMALL, run_before=open_running)
