"""The shell: sections on keys, the header, the help screen and the palette generated from the
bindings, quitting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.binding import Binding
from textual.command import CommandPalette
from textual.widgets import ContentSwitcher

from ftui.tui.keymap import CommandsProvider, collect_commands
from ftui.tui.messages import DatasetStateChanged, OpenDataset
from ftui.tui.screens.help import HelpScreen
from ftui.tui.sections.slot import SectionSlot
from ftui.tui.widgets.header import WorkbenchHeader
from tests.tui.conftest import SIZE, Recorder, data_section, press, settle


def declared_keys(node: Any) -> set[str]:
    """Every key the ftui classes of `node` declare."""
    keys = set()
    for cls in type(node).__mro__:
        if cls.__module__.startswith("ftui.") and "BINDINGS" in cls.__dict__:
            keys.update(b.key for b in Binding.make_bindings(cls.__dict__["BINDINGS"]))
    return keys


async def test_without_a_dataset_the_data_section_says_how_to_open_one(app_factory: Any) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        empty = app.screen.query_one("#data-empty")
        assert empty.display
        assert "ftui demo" in str(empty.render())
        assert app.screen.query_one(WorkbenchHeader)._dataset_text().plain == "no dataset open"
        # Only "open" makes sense without a dataset.
        data = data_section(app)
        assert data.check_action("open", ()) is True
        assert data.check_action("save", ()) is False


async def test_number_keys_switch_sections_and_load_them_on_first_visit(
    app_factory: Any, demo_path: Path
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        switcher = app.screen.query_one(ContentSwitcher)
        assert switcher.current == "data"
        await press(pilot, "4")
        await settle(pilot)
        assert switcher.current == "judge"
        judge = app.screen.query_one("#judge", SectionSlot)
        assert judge.state == "ready"
        assert app.screen.query_one(WorkbenchHeader).section == "judge"
        await press(pilot, "3")
        await settle(pilot)
        assert switcher.current == "runs"
        runs = app.screen.query_one("#runs", SectionSlot)
        assert runs.state in ("ready", "unavailable")  # mounted, or says why not
        await press(pilot, "1")
        await pilot.pause()
        assert switcher.current == "data"
        assert app.focused is data_section(app).example_list


async def test_open_dataset_request_from_another_section_opens_it(
    app_factory: Any, demo_path: Path
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "4")
        await pilot.pause()
        app.screen.post_message(OpenDataset(demo_path))
        await settle(pilot)
        assert app.screen.query_one(ContentSwitcher).current == "data"
        data = data_section(app)
        assert data.session is not None and len(data.session) == 68


async def test_header_shows_the_dataset_and_its_dirty_state(
    app_factory: Any, demo_path: Path, recorder: Recorder
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE, message_hook=recorder) as pilot:
        await settle(pilot)
        header = app.screen.query_one(WorkbenchHeader)
        state = header.dataset
        assert state is not None and state.path == demo_path
        assert state.examples == 68 and not state.dirty and not state.indexing
        await press(pilot, "y")  # duplicate: an edit
        await pilot.pause()
        assert header.dataset is not None and header.dataset.dirty
        assert header._dataset_text().plain.endswith("● unsaved")
        assert any(m.dirty for m in recorder.of(DatasetStateChanged))


async def test_help_lists_every_key_declared_on_screen(app_factory: Any, demo_path: Path) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        await press(pilot, "question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        listed = {key for entry in help_screen._entries for key in entry.keys}
        # Generated from the bindings: nothing declared is missing from the help.
        for node in (app, data, data.example_list, data.conversation, data.pane):
            for key in declared_keys(node):
                display = app.get_key_display(Binding(key, "x"))
                assert display in listed, (type(node).__name__, key)
        owners = {entry.owner for entry in help_screen._entries}
        assert {"Workbench", "Data", "Example list", "Conversation", "Validation"} <= owners
        await press(pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_palette_holds_every_command_and_runs_it(app_factory: Any, demo_path: Path) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        entries = [e for e in collect_commands(app.screen) if not e.navigation]
        titles = {f"{e.owner}: {e.label}" for e in entries}
        assert {"Data: Save", "Validation: Drop duplicates", "Example list: Mark"} <= titles
        provider = CommandsProvider(app.screen)
        found = [hit async for hit in provider.search("drop duplicates")]
        assert found and found[0].text == "Validation: Drop duplicates"
        discovered = [hit async for hit in provider.discover()]
        assert len(discovered) == len([e for e in entries if e.enabled])

        await press(pilot, "ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        # Pilot.press here: the palette searches in a worker of its own, and this waits for it.
        await pilot.press(*"drop duplicates")
        await pilot.pause(0.3)
        await pilot.press("down", "enter")
        await settle(pilot)
        data = data_section(app)
        assert data.session is not None and len(data.session) == 67  # the duplicate is gone


async def test_quit_without_edits_exits_at_once(app_factory: Any, demo_path: Path) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "q")
        await pilot.pause()
        assert app.return_code == 0 or not app.is_running
