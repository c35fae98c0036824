"""Browsing a dataset: rows, the conversation of the selected example, the validation pane, and
walking from a finding to the example and message it is about."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Tree

from ftui.core.dataset.demo import DEMO_DEFECTS
from ftui.tui.widgets.conversation_view import message_title
from tests.tui.conftest import SIZE, data_section, press, settle


def message_titles(app: Any) -> list[str]:
    conversation = data_section(app).conversation
    assert conversation.shown is not None
    return [message_title(i, m) for i, m in enumerate(conversation.shown.messages)]


def row_text(app: Any, position: int) -> str:
    example_list = data_section(app).example_list
    y = position - round(example_list.scroll_offset.y) + 1
    return example_list.render_line(y).text


async def test_opening_shows_rows_the_conversation_and_token_counts(
    app_factory: Any, demo_path: Path
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        assert data.example_list.row_count == 68
        assert "How do I install Inkwell" in row_text(app, 0)
        assert message_titles(app) == ["1 · system", "2 · user", "3 · assistant"]
        shown = data.conversation.shown
        assert shown is not None and all(t is not None for t in shown.message_tokens)
        text = data.conversation.text()
        assert "1 · system" in text and "How do I install Inkwell with Docker?" in text
        assert f"{shown.message_tokens[1]} tokens" in text
        # The example's total is the cookbook's: messages plus 3.
        total = sum(t for t in shown.message_tokens if t is not None) + 3
        assert data.session is not None and data.session.tokens(0) == total
        assert f"{total:,} tokens" in str(data.conversation.border_subtitle)

        await press(pilot, "down")
        await pilot.pause()
        assert str(data.conversation.border_title) == "Example 2 · line 2"


async def test_tool_calls_and_tool_replies_read_as_json(app_factory: Any, demo_path: Path) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        data.example_list.go_to_position(6)  # line 7: a tool call and its reply
        await settle(pilot)
        titles = message_titles(app)
        assert titles[3].startswith("4 · tool ←")
        text = data.conversation.text()
        assert "→ call get_server_status" in text
        assert '"version": "3.2.1",' in text  # the tool's JSON reply, pretty-printed


async def test_validation_pane_groups_every_planted_defect(
    app_factory: Any, demo_path: Path
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = data_section(app).pane
        codes = {node.data for node in pane.findings_tree.root.children}
        assert {defect.code for defect in DEMO_DEFECTS} <= codes
        assert str(pane.border_title).startswith("Validation · 3 errors · 3 warnings")
        assert pane.counts["error"] == 3
        # Rows carry badges.
        assert "✖ unrecognized_role" in row_text(app, 8)


async def test_enter_on_a_finding_jumps_to_its_example_and_message(
    app_factory: Any, demo_path: Path
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        tree = data.pane.findings_tree
        group = next(n for n in tree.root.children if n.data == "unrecognized_role")
        group.expand()
        await pilot.pause()
        tree.focus()
        tree.move_cursor(group.children[0])
        await press(pilot, "enter")
        await settle(pilot)
        finding = group.children[0].data
        assert data.example_list.position == finding.example == 8
        assert data.conversation.selected_index == finding.message_index == 2  # S U ? A
        assert app.focused is tree  # walk on from the tree with the arrows


async def test_error_and_finding_keys_walk_the_problems(app_factory: Any, demo_path: Path) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        example_list = data_section(app).example_list
        error_lines = sorted(d.line for d in DEMO_DEFECTS if d.code in _ERRORS)
        await press(pilot, "e")
        assert example_list.position == error_lines[0] - 1
        await press(pilot, "e")
        assert example_list.position == error_lines[1] - 1
        await press(pilot, "E", "E")
        assert example_list.position == error_lines[-1] - 1  # wrapped around backwards
        await press(pilot, "g", "right_square_bracket", "right_square_bracket")
        warned = sorted(
            d.line - 1 for d in DEMO_DEFECTS if d.code not in {"long_assistant_reply"} | _NO_LINE
        )
        assert example_list.position == warned[1]


_ERRORS = {"unrecognized_role", "missing_content", "example_missing_assistant_message"}
_NO_LINE = {"inconsistent_system_prompt"}  # about the whole file


async def test_unparsable_line_is_listed_with_its_raw_text(
    app_factory: Any, tmp_path: Path
) -> None:
    good = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(good) + "\n" + '{"messages": [ oops\n' + json.dumps(good) + "\n")
    app = app_factory(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        assert data.example_list.row_count == 3
        await press(pilot, "j")
        await settle(pilot)
        notes = data.conversation.text()
        assert "invalid_json" in notes and "oops" in notes
        assert "✖ invalid_json" in row_text(app, 1)


async def test_a_missing_file_is_reported_and_nothing_breaks(
    app_factory: Any, tmp_path: Path
) -> None:
    app = app_factory(tmp_path / "nope.jsonl")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert data_section(app).session is None
        assert any("nope.jsonl" in n.message for n in app._notifications)
        assert app.screen.query_one("#data-empty").display


@pytest.mark.parametrize(
    ("relative", "count", "roles"),
    [
        ("alpaca/alpaca_en_demo.json", None, ("user", "assistant")),
        ("sharegpt/glaive_toolcall_en_demo.json", None, None),
        ("openai-chat/fluid_train.jsonl", 257, None),
    ],
)
async def test_real_datasets_of_each_format_browse(
    app_factory: Any, shared_datasets: Path, relative: str, count: int | None, roles: Any
) -> None:
    path = shared_datasets / relative
    app = app_factory(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        assert data.session is not None
        expected = count if count is not None else len(json.loads(path.read_text("utf-8")))
        assert data.example_list.row_count == expected
        titles = message_titles(app)
        assert titles
        if roles is not None:
            assert [t.split(" · ")[1] for t in titles][-2:] == list(roles)
        assert isinstance(data.pane.findings_tree, Tree)
        assert not data.validating
