"""The generate screen: from the open dataset, a distillation job runs against the fake chat
server, shows its progress, and its output opens in the Data pane with every example's origin
in the store; a bad template is refused before any call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from textual.widgets import Input, Select, Static, TextArea

from ftui.core.dataset.origin import example_key
from ftui.tui.messages import OpenDataset
from ftui.tui.screens.generate import GenerateScreen
from tests.support.fake_chat import FakeChat, made_up_words
from tests.tui.conftest import Recorder, data_section, press, settle

SIZE = (120, 36)


def dataset(path: Path, n: int) -> Path:
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"Why {made_up_words(str(i), 4)}?"},
                {"role": "assistant", "content": "old"},
            ]
        }
        for i in range(n)
    ]
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    return path


async def open_screen(pilot: Any) -> GenerateScreen:
    await settle(pilot)
    await press(pilot, "ctrl+g")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, GenerateScreen)
    return screen


async def test_a_distillation_ends_in_the_data_pane(
    app_factory: Any, tmp_path: Path, fake_chat: FakeChat, recorder: Recorder
) -> None:
    src = dataset(tmp_path / "prompts.jsonl", 5)
    out = tmp_path / "prompts.generated.jsonl"
    app = app_factory(src)
    async with app.run_test(size=SIZE, message_hook=recorder) as pilot:
        screen = await open_screen(pilot)
        assert screen.query_one("#gen-source", Input).value == str(src)
        assert screen.query_one("#gen-out", Input).value == str(out)
        screen.query_one("#gen-model", Input).value = fake_chat.spec("teacher")
        await press(pilot, "ctrl+r")
        await settle(pilot)
        assert not isinstance(app.screen, GenerateScreen)
        assert [m.path for m in recorder.of(OpenDataset)] == [out]
        await settle(pilot)
        assert data_section(app).path == out
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(rows) == 5 and fake_chat.chat_calls("teacher") == 5
    assert rows[0]["messages"][1]["content"].startswith("teacher: Why")
    origins = app.services.store.origins_by_key([example_key(r) for r in rows])
    assert {o.kind for o in origins.values()} == {"distill"} and len(origins) == 5


async def test_a_bad_prompt_is_refused_before_any_call(
    app_factory: Any, tmp_path: Path, fake_chat: FakeChat
) -> None:
    src = dataset(tmp_path / "prompts.jsonl", 2)
    app = app_factory(src)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        screen.query_one("#gen-kind", Select).value = "paraphrase"
        screen.query_one("#gen-model", Input).value = fake_chat.spec("writer")
        screen.query_one("#gen-paraphrase-prompt", TextArea).text = "Rewrite {question} please"
        await press(pilot, "ctrl+r")
        await settle(pilot)
        status = str(screen.query_one("#gen-status", Static).render())
        assert "leaves out {k}" in status and isinstance(app.screen, GenerateScreen)
        assert fake_chat.chat_calls() == 0
        await press(pilot, "escape")
        await settle(pilot)
        assert not isinstance(app.screen, GenerateScreen)
