"""Editing through the keyboard: messages and examples, undo/redo, marks, save (the file on disk
holds exactly the edit), export, quitting with unsaved edits, restore after a crash, and a file
changed on disk by someone else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.widgets import TextArea

from ftui.tui.screens.confirm import ConfirmScreen
from ftui.tui.screens.edit_message import EditMessageScreen, RoleScreen
from ftui.tui.screens.prompt import PromptScreen
from tests.tui.conftest import SIZE, data_section, press, settle


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def messages_of(line: bytes) -> list[dict[str, Any]]:
    return json.loads(line)["messages"]


async def edit_selected_message(pilot: Any, typed: str) -> None:
    """enter opens the editor on the selected message; type at the end; ctrl+s applies."""
    await press(pilot, "enter")
    await pilot.pause()
    assert isinstance(pilot.app.screen, EditMessageScreen)
    area = pilot.app.screen.query_one(TextArea)
    area.move_cursor(area.document.end)
    await press(pilot, *typed)
    await press(pilot, "ctrl+s")
    await settle(pilot)


async def test_edit_a_message_then_save_writes_exactly_that_edit(
    app_factory: Any, demo_path: Path
) -> None:
    before = lines(demo_path)
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        await press(pilot, "c", "j")  # the conversation; its user message
        await edit_selected_message(pilot, " Thanks!")
        assert data.session is not None and data.session.dirty
        assert data.conversation.selected_index == 1
        assert data.session.messages(0)[1]["content"].endswith("Docker? Thanks!")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert not data.session.dirty
    after = lines(demo_path)
    assert len(after) == len(before)
    assert after[1:] == before[1:]  # every other line byte for byte
    edited = messages_of(after[0])
    original = messages_of(before[0])
    assert edited[1]["content"] == original[1]["content"] + " Thanks!"
    assert [m for i, m in enumerate(edited) if i != 1] == [
        m for i, m in enumerate(original) if i != 1
    ]


async def test_undo_and_redo_walk_the_edits(app_factory: Any, demo_path: Path) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        session = data.session
        assert session is not None
        original = session.messages(0)[1]["content"]
        await press(pilot, "c", "j")
        await edit_selected_message(pilot, "!")
        await press(pilot, "ctrl+z")
        await settle(pilot)
        assert session.messages(0)[1]["content"] == original
        assert not session.dirty
        await press(pilot, "U")
        await settle(pilot)
        assert session.messages(0)[1]["content"] == original + "!"
        await press(pilot, "u")
        await settle(pilot)
        assert not session.dirty
        assert data.check_action("undo", ()) is False  # nothing left: hidden from the footer


async def test_role_add_delete_and_move_turns(app_factory: Any, demo_path: Path) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        session = data.session
        assert session is not None
        await press(pilot, "c", "j", "j")  # the assistant reply
        await press(pilot, "a")  # add a turn after it: role first (defaults to user), then text
        await pilot.pause()
        assert isinstance(app.screen, RoleScreen)
        await press(pilot, "enter")
        await pilot.pause()
        assert isinstance(app.screen, EditMessageScreen)
        await press(pilot, *"And with podman?")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert [m["role"] for m in session.messages(0)] == ["system", "user", "assistant", "user"]
        assert session.messages(0)[3]["content"] == "And with podman?"
        assert data.conversation.selected_index == 3

        await press(pilot, "r")  # its role: pick "assistant" (third in the list)
        await pilot.pause()
        await press(pilot, "home", "down", "down", "enter")
        await settle(pilot)
        assert session.messages(0)[3]["role"] == "assistant"

        await press(pilot, "K")  # move it up
        await settle(pilot)
        assert session.messages(0)[2]["content"] == "And with podman?"
        assert data.conversation.selected_index == 2
        await press(pilot, "d")  # and delete it
        await settle(pilot)
        assert len(session.messages(0)) == 3
        assert "podman" not in json.dumps(session.messages(0))


async def test_example_insert_duplicate_move_delete(app_factory: Any, demo_path: Path) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        session = data.session
        assert session is not None
        second = session.value(1)
        await press(pilot, "j", "y")  # duplicate example 2
        await settle(pilot)
        assert len(session) == 69
        assert session.value(2) == second
        assert data.example_list.position == 2
        await press(pilot, "J")  # move the copy down
        await settle(pilot)
        assert session.value(3) == second and data.example_list.position == 3
        await press(pilot, "D")  # delete it
        await settle(pilot)
        assert len(session) == 68
        await press(pilot, "g", "i")  # a new, empty example after the first
        await settle(pilot)
        assert len(session) == 69
        assert [m["role"] for m in session.messages(1)] == ["user", "assistant"]
        assert app.focused is data.conversation
        # The empty example is checked at once: its empty reply is an error.
        assert any(f.severity == "error" for f in session.findings_for(1))


async def test_marks_survive_reordering_and_delete_marked_asks_first(
    app_factory: Any, demo_path: Path
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        session = data.session
        assert session is not None
        third, fourth, fifth = session.value(2), session.value(3), session.value(4)
        await press(pilot, "j", "j", "space", "j", "space")  # space marks, then moves on
        assert data.example_list.marks == {2, 4}
        await press(pilot, "g", "y")  # a copy of example 1 lands at 2: the marks move down
        await settle(pilot)
        assert data.example_list.marks == {3, 5}
        assert session.value(3) == third and session.value(5) == fifth
        await press(pilot, "D")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "escape")  # changed my mind
        assert len(session) == 69
        await press(pilot, "D")
        await pilot.pause()
        await press(pilot, "d")
        await settle(pilot)
        assert len(session) == 67
        kept = [session.value(p) for p in range(6)]
        assert third not in kept and fifth not in kept and fourth in kept
        assert data.example_list.marks == set()


async def test_export_marked_writes_exactly_those_examples(
    app_factory: Any, demo_path: Path, tmp_path: Path
) -> None:
    app = app_factory(demo_path)
    target = tmp_path / "picked.jsonl"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "space", "j", "j", "space", "x")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        prompt = app.screen.query_one("Input")
        prompt.value = str(target)  # type: ignore[attr-defined]
        await press(pilot, "enter")
        await settle(pilot)
    source = lines(demo_path)
    assert lines(target) == [source[0], source[3]]


async def test_quit_with_unsaved_edits_asks_and_can_save(app_factory: Any, demo_path: Path) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "j", "y")
        await settle(pilot)
        await press(pilot, "q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "escape")  # cancel: still running, still dirty
        await pilot.pause()
        assert app.is_running and data_section(app).has_unsaved_changes
        await press(pilot, "q")
        await pilot.pause()
        await press(pilot, "s")  # save and quit
        await settle(pilot)
    assert len(lines(demo_path)) == 69


async def test_quit_without_saving_keeps_the_file_and_sets_the_journal_aside(
    app_factory: Any, demo_path: Path, home: Path
) -> None:
    before = demo_path.read_bytes()
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "y")
        await settle(pilot)
        await press(pilot, "q")
        await pilot.pause()
        await press(pilot, "d")
        await pilot.pause()
    assert demo_path.read_bytes() == before
    journals = list((home / "journals").iterdir())
    assert journals and not any(p.suffix == ".journal" for p in journals)  # set aside, not live


async def test_unsaved_edits_are_restored_after_a_crash(app_factory: Any, demo_path: Path) -> None:
    first = app_factory(demo_path)
    async with first.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c", "j")
        await edit_selected_message(pilot, " (edited before the crash)")
        await press(pilot, "escape")
        # No save, no quit dialog: the process just goes away.
        first.exit()
    second = app_factory(demo_path)
    async with second.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(second.screen, ConfirmScreen)
        assert "1 unsaved edit" in second.screen._body
        await press(pilot, "r")
        await settle(pilot)
        session = data_section(second).session
        assert session is not None and session.dirty
        assert session.messages(0)[1]["content"].endswith("(edited before the crash)")


async def test_a_file_changed_on_disk_is_not_overwritten_without_asking(
    app_factory: Any, demo_path: Path
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        await press(pilot, "y")
        await settle(pilot)
        theirs = demo_path.read_bytes() + demo_path.read_bytes().splitlines(keepends=True)[0]
        demo_path.write_bytes(theirs)
        data._check_disk()  # what the periodic check does
        await settle(pilot)
        assert any("changed on disk" in n.message for n in app._notifications)
        await press(pilot, "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "escape")
        await pilot.pause()
        assert demo_path.read_bytes() == theirs  # untouched
        await press(pilot, "ctrl+s")
        await pilot.pause()
        await press(pilot, "a")  # save as
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        await press(pilot, "enter")  # the suggested name
        await settle(pilot)
        assert demo_path.read_bytes() == theirs
        saved = demo_path.with_name("demo_chat.edited.jsonl")
        assert len(lines(saved)) == 69
        assert data.path == saved and data.session is not None and not data.session.dirty


async def test_unchanged_file_changed_on_disk_offers_to_reload(
    app_factory: Any, demo_path: Path
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        demo_path.write_bytes(demo_path.read_bytes().splitlines(keepends=True)[0] * 3)
        data._check_disk()
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "r")
        await settle(pilot)
        assert data.session is not None and len(data.session) == 3


async def test_a_message_with_tool_calls_is_edited_as_json(
    app_factory: Any, demo_path: Path
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        session = data.session
        assert session is not None
        data.example_list.go_to_position(6)  # line 7: the assistant calls a tool
        await settle(pilot)
        await press(pilot, "c", "j", "j", "enter")
        editor = app.screen
        assert isinstance(editor, EditMessageScreen)
        area = editor.query_one(TextArea)
        assert json.loads(area.text) == session.messages(6)[2]
        area.text = "{not json"
        await press(pilot, "ctrl+s")
        assert app.screen is editor  # refused, with the position of the mistake
        assert "Not valid JSON" in str(editor.query_one("#editor-error").render())
        area.text = area.text.replace("{not json", json.dumps(session.messages(6)[2]))
        area.text = area.text.replace("get_server_status", "get_server_health")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        call = session.messages(6)[2]["tool_calls"][0]
        assert call["function"]["name"] == "get_server_health"
        assert session.messages(6)[3]["tool_call_id"] == call["id"]  # the rest is untouched
