"""The generate screen: from the open dataset, a distillation job runs against the fake chat
server, shows its progress, and its output opens in the Data pane with every example's origin
in the store; a bad template is refused before any call; every field is labelled, the model
field completes from the history and the settings, and skipped source records are shown."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
from textual.widgets import Input, Label, Select, Static, TextArea

from ftui.config import Config, GenerateSettings
from ftui.core.dataset.origin import example_key
from ftui.core.generation.sources import Skipped
from ftui.services.store import RunStore
from ftui.tui.app import make_app
from ftui.tui.messages import OpenDataset
from ftui.tui.screens.generate import GenerateScreen, describe_skipped
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
    out = tmp_path / "prompts.distill.jsonl"
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


async def suggestion(pilot: Any, field: Input, typed: str) -> str:
    field.focus()
    field.value = ""
    await pilot.press(*typed)
    for _ in range(40):  # the suggester runs in a worker, the completion in a thread
        await settle(pilot)
        if field._suggestion:
            break
        await pilot.pause(0.05)
    return field._suggestion


async def test_every_field_has_a_label_and_unused_ones_are_dimmed(
    app_factory: Any, tmp_path: Path
) -> None:
    app = app_factory(dataset(tmp_path / "prompts.jsonl", 2))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_screen(pilot)
        labels = {}
        for field in screen.query("Input, Select, TextArea"):
            if field.id is None or not field.id.startswith("gen-"):
                continue  # the Select's own inner input
            # The label is the first Label of the field's row or cell, or the one just above it.
            holder = field.parent
            assert holder is not None
            if holder.has_class("gen-field", "gen-cell"):
                label = holder.query_children(Label).first()
            else:
                siblings = list(holder.children)
                label = siblings[siblings.index(field) - 1]
                assert isinstance(label, Label), field.id
            labels[field.id] = str(label.render())
        assert labels == {
            "gen-kind": "Kind",
            "gen-model": "Model",
            "gen-source": "Source",
            "gen-out": "Output",
            "gen-n": "Questions, n",
            "gen-k": "Rewrites, k",
            "gen-concurrency": "Concurrency",
            "gen-temperature": "Temperature",
            "gen-qtemperature": "Question temp.",
            "gen-budget": "Budget $",
            "gen-budget-tokens": "Budget tokens",
            "gen-max-tokens": "Max tokens",
            "gen-questions-prompt": "Questions prompt (synth; {scenario}, {n})",
            "gen-answer-prompt": "Answer prompt (synth; {question}, {scenario})",
            "gen-paraphrase-prompt": (
                "Paraphrase prompt ({question}, {k}): the last user turn is rewritten"
            ),
        }
        # A filled field still shows its label: the label is on screen, not a placeholder.
        assert screen.query_one("#gen-source", Input).value
        assert screen.query_one("#gen-source", Input).region.width >= 40  # usable at 80x24
        disabled = {f.id for f in screen.query("Input, TextArea") if f.disabled}
        assert disabled == {
            "gen-n",
            "gen-qtemperature",
            "gen-questions-prompt",
            "gen-answer-prompt",
            "gen-k",
            "gen-paraphrase-prompt",
        }
        screen.query_one("#gen-kind", Select).value = "synth"
        await settle(pilot)
        disabled = {f.id for f in screen.query("Input, TextArea") if f.disabled}
        assert disabled == {"gen-k", "gen-paraphrase-prompt"}
        # The form scrolls at 80x24: the last prompt is below the fold until scrolled to.
        form = screen.query_one("#generate-form")
        assert form.max_scroll_y > 0
        assert screen.query_one("#gen-run").region.height == 1


async def test_the_model_field_completes_runs_from_the_history_and_the_setting(
    config: Config, tmp_path: Path
) -> None:
    store = RunStore.from_config(config)
    store.create_run(backend="local", base_model="tiny", config={}, run_id="cafe1234")
    store.create_run(backend="local", base_model="tiny", config={}, run_id="beef5678")
    store.close()
    configured = replace(config, generate=GenerateSettings(model="gpt-4o-mini-2024-07-18"))
    app = make_app(configured, dataset(tmp_path / "prompts.jsonl", 2))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        field = screen.query_one("#gen-model", Input)
        assert field.value == "openai:gpt-4o-mini-2024-07-18"  # the setting, as a spec
        assert await suggestion(pilot, field, "run:be") == "run:beef5678"
        assert await suggestion(pilot, field, "run:c") == "run:cafe1234"
        assert await suggestion(pilot, field, "op") == "openai:gpt-4o-mini-2024-07-18"
        assert (await suggestion(pilot, field, "openai:gpt-4.1")).startswith("openai:gpt-4.1")
        await pilot.press("right")  # → takes it
        assert field.value.startswith("openai:gpt-4.1")


async def test_skipped_source_records_are_shown_before_and_when_the_job_runs(
    app_factory: Any, tmp_path: Path, fake_chat: FakeChat
) -> None:
    src = dataset(tmp_path / "prompts.jsonl", 3)
    bad = [
        b"{broken",
        orjson.dumps({"messages": [{"role": "assistant", "content": "alone"}]}),
        orjson.dumps({"messages": [{"role": "assistant", "content": "alone again"}]}),
    ]
    src.write_bytes(src.read_bytes() + b"\n".join(bad) + b"\n")
    app = app_factory(src)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        notice = screen.query_one("#gen-skipped", Static)
        text = str(notice.render())
        assert notice.display and text.startswith("3 records of prompts.jsonl skipped:")
        assert "lines 5, 6: the example has no user turn with text" in text
        assert "line 4: " in text
        # Another source: its own count (none), then the first again.
        clean = dataset(tmp_path / "clean.jsonl", 1)
        screen.query_one("#gen-source", Input).value = str(clean)
        await settle(pilot)
        assert not notice.display
        screen.query_one("#gen-source", Input).value = str(src)
        screen.query_one("#gen-model", Input).value = fake_chat.spec("teacher")
        await settle(pilot)
        await press(pilot, "ctrl+r")
        await settle(pilot)
    assert fake_chat.chat_calls("teacher") == 3  # the three usable examples, the rest skipped


def test_the_skipped_notice_counts_what_it_does_not_list() -> None:
    reasons = [Skipped(line, f"reason {line % 5}") for line in range(1, 31)]
    text = describe_skipped(Path("big.jsonl"), reasons)
    assert text.splitlines() == [
        "30 records of big.jsonl skipped:",
        "  lines 1, 6, 11, 16, 21 (+1): reason 1",
        "  lines 2, 7, 12, 17, 22 (+1): reason 2",
        "  lines 3, 8, 13, 18, 23 (+1): reason 3",
        "  and 2 other reasons",
    ]
    assert describe_skipped(Path("x.jsonl"), [Skipped(2, "why")]) == (
        "1 record of x.jsonl skipped:\n  line 2: why"
    )
    assert describe_skipped(Path("x.jsonl"), []) == ""


async def test_the_output_follows_the_source_until_the_user_types_one(
    app_factory: Any, tmp_path: Path
) -> None:
    app = app_factory(dataset(tmp_path / "prompts.jsonl", 2))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        out = screen.query_one("#gen-out", Input)
        screen.query_one("#gen-source", Input).value = "/tmp/x/out1.jsonl"
        await settle(pilot)
        assert out.value == "/tmp/x/out1.distill.jsonl"
        screen.query_one("#gen-kind", Select).value = "paraphrase"
        await settle(pilot)
        assert out.value == "/tmp/x/out1.paraphrase.jsonl"
        out.value = str(tmp_path / "mine.jsonl")
        screen.query_one("#gen-source", Input).value = "/tmp/x/out2.jsonl"
        await settle(pilot)
        assert out.value == str(tmp_path / "mine.jsonl")


async def test_the_token_budget_and_max_tokens_reach_the_job(
    app_factory: Any, tmp_path: Path, fake_chat: FakeChat
) -> None:
    app = app_factory(dataset(tmp_path / "prompts.jsonl", 2))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        screen.query_one("#gen-model", Input).value = fake_chat.spec("teacher")
        screen.query_one("#gen-budget-tokens", Input).value = "500"
        screen.query_one("#gen-max-tokens", Input).value = "1000"
        await press(pilot, "ctrl+r")
        await settle(pilot)
        status = str(screen.query_one("#gen-status", Static).render())
        assert "--budget-tokens 500 cannot cover one call" in status, status
        assert "1,000 --max-tokens" in status and fake_chat.chat_calls() == 0
        screen.query_one("#gen-max-tokens", Input).value = "32"
        await press(pilot, "ctrl+r")
        await settle(pilot)
        assert not isinstance(app.screen, GenerateScreen)
        assert fake_chat.chat_calls("teacher") == 2


async def test_an_output_another_model_made_is_said_in_the_status(
    app_factory: Any, tmp_path: Path, fake_chat: FakeChat, recorder: Recorder
) -> None:
    src = dataset(tmp_path / "prompts.jsonl", 2)
    out = tmp_path / "prompts.distill.jsonl"
    app = app_factory(src)
    async with app.run_test(size=SIZE, message_hook=recorder) as pilot:
        for model in ("teacher", "other"):
            screen = await open_screen(pilot)  # the second time, the output is the open dataset
            screen.query_one("#gen-source", Input).value = str(src)
            await settle(pilot)
            assert screen.query_one("#gen-out", Input).value == str(out)
            screen.query_one("#gen-model", Input).value = fake_chat.spec(model)
            await press(pilot, "ctrl+r")
            await settle(pilot)
        assert isinstance(app.screen, GenerateScreen)
        status = str(app.screen.query_one("#gen-status", Static).render())
        assert "came from another model" in status and "new --out" in status, status
        assert fake_chat.chat_calls("other") == 0
        await press(pilot, "escape")
        await settle(pilot)
        assert not isinstance(app.screen, GenerateScreen)
        assert [m.path for m in recorder.of(OpenDataset)] == [out, out]
