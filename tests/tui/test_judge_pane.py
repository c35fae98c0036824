"""The Judge pane, driven with Pilot against the fake chat server (the real `openai` client, a
real SQLite history): bad setups refused beside their fields, a run with live progress to its
summary, walking examples, a blind vote session, the exported report, "Judge this run"."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console
from textual.app import App, ComposeResult
from textual.widgets import Input, OptionList, Static

from ftui.config import Config
from ftui.core.judge.blind import b_on_left
from ftui.services.root import Services
from ftui.services.store import RunStore
from ftui.tui.screens.judge_vote import BlindVoteScreen
from ftui.tui.screens.pick_judge_session import PickJudgeSessionScreen
from ftui.tui.sections.judge import (
    RESULTS,
    SETUP,
    SUMMARY,
    JudgeEnded,
    JudgePane,
    JudgeProgressed,
)
from ftui.tui.stylesheet import APP_CSS
from tests.support.fake_chat import FakeChat, last_user
from tests.tui.conftest import Recorder, press, settle

SIZE = (140, 44)
QUESTIONS = [f"Name a colour, number {i}." for i in range(6)]


def reference(question: str) -> str:
    return f"A colour for {question.split()[-1]} is a deep and calm ocean blue."


@pytest.fixture
def chat(fake_chat: FakeChat) -> FakeChat:
    # A answers briefly; B answers with the reference (longer): the judge that prefers the
    # longer answer picks B in both orders.
    fake_chat.script("base", lambda messages: "Blue.")
    fake_chat.script("tuned", lambda messages: reference(last_user(messages)))
    return fake_chat


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    runs = RunStore(tmp_path / "home" / "ftui.db", tmp_path / "home" / "runs")
    yield runs
    runs.close()


@pytest.fixture
def eval_path(tmp_path: Path) -> Path:
    path = tmp_path / "eval.jsonl"
    path.write_bytes(
        b"".join(
            orjson.dumps(
                {
                    "messages": [
                        {"role": "user", "content": q},
                        {"role": "assistant", "content": reference(q)},
                    ]
                }
            )
            + b"\n"
            for q in QUESTIONS
        )
    )
    return path


class JudgeApp(App[None]):
    CSS_PATH = APP_CSS

    def __init__(self, store: RunStore) -> None:
        super().__init__()
        self.services = Services(Config(home=store.runs_dir.parent), store=store)

    def compose(self) -> ComposeResult:
        yield JudgePane(self.services)

    @property
    def pane(self) -> JudgePane:
        return self.query_one(JudgePane)


def fill(pane: JudgePane, **values: str) -> None:
    pane.form.set_values(values)


def setup_values(chat: FakeChat, eval_path: Path) -> dict[str, str]:
    return {
        "a": chat.spec("base"),
        "b": chat.spec("tuned"),
        "eval_set": str(eval_path),
        "judge": chat.spec("judge-longer"),
        "concurrency": "4",
    }


async def run_judge(pilot: Any, chat: FakeChat, eval_path: Path) -> JudgePane:
    pane = pilot.app.pane
    fill(pane, **setup_values(chat, eval_path))
    await press(pilot, "ctrl+l")
    await settle(pilot)
    assert pane.report is not None, "the job ended with a report"
    return pane


def plain(widget: Static) -> str:
    """What a Static shows, as plain text (tables included)."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def error_text(pane: JudgePane, name: str) -> str:
    error = pane.query_one(f"#judge-error-{name}", Static)
    return str(error.render()) if error.display else ""


async def test_a_bad_setup_is_refused_beside_its_fields(
    store: RunStore, chat: FakeChat, tmp_path: Path
) -> None:
    app = JudgeApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.pane
        fill(
            pane,
            a="gpt-4o",  # no kind
            b="",
            eval_set=str(tmp_path / "missing.jsonl"),
            temperature="hot",
            concurrency="0",
        )
        await press(pilot, "ctrl+l")
        await settle(pilot)
        assert "openai:MODEL" in error_text(pane, "a")  # says which forms a spec takes
        assert "Give model B" in error_text(pane, "b")
        assert "missing.jsonl is not a file" in error_text(pane, "eval_set")
        assert "'hot' is not a number" in error_text(pane, "temperature")
        assert "out of range" in error_text(pane, "concurrency")
        assert error_text(pane, "max_tokens") == ""  # a good field says nothing
        assert pane.view == SETUP and not pane.running and pane.report is None
        assert app.focused is pane.form.field("a")  # the first problem's field
        assert chat.chat_calls() == 0


