"""Loss sparklines in the Runs pane and the pane kept live for every active run, driven with Pilot
over a real store filled from real event logs written with EventWriter."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.message import Message
from textual.worker import Worker, WorkerState

from ftui.config import Config
from ftui.core.runs.events import EventWriter
from ftui.core.runs.sparkline import BLOCKS
from ftui.services.root import Services
from ftui.services.store import Run, RunStore
from ftui.tui.sections import runs as runs_module
from ftui.tui.sections.runs import RunsPane, RunsRefreshed, SeriesRead
from ftui.tui.stylesheet import APP_CSS, HORIZONTAL_BREAKPOINTS, VERTICAL_BREAKPOINTS
from ftui.tui.widgets.runs_table import RunsTable, metric_cell, status_cell

T0 = 1_700_000_000.0


def write_metrics(store: RunStore, run_id: str, steps: range, max_steps: int, end: str | None):
    with EventWriter(store.get_run(run_id).events_path) as writer:
        if steps.start == 1:
            writer.write({"ts": T0, "type": "status", "status": "running"})
        for step in steps:
            values = {"train_loss": 2.0 * math.exp(-step / 10) + 0.5}
            if step % 5 == 0:
                values["valid_loss"] = 2.0 * math.exp(-step / 12) + 0.7
            writer.metric(step, values, max_steps=max_steps)
        if end is not None:
            writer.status(end)
    store.ingest_events(run_id)


class CountingStore(RunStore):
    """The real store, remembering which runs each `recent_series` call asked for."""

    def __init__(self, path: Path, runs_dir: Path) -> None:
        super().__init__(path, runs_dir)
        self.series_calls: list[list[str]] = []

    def recent_series(self, run_ids: Any, names: Any = ("train_loss", "valid_loss"), points=24):
        self.series_calls.append(list(run_ids))
        return super().recent_series(run_ids, names, points)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CountingStore]:
    store = CountingStore(tmp_path / "ftui.db", tmp_path / "runs")
    specs = [  # id, steps written, max steps, end
        ("done-a", 40, 40, "succeeded"),
        ("none-b", 0, 0, "failed"),  # never logged a metric
        ("live-c", 12, 400, None),
        ("live-d", 30, 60, None),
    ]
    for n, (run_id, steps, max_steps, end) in enumerate(specs):
        store.create_run(
            backend="local", base_model="Qwen2.5-0.5B", config={}, run_id=run_id, created_at=T0 + n
        )
        write_metrics(store, run_id, range(1, steps + 1), max_steps, end)
        if not steps:
            store.append_event(run_id, {"type": "status", "status": end})
    yield store
    store.close()


class PaneApp(App[None]):
    CSS_PATH = APP_CSS
    HORIZONTAL_BREAKPOINTS = HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = VERTICAL_BREAKPOINTS

    def __init__(self, store: RunStore) -> None:
        super().__init__()
        self.store = store
        self.services = Services(Config(home=store.runs_dir.parent), store=store)

    def compose(self) -> ComposeResult:
        yield RunsPane(self.services, refresh_interval=None, now=T0 + 1000)


async def settle(app: App[None], pilot: Any) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


def row_of(table: RunsTable, run_id: str) -> int:
    return next(i for i, run in enumerate(table.runs) if run.id == run_id)


def blocks_in(text: str) -> str:
    return "".join(c for c in text if c in BLOCKS)


async def test_the_table_shows_each_runs_loss_as_a_sparkline_and_its_last_value(
    store: CountingStore,
) -> None:
    app = PaneApp(store)
    async with app.run_test(size=(200, 30)) as pilot:
        await settle(app, pilot)
        table = app.query_one(RunsPane).table
        width = table.scrollable_content_region.width
        done = table.cell_texts(row_of(table, "done-a"), width)
        train, valid = done["loss"].split(), done["eval"].split()
        assert train[-1] == "0.5366" and valid[-1] == "0.7713"
        # A falling loss: the line starts on the top block and ends on the bottom one.
        assert train[0][0] == "█" and train[0][-1] == "▁" and len(train[0]) == 24
        assert len(valid[0]) == 8  # one cell per eval point (steps 5..40)
        # One scale for both: eval starts below train's top, and never reaches the bottom.
        assert valid[0][0] != "█" and "▁" not in valid[0]
        # The painted line is the same text.
        line = table.render_line(1 + row_of(table, "done-a")).text
        assert done["loss"] in line and done["eval"] in line
        # A run with no metrics shows the number alone: no sparkline.
        none = table.cell_texts(row_of(table, "none-b"), width)
        assert none["loss"].strip() == "-" and not blocks_in(none["loss"] + none["eval"])
        # The runs under way show their step.
        assert table.cell_texts(row_of(table, "live-c"), width)["status"].strip() == (
            "running 12/400"
        )
        # All four runs' series came from one query.
        assert store.series_calls == [["live-d", "live-c", "none-b", "done-a"]]


async def test_at_80_columns_both_sparklines_and_the_progress_still_fit(
    store: CountingStore,
) -> None:
    app = PaneApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.query_one(RunsPane).table
        header = table.render_line(0).text
        assert "loss" in header and "eval" in header and "base model" in header
        live = table.render_line(1 + row_of(table, "live-d")).text
        assert "running 50%" in live  # "running 30/60" is too long for the column here
        assert len(blocks_in(live)) == 7 + 6  # 7 train cells, one per eval point (6)
        assert live.rstrip().endswith("0.5996  ▇▅▄▃▂▂ 0.8642")
        assert len(live) == table.scrollable_content_region.width


async def test_the_sparkline_takes_the_status_colour(store: CountingStore) -> None:
    app = PaneApp(store)
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(app, pilot)
        table = app.query_one(RunsPane).table
        table.focus()
        table.cursor = row_of(table, "none-b")  # the cursor row has its own colours
        await pilot.pause()
        for run_id, status in (("done-a", "succeeded"), ("live-c", "running")):
            strip = table.render_line(1 + row_of(table, run_id))
            spark = next(seg for seg in strip if blocks_in(seg.text))
            expected = table.get_component_rich_style(f"runs-table--{status}").color
            assert spark.style is not None and spark.style.color == expected
            number = next(seg for seg in strip if "0." in seg.text or "1." in seg.text)
            assert number.style is not None and number.style.color != expected


async def test_active_runs_gain_metrics_and_their_rows_move_on_the_next_refresh_with_one_worker(
    store: CountingStore,
) -> None:
    refresh_workers: set[Worker[Any]] = set()
    refreshed: list[RunsRefreshed] = []

    def hook(message: Message) -> None:
        if isinstance(message, Worker.StateChanged) and message.state == WorkerState.RUNNING:
            if message.worker.group == "runs-refresh":
                refresh_workers.add(message.worker)
        elif isinstance(message, RunsRefreshed):
            refreshed.append(message)

    app = PaneApp(store)
    async with app.run_test(size=(200, 30), message_hook=hook) as pilot:
        await settle(app, pilot)
        pane = app.query_one(RunsPane)
        table = pane.table
        width = table.scrollable_content_region.width
        before = {rid: table.cell_texts(row_of(table, rid), width) for rid in ("live-c", "live-d")}
        store.series_calls.clear()
        # Both runs go on training, in their own logs; the loss of live-d jumps up.
        write_metrics(store, "live-c", range(13, 41), 400, None)
        with EventWriter(store.get_run("live-d").events_path) as writer:
            writer.metric(31, {"train_loss": 9.0}, max_steps=60)
        pane._refresh_active()
        await settle(app, pilot)
        assert len(refresh_workers) == 1
        assert len(refreshed) == 1 and {run.id for run in refreshed[0].runs} == {
            "live-c",
            "live-d",
        }
        assert len(store.series_calls) == 1  # one query for both rows
        assert sorted(store.series_calls[0]) == ["live-c", "live-d"]
        after_c = table.cell_texts(row_of(table, "live-c"), width)
        after_d = table.cell_texts(row_of(table, "live-d"), width)
        assert after_c["status"].strip() == "running 40/400"
        assert len(blocks_in(after_c["loss"])) == 24 > len(blocks_in(before["live-c"]["loss"]))
        assert after_d["loss"].split()[-1] == "9.0000"
        assert blocks_in(after_d["loss"])[-1] == "█" != blocks_in(before["live-d"]["loss"])[-1]
        assert after_d["status"].strip() == "running 31/60"
        # The finished run was not re-read, and keeps its sparkline.
        assert blocks_in(table.cell_texts(row_of(table, "done-a"), width)["loss"])


async def test_a_long_history_gets_every_runs_sparkline_after_the_first_page(
    store: CountingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs_module, "FIRST_PAGE", 2)
    read: list[SeriesRead] = []
    app = PaneApp(store)
    async with app.run_test(
        size=(200, 30), message_hook=lambda m: read.append(m) if isinstance(m, SeriesRead) else None
    ) as pilot:
        await settle(app, pilot)
        table = app.query_one(RunsPane).table
        assert len(table.runs) == 4
        # The first page's series with the first page, then every listed run's in one query.
        assert store.series_calls == [
            ["live-d", "live-c"],
            ["live-d", "live-c", "none-b", "done-a"],
        ]
        assert len(read) == 1
        assert set(table.series) == {"live-d", "live-c", "none-b", "done-a"}
        width = table.scrollable_content_region.width
        assert blocks_in(table.cell_texts(row_of(table, "done-a"), width)["loss"])


def make_run(status: str, step: int | None, max_steps: int | None) -> Run:
    return Run(
        id="r",
        backend="local",
        status=status,
        base_model="m",
        dataset_id=None,
        validation_dataset_id=None,
        config={},
        created_at=T0,
        started_at=T0,
        finished_at=None,
        output_model=None,
        adapter_path=None,
        error=None,
        run_dir=Path("/tmp/r"),
        last_step=step,
        max_steps=max_steps,
    )


def test_the_status_cell_says_how_far_a_run_under_way_is_in_the_room_it_has() -> None:
    running = make_run("running", 1200, 4000)
    assert status_cell(running, "running", 17) == "running 1200/4000"
    assert status_cell(running, "running", 20) == "running 1,200/4,000"
    assert status_cell(running, "running", 11) == "running 30%"
    assert status_cell(running, "running", 8) == "running"
    assert status_cell(make_run("running", 60, 60), "running", 11) == "running 99%"
    assert status_cell(make_run("running", 7, None), "running", 11) == "running 7"
    assert status_cell(make_run("succeeded", 60, 60), "succeeded", 20) == "succeeded"
    assert status_cell(make_run("queued", None, None), "queued", 20) == "queued"


def test_a_metric_cell_is_a_sparkline_then_the_number_or_the_number_alone() -> None:
    line, number = metric_cell([3.0, 2.0, 1.0], 1.0, 14)
    assert number == "1.0000" and line == "    █▅▁ " and len(line + number) == 14
    assert metric_cell(None, 0.5, 14) == ("", "0.5000")
    assert metric_cell([], None, 14) == ("", "-")
    assert metric_cell([1.0, 2.0], None, 14)[1] == "2.0000"  # the series' last, without a final
    assert metric_cell([1.0, 2.0], 2.0, 8) == ("", "2.0000")  # no room for a line
    assert metric_cell([1.5], 1.5, 10, (1.0, 2.0)) == ("  ▅ ", "1.5000")
