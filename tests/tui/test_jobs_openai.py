"""The Jobs pane's OpenAI form, driven with Pilot against the test OpenAI server: by keyboard
through the check and the confirmation to a run in the history that follows the job live; a
dataset with errors refused with its lines; no key, the message that says how to set one; and
the key never on screen."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from ftui.config import Config
from ftui.services.root import Services
from ftui.tui.app import make_app
from ftui.tui.screens.confirm import ConfirmScreen
from ftui.tui.sections import jobs as jobs_module
from ftui.tui.sections.jobs import JobsPane
from ftui.tui.sections.jobs_openai import CHECK_DELAY_S
from ftui.tui.sections.runs import RunsPane
from ftui.tui.stylesheet import APP_CSS, HORIZONTAL_BREAKPOINTS, VERTICAL_BREAKPOINTS
from ftui.tui.widgets.jobs_table import JobsTable
from tests.tui.conftest import SIZE, press, settle
from tests.unit.openai_support import config_for, write_chat

PRICES_AS_OF = "2025-06-01"


@pytest.fixture
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    # The follower process waits 1/100 of what it would (the server's clock is the test's).
    monkeypatch.setenv("FTUI_OPENAI_POLL_SCALE", "0.01")


@pytest.fixture
def torch_here(monkeypatch: pytest.MonkeyPatch) -> None:
    # A machine that can train both ways: the Jobs pane opens on the local form.
    monkeypatch.setattr(jobs_module, "torch_installed", lambda: True)


class OpenAIJobsApp(App[None]):
    CSS_PATH = APP_CSS
    HORIZONTAL_BREAKPOINTS = HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = VERTICAL_BREAKPOINTS

    def __init__(self, config: Config, dataset: Path) -> None:
        super().__init__()
        self.services = Services(config)
        self.dataset = dataset

    def compose(self) -> ComposeResult:
        yield JobsPane(self.services, dataset=self.dataset, backend="openai", refresh_interval=None)

    def on_unmount(self) -> None:
        self.services.close()


def plan_text(app: App[Any]) -> str:
    return str(app.screen.query_one("#openai-plan-text", Static).render())


def screen_text(app: App[Any]) -> str:
    return app.export_screenshot()


async def until(pilot: Pilot[Any], done: Any, timeout: float = 60.0) -> None:
    """Let the app run until `done()` holds (a follower process is outside the app's workers)."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await pilot.pause(0.1)


async def checked(pilot: Pilot[Any]) -> None:
    """Past the form's typing pause (the check waits for it), then until the check is done."""
    await pilot.pause(CHECK_DELAY_S + 0.1)
    await settle(pilot)


async def type_into(pilot: Pilot[Any], text: str) -> None:
    await press(pilot, "ctrl+u", *text)  # ctrl+u: clear what is left of the cursor


async def tab_to(pilot: Pilot[Any], widget_id: str, limit: int = 20) -> None:
    for _ in range(limit):
        if pilot.app.focused is not None and pilot.app.focused.id == widget_id:
            return
        await press(pilot, "tab")
    raise AssertionError(f"Tab never reached #{widget_id} (at {pilot.app.focused})")


async def test_an_openai_job_from_the_form_to_a_run_in_the_history(
    fake_openai: Any, fast_polls: None, torch_here: None, tmp_path: Path
) -> None:
    data = write_chat(tmp_path / "train.jsonl", 20)
    app = make_app(config_for(fake_openai, tmp_path / "home"), data)
    key = fake_openai.api_key
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "2")
        await until(pilot, lambda: bool(app.screen.query(JobsPane)))
        await settle(pilot)
        pane = app.screen.query_one(JobsPane)
        # The backend choice, by keyboard: the OpenAI form, on the dataset open in Data.
        await press(pilot, "ctrl+b")
        await settle(pilot)
        assert pane.backend_name == "openai"
        assert not app.screen.query_one("#jobs-main").display
        assert app.screen.query_one("#openai-dataset", Input).value == str(data)
        assert not app.screen.query_one("#openai-row-beta").display  # supervised: no beta

        # The model picker lists the fine-tunable models, each with its price per 1M tokens.
        picker = app.screen.query_one("#openai-model", Select)
        labels = [str(prompt) for prompt, _value in picker._options]
        assert "gpt-4o-mini-2024-07-18  $3/1M" in labels
        assert "gpt-4.1-nano-2025-04-14  $1.5/1M" in labels

        await tab_to(pilot, "openai-n_epochs")
        await type_into(pilot, "2")
        await tab_to(pilot, "openai-suffix")
        await type_into(pilot, "pilot")
        await checked(pilot)
        # The live check: examples and the cost with its date, before anything is sent.
        shown = plan_text(app)
        assert "(20 examples)" in shown and f"prices of {PRICES_AS_OF}" in shown
        assert "Ready" in shown

        await press(pilot, "ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        body = str(app.screen.query_one(".dialog-body", Static).render())
        assert "billed tokens (2 epochs)" in body and "Nothing has been sent yet" in body
        assert fake_openai.count("POST", "/v1/files") == 0  # asked before any upload
        await press(pilot, "y")
        await settle(pilot)

        store = app.services.store
        runs = store.list_runs(backend="openai")
        assert len(runs) == 1
        run = runs[0]
        assert run.remote_job_id in fake_openai.jobs
        sent = fake_openai.jobs[run.remote_job_id].request
        assert sent["suffix"] == "pilot"
        assert sent["method"]["supervised"]["hyperparameters"]["n_epochs"] == 2
        # The launch's steps were shown, and the job is in the Jobs table at once.
        shown = plan_text(app)
        assert "Uploading train.jsonl" in shown and "Creating the fine-tuning job" in shown
        assert [r.id for r in pane.table.runs] == [run.id]
        assert key not in screen_text(app)

        # Pause and resume it from the table: OpenAI can, so the keys are on.
        await press(pilot, "ctrl+j")
        assert app.focused is pane.table
        await press(pilot, "p")
        await settle(pilot)
        assert store.get_run(run.id).remote_status == "paused"
        assert fake_openai.jobs[run.remote_job_id].status == "paused"
        await press(pilot, "r")
        await settle(pilot)
        # The follower may write a poll it made before the resume just after it: the run says
        # "paused" until its next poll. What counts is that it stops saying so.
        await until(pilot, lambda: store.get_run(run.id).remote_status != "paused")
        assert store.get_run(run.id).remote_status != "paused"

        # In the Runs section, and followed live to its end by its follower process.
        await press(pilot, "3")
        await until(pilot, lambda: bool(app.screen.query(RunsPane)))
        await settle(pilot)
        runs_pane = app.screen.query_one(RunsPane)
        await until(pilot, lambda: [r.id for r in runs_pane.table.runs] == [run.id])
        fake_openai.clock.advance(3600)
        await until(
            pilot,
            lambda: runs_pane.table.runs and runs_pane.table.runs[0].status == "succeeded",
        )
        assert key not in screen_text(app)
    done = store.get_run(run.id)
    assert done.output_model and done.output_model.startswith("ft:")
    assert key.encode() not in run.events_path.read_bytes()


async def test_the_runs_section_open_before_the_launch_lists_the_new_run(
    fake_openai: Any, torch_here: None, tmp_path: Path
) -> None:
    data = write_chat(tmp_path / "train.jsonl", 12)
    config = config_for(fake_openai, tmp_path / "home")
    app = make_app(config, data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "3")
        await until(pilot, lambda: bool(app.screen.query(RunsPane)))
        await settle(pilot)
        runs_pane = app.screen.query_one(RunsPane)
        assert runs_pane.table.runs == []
        await press(pilot, "2")
        await until(pilot, lambda: bool(app.screen.query(JobsPane)))
        await settle(pilot)
        app.services.openai.start_followers = False  # this test does not follow the job
        await press(pilot, "ctrl+b")
        await settle(pilot)
        await press(pilot, "ctrl+l")
        await settle(pilot)
        await press(pilot, "y")
        await settle(pilot)
        (run,) = app.services.store.list_runs()
        assert [r.id for r in runs_pane.table.runs] == [run.id]
        # A second launch: the list shows it on top, and the cursor goes to it (not the old one,
        # which a key such as p would otherwise act on).
        await press(pilot, "ctrl+l")
        await settle(pilot)
        await press(pilot, "y")
        await settle(pilot)
        newest, older = app.services.store.list_runs()
        assert [r.id for r in runs_pane.table.runs] == [newest.id, older.id] and older.id == run.id
        assert runs_pane.table.run_id == newest.id


async def test_a_dataset_with_errors_is_refused_with_its_lines(
    fake_openai: Any, tmp_path: Path
) -> None:
    bad = write_chat(tmp_path / "bad.jsonl", 20, broken_line=4)
    app = OpenAIJobsApp(config_for(fake_openai, tmp_path / "home"), bad)
    async with app.run_test(size=(120, 36)) as pilot:
        await checked(pilot)
        assert f"{bad}, line 4" in plan_text(app)  # the live check already says where
        await press(pilot, "ctrl+l")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        shown = plan_text(app)
        assert f"{bad}, line 4" in shown and "nothing is uploaded" in shown
        assert fake_openai.count("POST", "/v1/files") == 0
        assert app.services.store.list_runs() == []


async def test_no_key_says_how_to_set_one_and_launches_nothing(
    fake_openai: Any, tmp_path: Path
) -> None:
    data = write_chat(tmp_path / "train.jsonl", 20)
    config = Config(home=tmp_path / "home")  # no key anywhere
    app = OpenAIJobsApp(config, data)
    async with app.run_test(size=(120, 36)) as pilot:
        await checked(pilot)
        shown = plan_text(app)
        assert "No OpenAI API key is configured" in shown
        assert "Set OPENAI_API_KEY in the environment" in shown
        assert "[openai] section of the settings file" in shown
        assert "OpenAI: no API key" in str(app.query_one("#jobs-machine", Static).render())
        await press(pilot, "ctrl+l")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert "Traceback" not in screen_text(app)
        assert any("OPENAI_API_KEY" in n.message for n in app._notifications)
        assert app.services.store.list_runs() == []


async def test_the_table_offers_what_the_backend_can_do(fake_openai: Any, tmp_path: Path) -> None:
    data = write_chat(tmp_path / "train.jsonl", 20)
    app = OpenAIJobsApp(config_for(fake_openai, tmp_path / "home"), data)
    async with app.run_test(size=(120, 36)) as pilot:
        await checked(pilot)
        table = app.query_one(JobsTable)
        assert table.check_action("request", ("pause",))
        assert not table.check_action("request", ("again",))  # OpenAI runs are not re-run here
        await press(pilot, "ctrl+b")  # back to local: no pause
        await settle(pilot)
        assert app.query_one(JobsPane).backend_name == "local"
        assert not table.check_action("request", ("pause",))
        assert table.check_action("request", ("resume",))


async def test_dpo_shows_beta_and_a_bad_value_names_its_field(
    fake_openai: Any, tmp_path: Path
) -> None:
    data = write_chat(tmp_path / "train.jsonl", 20)
    app = OpenAIJobsApp(config_for(fake_openai, tmp_path / "home"), data)
    async with app.run_test(size=(120, 36)) as pilot:
        await checked(pilot)
        app.query_one("#openai-method", Select).value = "dpo"
        await checked(pilot)
        assert app.query_one("#openai-row-beta").display
        assert "OpenAI's dpo fine-tuning takes dpo format" in plan_text(app)  # chat data
        app.query_one("#openai-learning_rate_multiplier", Input).value = "fast"
        await checked(pilot)
        assert "LR multiplier" in plan_text(app)
        await press(pilot, "ctrl+l")
        await settle(pilot)
        assert app.focused is app.query_one("#openai-learning_rate_multiplier", Input)
        assert not isinstance(app.screen, ConfirmScreen)


class StartingApp(App[None]):
    """The Jobs pane as the workbench builds it (no backend named), with the torch check given."""

    CSS_PATH = APP_CSS
    HORIZONTAL_BREAKPOINTS = HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = VERTICAL_BREAKPOINTS

    def __init__(self, config: Config, has_torch: bool) -> None:
        super().__init__()
        self.services = Services(config)
        self.has_torch = has_torch

    def compose(self) -> ComposeResult:
        yield JobsPane(self.services, torch_check=lambda: self.has_torch, refresh_interval=None)

    def on_unmount(self) -> None:
        self.services.close()


@pytest.mark.parametrize(
    ("key", "has_torch", "starts_on"),
    [
        (True, False, "openai"),  # the laptop user: OpenAI is the only way to train
        (True, True, "local"),
        (False, False, "local"),  # no key: the local form says what to install
        (False, True, "local"),
    ],
)
async def test_the_pane_starts_on_the_form_this_machine_can_use(
    fake_openai: Any, tmp_path: Path, key: bool, has_torch: bool, starts_on: str
) -> None:
    home = tmp_path / "home"
    config = config_for(fake_openai, home) if key else Config(home=home)
    app = StartingApp(config, has_torch)
    async with app.run_test(size=(120, 36)) as pilot:
        await checked(pilot)
        pane = app.query_one(JobsPane)
        assert pane.backend_name == starts_on
        assert app.query_one("#jobs-backend", Select).value == starts_on
        assert app.query_one("#openai-main").display == (starts_on == "openai")
        assert app.query_one("#jobs-main").display == (starts_on == "local")
        assert pane.table.border_title == ("OpenAI jobs" if starts_on == "openai" else "Local runs")


async def test_the_laptop_user_opens_jobs_on_the_openai_form(
    fake_openai: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs_module, "torch_installed", lambda: False)
    data = write_chat(tmp_path / "train.jsonl", 20)
    app = make_app(config_for(fake_openai, tmp_path / "home"), data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "2")
        await until(pilot, lambda: bool(app.screen.query(JobsPane)))
        await checked(pilot)
        pane = app.screen.query_one(JobsPane)
        assert pane.backend_name == "openai"
        assert app.screen.query_one("#openai-dataset", Input).value == str(data)
        assert "(20 examples)" in plan_text(app)  # shown, so it was checked at once


async def test_metadata_from_the_form_reaches_the_create_request(
    fake_openai: Any, tmp_path: Path
) -> None:
    data = write_chat(tmp_path / "train.jsonl", 20)
    app = OpenAIJobsApp(config_for(fake_openai, tmp_path / "home"), data)
    app.services.openai.start_followers = False  # this test does not follow the job
    async with app.run_test(size=(120, 36)) as pilot:
        await checked(pilot)
        await tab_to(pilot, "openai-metadata")
        # Seventeen pairs: the job config refuses them, in the check beside the form.
        await type_into(pilot, ", ".join(f"k{n}=v" for n in range(17)))
        await checked(pilot)
        assert "The metadata has 17 pairs; OpenAI takes at most 16" in plan_text(app)
        await type_into(pilot, "team=nlp, oops")
        await checked(pilot)
        assert "Metadata: write each pair as key=value, not 'oops'." in plan_text(app)
        await type_into(pilot, " team = nlp , ticket=FT-42,")
        await checked(pilot)
        assert "Ready" in plan_text(app)
        await press(pilot, "ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        await settle(pilot)
        (run,) = app.services.store.list_runs(backend="openai")
        sent = fake_openai.jobs[run.remote_job_id].request
        # The user's pairs as typed (spaces trimmed), and the tag that names the run.
        assert sent["metadata"] == {"team": "nlp", "ticket": "FT-42", "ftui_run": run.id}
        assert run.config["metadata"] == {"team": "nlp", "ticket": "FT-42"}
