"""How the workbench's Data section and its dialogs look (behaviour is asserted in tests/tui).

Deterministic: the demo dataset in a home at a fixed path, every worker finished before the
picture, the machine-dependent backend summary in the header fixed, no cursor blink.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from ftui.config import Config
from ftui.core.dataset.demo import create_demo_workspace
from ftui.tui.app import FtuiApp, make_app
from ftui.tui.widgets.header import WorkbenchHeader
from tests.tui.conftest import data_section, settle

SIZE = (140, 40)
BACKENDS = "local: CPU · OpenAI: no key"


@pytest.fixture
def place() -> Iterator[Path]:
    # The path shows in some pictures, so it is fixed; tests run two at a time (-n 2), so one
    # holds it at a time, or one test's cleanup deletes the dataset another has open.
    root = Path(tempfile.gettempdir()) / "ftui-data-snapshots"
    with (Path(tempfile.gettempdir()) / "ftui-data-snapshots.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        yield root
        shutil.rmtree(root, ignore_errors=True)


def app_on_demo(place: Path) -> FtuiApp:
    dataset = create_demo_workspace(place / "workspace")
    return make_app(Config(home=place / "home"), dataset)


def then(*steps: Any) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Settle, fix the header, then run each step (keys to press, or a callable)."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for step in steps:
            if isinstance(step, str):
                await pilot.press(*step.split())
            else:
                await step(pilot)
            await settle(pilot)
        pilot.app.screen.app.query_one(WorkbenchHeader).backends = BACKENDS
        await pilot.pause()

    return run_before


def test_data_section_on_the_demo(snap_compare: Any, place: Path) -> None:
    assert snap_compare(app_on_demo(place), terminal_size=SIZE, run_before=then())


def test_conversation_with_a_tool_call(snap_compare: Any, place: Path) -> None:
    assert snap_compare(
        app_on_demo(place), terminal_size=SIZE, run_before=then("j j j j j j c j j")
    )


def test_search_with_only_matches_shown(snap_compare: Any, place: Path) -> None:
    async def search(pilot: Pilot[Any]) -> None:
        await pilot.press("slash")
        await pilot.pause()
        pilot.app.screen.query_one("#search-input").value = "role:tool"  # type: ignore[attr-defined]
        await pilot.press("enter")

    assert snap_compare(app_on_demo(place), terminal_size=SIZE, run_before=then(search, "f"))


def test_findings_group_open(snap_compare: Any, place: Path) -> None:
    async def open_group(pilot: Pilot[Any]) -> None:
        tree = data_section(pilot.app).pane.findings_tree  # type: ignore[arg-type]
        tree.focus()
        tree.root.children[0].expand()

    assert snap_compare(app_on_demo(place), terminal_size=SIZE, run_before=then(open_group))


def test_message_editor(snap_compare: Any, place: Path) -> None:
    assert snap_compare(app_on_demo(place), terminal_size=SIZE, run_before=then("c j enter"))


def test_help_screen(snap_compare: Any, place: Path) -> None:
    assert snap_compare(app_on_demo(place), terminal_size=SIZE, run_before=then("question_mark"))


def test_quit_with_unsaved_edits(snap_compare: Any, place: Path) -> None:
    assert snap_compare(app_on_demo(place), terminal_size=SIZE, run_before=then("y q"))


def test_no_dataset_open(snap_compare: Any, place: Path) -> None:
    app = make_app(Config(home=place / "home"))
    assert snap_compare(app, terminal_size=SIZE, run_before=then())


# -- at 80x24, the size of many SSH terminals: the list keeps most of the height -----------------

SMALL = (80, 24)
MACHINE = "no GPU: CPU with 16.0 GiB RAM (12.0 GiB free)"


def test_data_section_at_80x24(snap_compare: Any, place: Path) -> None:
    assert snap_compare(app_on_demo(place), terminal_size=SMALL, run_before=then())


def test_jobs_section_at_80x24(snap_compare: Any, place: Path) -> None:
    async def fix_the_machine_line(pilot: Pilot[Any]) -> None:
        pilot.app.screen.query_one("#jobs-machine", Static).update(MACHINE)

    assert snap_compare(
        app_on_demo(place), terminal_size=SMALL, run_before=then("2", fix_the_machine_line)
    )
