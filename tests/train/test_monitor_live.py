"""The run page following a real training run of the tiny model on the CPU: its train and eval
loss fall in the chart while it runs, its ETA shrinks, its trainer output streams in, and the
page ends on the run's final state."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static
from train_helpers import CPU_ONLY, ChatData, fast_config, train_log

from ftui.config import Config
from ftui.services.backends.local import LocalBackend
from ftui.services.root import Services
from ftui.services.store import RunStore
from ftui.tui.screens.run_page import RunScreen
from ftui.tui.stylesheet import APP_CSS, HORIZONTAL_BREAKPOINTS, VERTICAL_BREAKPOINTS
from ftui.tui.widgets.log_view import LogPanel
from ftui.tui.widgets.loss_chart import LossChart

pytestmark = pytest.mark.slow


class PageApp(App[None]):
    CSS_PATH = APP_CSS
    HORIZONTAL_BREAKPOINTS = HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = VERTICAL_BREAKPOINTS

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services

    def compose(self) -> ComposeResult:
        yield Static("")


async def test_a_live_local_run_shows_its_losses_falling_and_its_eta_shrinking(
    tiny_model: Path,
    chat_data: ChatData,
    store: RunStore,
    backend: LocalBackend,
    app_config: Config,
) -> None:
    config = fast_config(
        tiny_model, chat_data, max_steps=60, eval_steps=10, learning_rate=5e-3, device="cpu"
    )
    checked = await backend.preflight(config, capacity=CPU_ONLY)
    assert checked.ok, checked.problems
    run = await backend.launch(config, checked=checked)
    app = PageApp(Services(app_config, store=store))
    async with app.run_test(size=(160, 48)):
        page = RunScreen(app.services, run.id)
        await app.push_screen(page)
        deadline = time.monotonic() + 150
        etas: list[tuple[int, float]] = []  # (step, ETA) as the header showed them
        while page.data is None or not page.data.run.is_terminal or page.monitor is not None:
            assert time.monotonic() < deadline, f"the run did not end:\n{train_log(run)[-2000:]}"
            progress = page.progress
            if progress is not None and progress.eta_s is not None and progress.step:  # noqa: SIM102
                if not etas or etas[-1][0] != progress.step:
                    etas.append((progress.step, progress.eta_s))
            await asyncio.sleep(0.05)
        assert page.data.run.status == "succeeded", train_log(run)
        await app.workers.wait_for_complete()  # the page reads the run again from the store
        await asyncio.sleep(0.1)
        chart = page.query_one(LossChart)
        train, valid = chart.series["train_loss"], chart.series["valid_loss"]
        assert [step for step, _ in valid] == [10, 20, 30, 40, 50, 60]
        assert valid[-1][1] < valid[0][1]
        first_ten = sum(value for _, value in train[:10]) / 10
        last_ten = sum(value for _, value in train[-10:]) / 10
        assert last_ten < first_ten
        output = [line.text for line in page.query_one("#run-output", LogPanel).log_view.lines]
        assert output, "the trainer's output was not shown"
    # The ETA was shown while it ran, and it shrank as the steps came.
    assert len(etas) >= 3, etas
    assert etas[-1][1] < etas[0][1]
    falling = sum(later < earlier for (_, earlier), (_, later) in itertools.pairwise(etas))
    assert falling >= (len(etas) - 1) * 0.6, etas
