"""The Jobs pane, driven with Pilot: the form finds local models, checks what it is given, and
launches a real detached run of a tiny model that shows up in the store and learns."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static
from textual.worker import WorkerCancelled

from ftui.config import Config
from ftui.services import launcher
from ftui.services.backends.local import Capacity
from ftui.services.root import Services
from ftui.services.store import RunStore
from ftui.tui.screens.confirm import ConfirmScreen
from ftui.tui.sections.jobs import JobsPane
from ftui.tui.stylesheet import APP_CSS, HORIZONTAL_BREAKPOINTS, VERTICAL_BREAKPOINTS
from ftui.tui.widgets.jobs_form import JobsLaunchForm
from ftui.tui.widgets.jobs_table import JobsTable

CPU_ONLY = Capacity(gpus=[], ram_total=24 * 1024**3, ram_available=16 * 1024**3)
CHAT = {
    "messages": [
        {"role": "user", "content": "What is 2 plus 2?"},
        {"role": "assistant", "content": "2 plus 2 is 4."},
    ]
}


@pytest.fixture(scope="module")
def tiny_model_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real tiny model, built by the real command (the app process itself never loads torch)."""
    target = tmp_path_factory.mktemp("source") / "tiny"
    subprocess.run(
        [sys.executable, "-m", "ftui", "model", "tiny", str(target), "--pretrain-steps", "20"],
        check=True,
        capture_output=True,
    )
    return target


@pytest.fixture
def jobs_home(
    _isolated_ftui_home: Path, tiny_model_source: Path, monkeypatch: pytest.MonkeyPatch
) -> Config:
    config = Config(home=_isolated_ftui_home)
    config.ensure_dirs()
    (config.models_dir / "demo-tiny").symlink_to(tiny_model_source, target_is_directory=True)
    monkeypatch.setenv("HF_HUB_CACHE", str(_isolated_ftui_home / "no-hub-cache"))
    return config


@pytest.fixture
def jobs_store(jobs_home: Config) -> Iterator[RunStore]:
    run_store = RunStore.from_config(jobs_home)
    yield run_store
    run_store.close()


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps(CHAT) + "\n" for _ in range(16)))
    return path


class JobsApp(App[None]):
    CSS_PATH = APP_CSS
    HORIZONTAL_BREAKPOINTS = HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = VERTICAL_BREAKPOINTS

    def __init__(self, config: Config, store: RunStore) -> None:
        super().__init__()
        self.config = config
        self.store = store

    def compose(self) -> ComposeResult:
        yield JobsPane(
            Services(self.config, store=self.store),
            capacity=CPU_ONLY,
            refresh_interval=0.5,
            grace_s=60,
        )


def plan_text(app: App[None]) -> str:
    return str(app.query_one("#jobs-plan", Static).render())


async def settle(app: App[None], pilot: Pilot[None]) -> None:
    """Past the plan's typing delay, and until the workers started so far are done."""
    await pilot.pause(0.4)
    while True:
        try:
            await app.workers.wait_for_complete()
            break
        except WorkerCancelled:
            continue  # a periodic refresh replaced by a newer one (exclusive workers)
    await pilot.pause()


def set_field(app: App[None], name: str, value: str) -> None:
    app.query_one(f"#jobs-{name}", Input).value = value