async def test_an_eval_set_the_reader_refuses_is_shown_beside_it(
    store: RunStore, chat: FakeChat, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\nnot json\n')
    app = JudgeApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.pane
        fill(pane, a=chat.spec("base"), b=chat.spec("tuned"), eval_set=str(bad))
        await press(pilot, "ctrl+l")
        await settle(pilot)
        assert "bad.jsonl:2" in error_text(pane, "eval_set")
        assert "invalid JSON" in error_text(pane, "eval_set")
        assert pane.report is None and not pane.running
        assert chat.chat_calls() == 0


async def test_a_run_shows_live_progress_then_its_results_and_summary(
    store: RunStore, chat: FakeChat, eval_path: Path
) -> None:
    chat.latency_s = 0.05
    recorder = Recorder()
    app = JudgeApp(store)
    async with app.run_test(size=SIZE, message_hook=recorder) as pilot:
        await settle(pilot)
        pane = await run_judge(pilot, chat, eval_path)
        progressed = [m.progress for m in recorder.of(JudgeProgressed)]
        assert progressed, "progress came as messages"
        assert progressed[-1].done == progressed[-1].total == 6
        assert any(p.done < p.total for p in progressed)  # and while it ran
        (ended,) = recorder.of(JudgeEnded)
        assert ended.error is None and not ended.cancelled
        assert "Done: 6 examples" in str(pane.query_one("#judge-status", Static).render())
        # Both sides answered every prompt; the judge saw every pair in both orders.
        assert chat.chat_calls("base") == chat.chat_calls("tuned") == 6
        assert chat.chat_calls("judge-longer") == 12
        assert pane.view == RESULTS and pane.example_list.row_count == 6
        tally = pane.report.llm_tally() if pane.report else None
        assert tally is not None and tally.b_wins == 6
        # The examples are in the store under the session.
        assert pane.session is not None and len(store.session_judgements(pane.session)) == 6
        await press(pilot, "s")
        await settle(pilot)
        assert pane.view == SUMMARY
        shot = app.export_screenshot()
        assert "95%" in shot and "B&#160;win&#160;rate" in shot
        assert "100.0%" in shot  # six wins of six
        assert "rate&#160;of&#160;B:&#160;n/a" in shot  # six pairs: too few for the LC rate


async def test_walking_the_examples_side_by_side(
    store: RunStore, chat: FakeChat, eval_path: Path
) -> None:
    app = JudgeApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = await run_judge(pilot, chat, eval_path)

        def prompt_shown() -> str:
            return str(pane.detail.query_one(".judge-detail-prompt", Static).render())

        assert QUESTIONS[0] in prompt_shown()
        await press(pilot, "j", "j")
        assert pane.example_list.cursor == 2 and QUESTIONS[2] in prompt_shown()
        await press(pilot, "enter")
        assert app.focused is pane.detail
        await press(pilot, "j")  # j in the example walks on, too
        assert pane.example_list.cursor == 3 and QUESTIONS[3] in prompt_shown()
        right = str(pane.detail.query_one(".judge-detail-right", Static).render())
        assert reference(QUESTIONS[3]) in right
        verdict = plain(pane.detail.query_one(".judge-detail-verdict", Static))
        assert "[[B]]" in verdict and "[[A]]" in verdict  # the two raw verdicts (swapped)
        assert "rougeL" in verdict
        await press(pilot, "escape")
        assert app.focused is pane.example_list
        # Filters: B lost none, won all.
        await press(pilot, "f")  # B won
        assert pane.example_list.filter == "b" and pane.example_list.row_count == 6
        await press(pilot, "f")  # B lost
        assert pane.example_list.row_count == 0


async def test_a_blind_vote_session_hides_the_models_and_is_counted_in_the_summary(
    store: RunStore, chat: FakeChat, eval_path: Path
) -> None:
    app = JudgeApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = await run_judge(pilot, chat, eval_path)
        assert pane.report is not None and pane.session is not None
        session = pane.session
        await press(pilot, "v")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BlindVoteScreen)
        shot = app.export_screenshot()
        for name in ("base", "tuned", "judge-longer", "127.0.0.1"):
            assert name not in shot, f"{name} shows on the blind screen"
        assert "Left" in shot and "Right" in shot
        # The layout follows b_on_left; the left answer is the one that side's model gave.
        first = pane.report.examples[0]
        left = str(screen.query_one(".judge-detail-left", Static).render())
        expected = first.answer_b if b_on_left(first.key, session) else first.answer_a
        assert expected.strip() in left
        await press(pilot, "l", "r", "t", "s")
        await settle(pilot)
        await press(pilot, "k", "n")  # a note on the 4th, the skipped one... then on the 3rd
        await settle(pilot)
        app.screen.query_one(Input).value = "both fine"
        await press(pilot, "enter")
        await settle(pilot)
        await press(pilot, "escape")
        await settle(pilot)
        assert app.screen is not screen and pane.view == SUMMARY
        votes = store.session_votes(session)
        keys = [e.key for e in pane.report.examples]
        assert set(votes) == set(keys[:4])
        expected_outcomes = [
            "b" if b_on_left(keys[0], session) else "a",
            "a" if b_on_left(keys[1], session) else "b",
            "tie",
            None,
        ]
        assert [votes[k].winner for k in keys[:4]] == expected_outcomes
        assert votes[keys[3]].details["vote"] == "skip"
        human = pane.report.human_tally()
        assert human.n == 3 and human.ties == 1
        assert human.b_wins == expected_outcomes.count("b")
        # The note is the report's too.
        noted = [e for e in pane.report.examples if e.note]
        assert [e.note for e in noted] == ["both fine"]
        assert "both fine" in pane.report.to_markdown()
        assert any(e["note"] == "both fine" for e in pane.report.to_json_dict()["examples"])
        # The summary reveals it: the human row counts B's wins.
        shot = app.export_screenshot()
        assert "human" in shot


