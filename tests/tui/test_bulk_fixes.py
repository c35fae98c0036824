"""The validation pane's bulk fixes: each is one edit, made from the keyboard, undone as one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.widgets import Input

from ftui.tui.screens.prompt import PromptScreen
from ftui.tui.sections.data.edit import FixComputed
from tests.tui.conftest import SIZE, Recorder, data_section, press, settle


async def focus_pane(pilot: Any) -> Any:
    data = data_section(pilot.app)
    data.pane.findings_tree.focus()
    await pilot.pause()
    return data


def codes(data: Any) -> set[str]:
    return {finding.code for finding in data.session.findings}


async def test_drop_duplicates_then_undo(
    app_factory: Any, demo_path: Path, recorder: Recorder
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE, message_hook=recorder) as pilot:
        await settle(pilot)
        data = await focus_pane(pilot)
        before = [data.session.value(p) for p in range(len(data.session))]
        assert "duplicate_example" in codes(data)
        await press(pilot, "d")
        await settle(pilot)
        assert len(data.session) == 67
        assert "duplicate_example" not in codes(data)  # re-checked at once
        [computed] = recorder.of(FixComputed)  # worked out in a worker, applied as one edit
        assert computed.kind == "duplicates" and computed.edit.describe().startswith("drop 1")
        assert data.session.value(1) == before[1]  # the first of the two is kept
        assert data.session.value(22) == before[23]
        await press(pilot, "u")
        await settle(pilot)
        assert [data.session.value(p) for p in range(len(data.session))] == before
        assert not data.session.dirty


async def test_drop_over_a_token_limit_asks_for_the_limit(
    app_factory: Any, demo_path: Path
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = await focus_pane(pilot)
        session = data.session
        long_ones = [p for p in range(len(session)) if session.tokens(p) > 300]
        assert 0 < len(long_ones) < len(session)
        await press(pilot, "l")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        field = app.screen.query_one(Input)
        assert int(field.value) == session.token_limit()  # the model's own, proposed
        field.value = "abc"
        await press(pilot, "enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)  # refused, with a reason
        field.value = "300"
        await press(pilot, "enter")
        await settle(pilot)
        assert len(session) == 68 - len(long_ones)
        assert all(session.tokens(p) <= 300 for p in range(len(session)))
        await press(pilot, "ctrl+z")
        await settle(pilot)
        assert len(session) == 68


async def test_add_a_system_prompt_where_there_is_none(
    app_factory: Any, tmp_path: Path, shared_datasets: Path
) -> None:
    # An Alpaca JSON array with no system prompts: the fix is made on the chat messages and
    # saved back as Alpaca records, other keys kept.
    source = shared_datasets / "alpaca" / "torchtune_alpaca_tiny.json"
    path = tmp_path / "alpaca.json"
    path.write_bytes(source.read_bytes())
    prompt = "You answer in one short paragraph."
    app = app_factory(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = await focus_pane(pilot)
        session = data.session
        assert all(session.messages(p)[0]["role"] != "system" for p in range(len(session)))
        await press(pilot, "s")
        await pilot.pause()
        app.screen.query_one(Input).value = prompt
        await press(pilot, "enter")
        await settle(pilot)
        system = {"role": "system", "content": prompt}
        assert all(session.messages(p)[0] == system for p in range(len(session)))
        assert session.undo_label.startswith("add a system prompt to 100")
        await press(pilot, "u")
        await settle(pilot)
        assert all(session.messages(p)[0]["role"] != "system" for p in range(len(session)))
        await press(pilot, "U", "ctrl+s")
        await settle(pilot)
    records = json.loads(path.read_text("utf-8"))
    originals = json.loads(source.read_text("utf-8"))
    assert len(records) == len(originals) == 100
    assert all(r["system"] == prompt for r in records)
    assert [{k: v for k, v in r.items() if k != "system"} for r in records] == originals


async def test_nothing_to_fix_says_so(app_factory: Any, tmp_path: Path) -> None:
    path = tmp_path / "clean.jsonl"
    path.write_text(
        '{"messages": [{"role": "user", "content": "hi there"}, '
        '{"role": "assistant", "content": "hello, how can I help?"}]}\n'
    )
    app = app_factory(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = await focus_pane(pilot)
        await press(pilot, "d")
        await settle(pilot)
        assert any("Nothing to fix" in n.message for n in app._notifications)
        assert not data.session.dirty