async def test_picking_a_tiny_model_fills_the_form_and_the_plan(
    jobs_home: Config, jobs_store: RunStore, dataset: Path
) -> None:
    app = JobsApp(jobs_home, jobs_store)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(app, pilot)
        pane = app.query_one(JobsPane)
        assert "no GPU: CPU with 24.0 GiB RAM" in str(
            app.query_one("#jobs-machine", Static).render()
        )
        # Keyboard only: open the model picker, go down to the one model, take it.
        app.query_one("#jobs-model-pick", Select).focus()
        await pilot.press("enter", "down", "enter")
        pane.set_dataset(dataset)
        await settle(app, pilot)
        assert app.query_one("#jobs-base_model", Input).value == "demo-tiny"
        assert app.query_one("#jobs-learning_rate", Input).value == "0.005"
        assert app.query_one(JobsLaunchForm).tiny_settings_applied
        plan = plan_text(app)
        assert "Model      demo-tiny" in plan and "Memory     ~" in plan
        assert "Ready: ctrl+l" in plan
        assert pane.checked is not None and pane.checked.ok
        # Packing and checkpointing left on auto reach the plan as auto, not as "off".
        config = app.query_one(JobsLaunchForm).read_config()
        assert config.packing is None and config.gradient_checkpointing is None
        app.query_one("#jobs-packing", Select).value = "on"
        assert app.query_one(JobsLaunchForm).read_config().packing is True


async def test_bad_values_and_bad_inputs_never_launch(
    jobs_home: Config, jobs_store: RunStore, dataset: Path
) -> None:
    app = JobsApp(jobs_home, jobs_store)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(app, pilot)
        set_field(app, "dataset_path", str(dataset))
        set_field(app, "base_model", "demo-tiny")
        set_field(app, "lora_r", "sixteen")
        await settle(app, pilot)
        assert "LoRA r: enter a whole number (not 'sixteen')" in plan_text(app)
        await pilot.press("ctrl+l")
        await settle(app, pilot)
        assert app.focused is app.query_one("#jobs-lora_r", Input)
        assert not isinstance(app.screen, ConfirmScreen)

        set_field(app, "lora_r", "8")
        set_field(app, "base_model", "acme/not-downloaded")
        await settle(app, pilot)
        await pilot.press("ctrl+l")
        await settle(app, pilot)
        assert "huggingface-cli download acme/not-downloaded" in plan_text(app)
        assert not isinstance(app.screen, ConfirmScreen)
    assert jobs_store.list_runs() == []


@pytest.mark.slow
async def test_a_launched_run_is_in_the_store_at_once_learns_and_can_be_cancelled(
    jobs_home: Config, jobs_store: RunStore, dataset: Path
) -> None:
    app = JobsApp(jobs_home, jobs_store)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(app, pilot)
        app.query_one("#jobs-model-pick", Select).value = str(jobs_home.models_dir / "demo-tiny")
        set_field(app, "dataset_path", str(dataset))
        set_field(app, "max_steps", "500")
        set_field(app, "save_steps", "1000")
        app.query_one("#jobs-device", Select).value = "cpu"
        await settle(app, pilot)
        await pilot.press("ctrl+l")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)

        runs = jobs_store.list_runs()
        assert len(runs) == 1 and runs[0].backend == "local"
        run = runs[0]
        assert run.config["max_steps"] == 500 and run.config["learning_rate"] == 0.005
        assert launcher.is_running(run.run_dir)

        # Its loss arrives in the store (which the Runs pane reads) while the app runs.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            jobs_store.ingest_events(run.id)
            if len(jobs_store.metrics(run.id).get("train_loss", [])) >= 3:
                break
            await pilot.pause(0.5)
        assert len(jobs_store.metrics(run.id)["train_loss"]) >= 3, (
            run.run_dir / "train.log"
        ).read_text()

        await settle(app, pilot)
        table = app.query_one(JobsTable)
        assert table.runs[0].id == run.id and table.runs[0].status == "running"
        table.focus()
        await pilot.press("c")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not jobs_store.get_run(run.id).is_terminal:
            await pilot.pause(0.5)
        await settle(app, pilot)
        assert jobs_store.get_run(run.id).status == "cancelled"
        assert not launcher.is_running(run.run_dir)


def test_the_jobs_pane_loads_no_training_stack() -> None:
    code = (
        "import sys, ftui.tui.sections.jobs; "
        "print(','.join(m for m in ('torch','transformers','trl','peft') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