async def test_export_writes_markdown_and_json(
    store: RunStore, chat: FakeChat, eval_path: Path, tmp_path: Path
) -> None:
    app = JudgeApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await run_judge(pilot, chat, eval_path)
        await press(pilot, "e")
        await settle(pilot)
        target = tmp_path / "out" / "report.md"
        app.screen.query_one(Input).value = str(target)
        await press(pilot, "enter")
        await settle(pilot)
        assert "not a folder" in str(app.screen.query_one("#prompt-error", Static).render())
        target.parent.mkdir()
        await press(pilot, "enter")
        await settle(pilot)
        assert target.read_text().startswith("# A/B judge")
        data = orjson.loads(target.with_suffix(".json").read_bytes())
        assert data["n"] == 6 and data["judge"]["b_wins"] == 6
        assert set(data["metrics"]) >= {"exact_match", "rougeL"}
        assert not list(target.parent.glob("*.tmp*"))  # nothing half-written left beside


async def test_cancel_keeps_what_finished(store: RunStore, chat: FakeChat, eval_path: Path) -> None:
    chat.latency_s = 0.3
    app = JudgeApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.pane
        fill(pane, **{**setup_values(chat, eval_path), "concurrency": "1"})
        await press(pilot, "ctrl+l")
        for _ in range(100):
            if pane.session and store.session_judgements(pane.session):
                break
            await pilot.pause(0.05)
        await press(pilot, "ctrl+x")
        await settle(pilot)
        assert not pane.running and pane.report is not None
        assert 1 <= len(pane.report.examples) < 6
        assert "Cancelled" in str(pane.query_one("#judge-status", Static).render())


