"""The run page as a live monitor, driven with Pilot over a real store and real event logs: a run
followed as its log grows (progress and ETA, eval curve, alerts, the trainer's output), a finished
OpenAI run replayed from its log, the chart and log keys, and a flood from a writer process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Static

from ftui.config import Config
from ftui.core.runs.events import EventWriter
from ftui.core.runs.kinds import AlertEvent
from ftui.services.launcher import LOG_FILE
from ftui.services.root import Services
from ftui.services.store import Run, RunStore
from ftui.tui.screens.pick_run import PickRunScreen
from ftui.tui.screens.run_page import LOG_LINES_KEPT, RunScreen
from ftui.tui.screens.runs_compare import CompareScreen
from ftui.tui.stylesheet import APP_CSS, HORIZONTAL_BREAKPOINTS, VERTICAL_BREAKPOINTS
from ftui.tui.widgets.log_view import LogPanel
from ftui.tui.widgets.loss_chart import LossChart
from ftui.tui.widgets.run_details import RunDetails
from ftui.tui.widgets.run_header import RunHeader

ROOT = Path(__file__).resolve().parents[2]
CHAT = (
    b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]}\n'
)


class PageApp(App[None]):
    CSS_PATH = APP_CSS
    HORIZONTAL_BREAKPOINTS = HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = VERTICAL_BREAKPOINTS

    def __init__(self, store: RunStore) -> None:
        super().__init__()
        self.services = Services(Config(home=store.runs_dir.parent), store=store)

    def compose(self) -> ComposeResult:
        yield Static("")


@pytest.fixture
def store(tmp_path: Path) -> Any:
    run_store = RunStore(tmp_path / "ftui.db", tmp_path / "runs")
    yield run_store
    run_store.close()


def new_run(store: RunStore, tmp_path: Path, backend: str = "local", run_id: str = "live-1") -> Run:
    data = tmp_path / "train.jsonl"
    data.write_bytes(CHAT * 20)
    return store.create_run(
        backend=backend,
        base_model="tiny-llama",
        config={"epochs": 1},
        dataset_path=data,
        run_id=run_id,
    )


async def open_page(app: PageApp, pilot: Pilot[None], run_id: str) -> RunScreen:
    page = RunScreen(app.services, run_id)
    await app.push_screen(page)
    await until(pilot, lambda: page.data is not None, "the page to load")
    return page


async def until(pilot: Pilot[None], condition: Any, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def texts(panel: LogPanel) -> list[str]:
    return [line.text for line in panel.log_view.lines]


def rendered(widget: Static) -> str:
    return str(widget.render())


async def test_a_live_run_shows_progress_eta_eval_curve_alerts_and_its_output(
    store: RunStore, tmp_path: Path
) -> None:
    run = new_run(store, tmp_path)
    output = run.run_dir / LOG_FILE
    output.write_text("Loading the model\n")
    start = time.time() - 30
    with EventWriter(run.events_path) as writer:
        writer.write({"ts": start, "type": "status", "status": "running"})
    store.ingest_events(run.id)
    app = PageApp(store)
    async with app.run_test(size=(160, 48)) as pilot:
        page = await open_page(app, pilot, run.id)
        assert page.monitor is not None and "· live" in rendered(page.query_one("#run-title"))
        etas = []
        with EventWriter(run.events_path) as writer:
            for step in range(1, 41):
                values = {"train_loss": 2.0 - step * 0.03, "tokens_per_second": 900.0}
                writer.write(
                    {
                        "ts": start + step,
                        "type": "metric",
                        "step": step,
                        "max_steps": 100,
                        "epoch": step / 100,
                        "values": values,
                    }
                )
                if step % 10 == 0:
                    writer.metric(step, {"valid_loss": 2.1 - step * 0.02}, max_steps=100)
                    # A checkpoint each evaluation; the trainer has removed all but the last two.
                    checkpoint = f"checkpoints/checkpoint-{step}"
                    if step >= 30:
                        (run.run_dir / checkpoint).mkdir(parents=True)
                    writer.emit("checkpoint", step=step, path=checkpoint)
                    await until(pilot, lambda s=step: page.data.state.step == s, f"step {step}")
                    etas.append(page.progress.eta_s if page.progress else None)
            writer.emit(
                "alert",
                kind="overfitting",
                message="valid_loss rose 3 evaluations in a row",
                steps=[20, 30, 40],
                advice="fewer epochs, or early stopping",
            )
        with output.open("a") as out:
            out.write("\r 10%|#  |\r 40%|#### |\n")
            out.write("Traceback (most recent call last):\n")
        await until(pilot, lambda: page.data.state.alerts, "the alert")
        await until(
            pilot, lambda: len(texts(page.query_one("#run-output", LogPanel))) >= 3, "output"
        )

        # The ETA comes from the step rate and shrinks as the run goes.
        assert all(eta is not None for eta in etas) and etas == sorted(etas, reverse=True)
        header = page.query_one(RunHeader)
        progress = rendered(header.query_one("#header-progress", Static))
        assert "step 40/100 (40%)" in progress and "ETA" in progress and "900 tok/s" in progress
        glance = rendered(header.query_one("#header-glance", Static))
        assert "train" in glance and "eval" in glance
        alerts = rendered(header.query_one("#header-alerts", Static))
        assert "overfitting at steps 20–40" in alerts and "fewer epochs" in alerts
        # The summary follows the run (its step, not the one the page opened with), closed
        # details too, and shows where it is when they open.
        details = page.query_one(RunDetails)
        await until(pilot, lambda: "40 / 100" in details.sections.get("Run", ""), "summary")
        await pilot.press("i")
        assert "40 / 100" in rendered(details.text)
        # The best checkpoint is picked among those saved since the page opened, and the ones
        # the trainer removed say so.
        await until(
            pilot,
            lambda: "best checkpoint: step 40" in rendered(details.text),
            "the best checkpoint so far",
        )
        artifact_lines = rendered(details.text).splitlines()
        assert any("checkpoint-10" in line and "(removed)" in line for line in artifact_lines)
        assert not any("checkpoint-40" in line and "(removed)" in line for line in artifact_lines)
        # Both curves are in the chart, eval's falling as train's does.
        await until(pilot, lambda: "valid_loss" in page.query_one(LossChart).series, "eval curve")
        valid = page.query_one(LossChart).series["valid_loss"]
        assert [step for step, _ in valid] == [10, 20, 30, 40] and valid[0][1] > valid[-1][1]
        # The trainer's own output, its progress bar collapsed to its last state, levels read.
        output_lines = page.query_one("#run-output", LogPanel).log_view.lines
        assert [line.text for line in output_lines][-2:] == [
            " 40%|#### |",
            "Traceback (most recent call last):",
        ]
        assert output_lines[-1].level == "error"
        await pilot.press("l")  # the events log instead
        events_panel = page.query_one("#run-events", LogPanel)
        assert events_panel.display and not page.query_one("#run-output", LogPanel).display
        assert any("alert   overfitting" in line for line in texts(events_panel))

        with EventWriter(run.events_path) as writer:
            writer.status("succeeded")
        await until(pilot, lambda: page.monitor is None, "the follow to end")
        await until(pilot, lambda: page.data.run.status == "succeeded", "the final state")
        await app.workers.wait_for_complete()
        await pilot.pause()
        title = rendered(page.query_one("#run-title"))
        assert "succeeded" in title and "· live" not in title
        assert "ETA" not in rendered(header.query_one("#header-progress", Static))
    assert store.get_run(run.id).status == "succeeded"


async def test_a_finished_openai_run_replays_its_checkpoint_metrics(
    store: RunStore, tmp_path: Path
) -> None:
    run = new_run(store, tmp_path, backend="openai", run_id="oa-1")
    t0 = 1_700_000_000.0
    with EventWriter(run.events_path) as writer:
        writer.write(
            {"ts": t0, "type": "remote_job", "job_id": "ftjob-1", "remote_status": "running"}
        )
        writer.write({"ts": t0, "type": "status", "status": "running"})
        for step in range(1, 31):
            values = {"train_loss": 1.5 - step * 0.02}
            if step % 10 == 0:
                values["valid_loss"] = 1.6 - step * 0.015
            writer.write(
                {"ts": t0 + step, "type": "metric", "step": step, "max_steps": 30, "values": values}
            )
        for step in (10, 20, 30):
            writer.write(
                {
                    "ts": t0 + step,
                    "type": "checkpoint",
                    "step": step,
                    "path": f"ft:gpt-4o-mini:org::ckpt-step-{step}",
                    "model_id": f"ft:gpt-4o-mini:org::ckpt-step-{step}",
                    # Eval loss lowest at step 20: the best checkpoint is that one.
                    "metrics": {"train_loss": 1.0, "valid_loss": 1.25 + (step - 20) ** 2 / 1000},
                }
            )
        writer.write({"ts": t0 + 31, "type": "status", "status": "succeeded"})
    store.ingest_events(run.id)
    app = PageApp(store)
    async with app.run_test(size=(160, 48)) as pilot:
        page = await open_page(app, pilot, run.id)
        assert page.monitor is None  # over: replayed from the store and the log
        await pilot.press("i")
        artifacts = rendered(page.query_one(RunDetails).text)
        assert "ckpt-step-30" in artifacts and "valid_loss 1.25" in artifacts
        assert "best checkpoint: step 20, ft:gpt-4o-mini:org::ckpt-step-20" in artifacts
        progress = rendered(page.query_one(RunHeader).query_one("#header-progress", Static))
        assert "step 30/30 (100%)" in progress and "ETA" not in progress
        assert sorted(page.query_one(LossChart).series) == ["train_loss", "valid_loss"]
        # An OpenAI job has no trainer output of its own: its events are the log.
        assert page.query_one("#run-events", LogPanel).display
        assert not page.query_one("#run-output", LogPanel).display
        await pilot.press("l")
        assert page.query_one("#run-events", LogPanel).display
        assert any("job     ftjob-1" in line for line in texts(page.query_one("#run-events")))


async def test_chart_and_log_keys(store: RunStore, tmp_path: Path) -> None:
    run = new_run(store, tmp_path)
    other = new_run(store, tmp_path, run_id="other-1")
    for target in (run, other):
        with EventWriter(target.events_path) as writer:
            writer.status("running")
            for step in range(1, 301):
                writer.metric(step, {"train_loss": 2 - step / 300, "learning_rate": 1e-4})
            writer.log("nan found at step 7")
            writer.status("succeeded")
        store.ingest_events(target.id)
    app = PageApp(store)
    async with app.run_test(size=(160, 48)) as pilot:
        page = await open_page(app, pilot, run.id)
        chart = page.query_one(LossChart)
        assert chart.smoothing > 0 and chart.title == "loss"
        await pilot.press("s")
        assert chart.smoothing == 0
        await pilot.press("s", "plus")
        assert chart.smoothing == pytest.approx(0.7)
        await pilot.press("minus", "minus")
        assert chart.smoothing == pytest.approx(0.5)
        await pilot.press("z")
        assert chart.zoom_steps == 200 and "last 200 steps" in chart.full_title
        await pilot.press("m")
        assert chart.title == "learning rate"
        # Details open over the chart and close again.
        details = page.query_one(RunDetails)
        assert not details.display
        await pilot.press("i")
        assert details.display and details.region.width == 60
        await pilot.press("i")
        assert not details.display
        # A finished run that left no train.log shows its events; search them.
        events_panel = page.query_one("#run-events", LogPanel)
        assert events_panel.display
        await pilot.press("slash")
        assert events_panel.search_input.has_focus
        await pilot.press(*"nan", "enter")
        assert events_panel.log_view.match_count == 1
        # Compare with another run: the other run of the same dataset is offered first.
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, PickRunScreen), "the run picker")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen), "the compare screen")
        assert app.screen.run_ids == [run.id, other.id]  # type: ignore[attr-defined]


async def test_the_checkpoint_key_is_offered_on_a_running_local_run_only(
    store: RunStore, tmp_path: Path
) -> None:
    running = new_run(store, tmp_path)
    with EventWriter(running.events_path) as writer:
        writer.status("running")
    store.ingest_events(running.id)
    app = PageApp(store)
    async with app.run_test(size=(160, 48)) as pilot:
        page = await open_page(app, pilot, running.id)
        assert page.check_action("control", ("checkpoint",))
        with EventWriter(running.events_path) as writer:
            writer.status("succeeded")
        await until(pilot, lambda: page.data.run.status == "succeeded", "the run to end")
        assert not page.check_action("control", ("checkpoint",))


async def test_the_details_open_over_the_page_and_nothing_beneath_is_laid_out_again(
    store: RunStore, tmp_path: Path
) -> None:
    run = new_run(store, tmp_path)
    with EventWriter(run.events_path) as writer:
        writer.status("running")
        for step in range(1, 201):
            writer.metric(step, {"train_loss": 2 - step / 200})
        writer.status("succeeded")
    store.ingest_events(run.id)
    app = PageApp(store)
    async with app.run_test(size=(160, 48)) as pilot:
        page = await open_page(app, pilot, run.id)
        chart, details = page.query_one(LossChart), page.query_one(RunDetails)
        main = page.query_one("#run-main")
        await until(pilot, lambda: chart.builds > 0, "the chart")
        await app.workers.wait_for_complete()
        await pilot.pause()
        regions = {widget: widget.region for widget in page.query("#run-main, #run-main *")}
        builds = chart.builds
        assert main.region.width == 160 and chart.region.width == 160
        await pilot.press("i")
        # Open: on the right, over the chart and logs, painted with every section.
        assert details.display and details.region == main.region._replace(x=100, width=60)
        assert app.screen.get_widget_at(120, 20)[0] in (details, details.text)
        text = rendered(details.text)
        assert all(name in text for name in ("Run", "Dataset", "Metrics", "Artifacts", "Config"))
        assert "train_loss" in text and "succeeded" in text
        await pilot.press("i")
        assert not details.display
        await app.workers.wait_for_complete()
        await pilot.pause()
        # Beneath, nothing moved or changed size, and the chart was not built again.
        assert {widget: widget.region for widget in regions} == regions
        assert chart.builds == builds
        assert app.screen.get_widget_at(120, 20)[0] is chart


async def test_narrow_terminal_details_cover_the_page(store: RunStore, tmp_path: Path) -> None:
    run = new_run(store, tmp_path)
    with EventWriter(run.events_path) as writer:
        writer.status("succeeded")
    store.ingest_events(run.id)
    app = PageApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        page = await open_page(app, pilot, run.id)
        details, main = page.query_one(RunDetails), page.query_one("#run-main")
        assert not details.display and main.region.width == 80
        await pilot.press("i")
        assert details.region == main.region and main.region.width == 80
        await pilot.press("i")
        assert not details.display and main.region.width == 80


async def test_a_flood_is_shown_in_batches_with_bounded_memory_and_keys_answered(
    store: RunStore, tmp_path: Path
) -> None:
    lines, metrics = 30_000, 3_000
    run = new_run(store, tmp_path)
    with EventWriter(run.events_path) as writer:
        writer.status("running")
    store.ingest_events(run.id)
    output = run.run_dir / LOG_FILE
    app = PageApp(store)
    async with app.run_test(size=(160, 48)) as pilot:
        page = await open_page(app, pilot, run.id)
        await until(pilot, lambda: page.monitor is not None, "the monitor")
        repaints_before = page.repaints
        started = time.monotonic()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        writer = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.flood_writer",
                *(str(run.events_path), str(output), str(lines), str(metrics)),
            ],
            env=env,
            cwd=ROOT,
        )
        latencies = []
        keys = ("s", "z", "m")
        while writer.poll() is None or len(page.data.series.get("train_loss", [])) < metrics:
            before = time.perf_counter()
            await pilot.press(keys[len(latencies) % len(keys)])
            latencies.append(time.perf_counter() - before)
            assert time.monotonic() - started < 120, "the page never caught up with the flood"
        elapsed = time.monotonic() - started
        assert writer.returncode == 0
        # Every metric arrived, in order; the logs kept their caps.
        assert [step for step, _ in page.data.series["train_loss"]] == list(range(1, metrics + 1))
        for panel_id in ("#run-events", "#run-output"):
            view = page.query_one(panel_id, LogPanel).log_view
            assert view.line_count <= LOG_LINES_KEPT
        # Repaints were batched: about ten a second at most, however fast the log grew.
        repaints = page.repaints - repaints_before
        assert 1 <= repaints <= 12 * elapsed + 2
        # Keys were answered all along (Pilot's press waits for the screen to go quiet too, so
        # this bound is loose; bench/bench_monitor_flood.py measures the latency itself).
        assert max(latencies) < 5.0
    assert store.get_run(run.id).last_step == metrics


async def test_a_replayed_run_shows_the_alerts_its_log_raised(
    store: RunStore, tmp_path: Path
) -> None:
    run = new_run(store, tmp_path)
    with EventWriter(run.events_path) as writer:
        writer.status("running")
        writer.emit(
            "alert",
            kind="nan_loss",
            message="train_loss is nan at step 3",
            steps=[3],
            advice="lower the learning rate",
        )
        writer.status("failed", error="nan")
    store.ingest_events(run.id)
    state, _ = store.run_state(run.id)
    assert [alert.kind for alert in state.alerts] == ["nan_loss"]
    assert isinstance(state.alerts[0], AlertEvent)
    app = PageApp(store)
    async with app.run_test(size=(160, 48)) as pilot:
        page = await open_page(app, pilot, run.id)
        alerts = rendered(page.query_one(RunHeader).query_one("#header-alerts", Static))
        assert "nan_loss at step 3" in alerts and "lower the learning rate" in alerts
