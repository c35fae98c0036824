"""The compare screen's chart keys over a real store filled from real event logs: `s` smooths
or shows raw curves, `z` zooms to the last steps."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.app import App

from ftui.core.runs.events import EventWriter
from ftui.services.store import RunStore
from ftui.tui.screens.runs_compare import CompareScreen
from ftui.tui.widgets.loss_chart import LossChart

STEPS = 300


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    store = RunStore(tmp_path / "ftui.db", tmp_path / "runs")
    for n, run_id in enumerate(("run-a", "run-b")):
        run = store.create_run(
            backend="local", base_model="tiny", config={"lr": n}, run_id=run_id, created_at=1e9
        )
        with EventWriter(run.events_path) as writer:
            for step in range(1, STEPS + 1):
                loss = 2.0 * math.exp(-step / (50 + 30 * n)) + 0.3 * (step % 2)
                writer.write(
                    {
                        "ts": 1e9 + step,
                        "type": "metric",
                        "step": step,
                        "values": {"train_loss": loss},
                    }
                )
        store.ingest_events(run_id)
    yield store
    store.close()


async def test_smoothing_and_zoom_keys(store: RunStore) -> None:
    app: App[None] = App()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = CompareScreen(store, ["run-a", "run-b"])
        await app.push_screen(screen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        chart = screen.query_one(LossChart)
        assert [s.label for s in chart.prepared_series()] == [
            "run-a tiny (EMA 0.6)",
            "run-b tiny (EMA 0.6)",
        ]
        await pilot.press("s")
        assert chart.smoothing == 0
        assert [s.label for s in chart.prepared_series()] == ["run-a tiny", "run-b tiny"]
        await pilot.press("s")
        assert chart.smoothing == 0.6

        # 299 steps: zooming to the last 1000 would show everything, so it is skipped.
        await pilot.press("z")
        assert chart.zoom_steps == 200 and chart.full_title == "train_loss · last 200 steps"
        assert all(step >= STEPS - 200 for s in chart.prepared_series() for step, _ in s.raw)
        await pilot.press("z")
        assert chart.zoom_steps == 50
        await pilot.press("z")
        assert chart.zoom_steps is None and chart.full_title == "train_loss"