async def test_judge_this_run_from_the_runs_list_fills_the_setup(
    config: Config, tmp_path: Path, eval_path: Path
) -> None:
    from ftui.tui.app import make_app

    store = RunStore.from_config(config)
    run = store.create_run(
        backend="openai",
        base_model="gpt-4o-mini-2024-07-18",
        config={},
        dataset_path=eval_path,
        validation_path=eval_path,
        run_id="f00dcafe",
    )
    store.close()
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "3")
        await settle(pilot)
        await press(pilot, "J")
        await settle(pilot)
        await settle(pilot)
        assert app.workbench is not None and app.workbench.current_section == "judge"
        pane = app.screen.query_one(JudgePane)
        values = pane.form.values()
        assert values["a"] == "openai:gpt-4o-mini-2024-07-18"
        assert values["b"] == f"run:{run.id}"
        assert values["eval_set"] == str(eval_path)


async def test_the_best_checkpoint_from_a_run_page_is_judged_as_b(
    config: Config, tmp_path: Path, eval_path: Path
) -> None:
    from ftui.core.runs.events import EventWriter
    from ftui.tui.app import make_app
    from ftui.tui.screens.run_page import RunScreen

    store = RunStore.from_config(config)
    run = store.create_run(
        backend="openai",
        base_model="gpt-4o-mini-2024-07-18",
        config={},
        dataset_path=eval_path,
        validation_path=eval_path,
        run_id="beefcafe",
    )
    with EventWriter(run.events_path) as writer:
        writer.status("running")
        for step, valid in ((10, 1.4), (20, 1.1), (30, 1.3)):  # eval loss lowest at step 20
            writer.emit(
                "checkpoint",
                step=step,
                path=f"ft:gpt-4o-mini:org::ckpt-{step}",
                model_id=f"ft:gpt-4o-mini:org::ckpt-{step}",
                metrics={"valid_loss": valid},
            )
        writer.status("succeeded")
    store.ingest_events(run.id)
    store.close()
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "3")
        await settle(pilot)
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, RunScreen)
        await press(pilot, "K")
        await settle(pilot)
        await settle(pilot)
        assert app.workbench is not None and app.workbench.current_section == "judge"
        values = app.screen.query_one(JudgePane).form.values()
        assert values["a"] == "openai:gpt-4o-mini-2024-07-18"
        assert values["b"] == "openai:ft:gpt-4o-mini:org::ckpt-20"


async def test_a_model_field_completes_the_spec_from_the_server_s_models(
    store: RunStore, chat: FakeChat
) -> None:
    chat.script("llama-3.1-8b-instruct", lambda messages: "hi")
    app = JudgeApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        field = app.pane.form.field("b")
        field.focus()
        field.value = ""
        await pilot.press(*f"openai-compatible:{chat.base_url}#llama")
        for _ in range(40):  # the suggester asks the server in a thread
            if field._suggestion:
                break
            await pilot.pause(0.05)
        assert field._suggestion == f"openai-compatible:{chat.base_url}#llama-3.1-8b-instruct"
        await pilot.press("right")  # → takes it
        assert field.value == f"openai-compatible:{chat.base_url}#llama-3.1-8b-instruct"


async def test_a_past_session_is_listed_and_reopened_after_a_restart(
    store: RunStore, chat: FakeChat, eval_path: Path
) -> None:
    async with JudgeApp(store).run_test(size=SIZE) as pilot:
        await settle(pilot)
        session = (await run_judge(pilot, chat, eval_path)).session
    assert session is not None
    calls = chat.chat_calls("judge-longer")
    # A fresh app on the same history: the session is offered and opens with its results.
    app = JudgeApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.pane
        assert pane.report is None
        await press(pilot, "ctrl+o")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, PickJudgeSessionScreen)
        options = picker.query_one(OptionList)
        assert options.option_count == 1
        assert session in str(options.get_option_at_index(0).prompt)
        await press(pilot, "enter")
        await settle(pilot)
        await settle(pilot)
        assert pane.session == session and pane.view == RESULTS
        assert pane.example_list.row_count == 6
        assert pane.report is not None and pane.report.llm_tally().b_wins == 6
    assert chat.chat_calls("judge-longer") == calls  # read from the store, nothing asked again
