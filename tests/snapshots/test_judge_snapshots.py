"""How the Judge pane looks: the setup (with a refused field), the results, a blind vote and the
summary, and the results at 80x24. Behaviour is asserted in tests/tui/test_judge_pane.py.

Deterministic: a session written straight into a store at a fixed path (fixed texts, keys,
verdicts and votes: no server, no clock), and a fixed session name (the blind order hangs on it).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from ftui.config import Config
from ftui.core.judge.metrics import answer_length
from ftui.core.judge.report import ExampleResult
from ftui.services.root import Services
from ftui.services.store import RunStore
from ftui.tui.sections.judge import JudgePane
from ftui.tui.stylesheet import APP_CSS, HORIZONTAL_BREAKPOINTS, VERTICAL_BREAKPOINTS

SIZE = (130, 40)
SMALL = (80, 24)
SESSION = "judge-20261201-120000-snap01"
A = "openai:gpt-4o-mini-2024-07-18"
B = "openai:ft:gpt-4o-mini-2024-07-18:acme:support:abc123"
JUDGE = "openai:gpt-4.1"
EXAMPLES = [
    (
        "How do I reset my password?",
        "Open Settings, choose Security, then Reset password; a link is emailed to you.",
        "You can reset it in the settings.",
        "Open Settings, then Security, then Reset password: we email you a link.",
        ("B", "A"),
    ),
    (
        "Can I change the email on my account?",
        "Yes: Settings, Profile, Email. You confirm the new address from a message.",
        "Yes, go to Settings, Profile and change Email; confirm from the message we send.",
        "Yes.",
        ("A", "B"),
    ),
    (
        "Do you ship to Canada?",
        "Yes, to every province; delivery takes 5 to 8 business days.",
        "We ship to Canada in 5 to 8 business days.",
        "Yes, to every province, in 5 to 8 business days.",
        ("C", "C"),
    ),
    (
        "What is your refund policy?",
        "Refunds within 30 days of delivery, to the original payment method.",
        "Refunds are possible.",
        "Within 30 days of delivery, refunded to how you paid.",
        ("B", None),
    ),
]


@pytest.fixture
def store(request: pytest.FixtureRequest) -> Iterator[RunStore]:
    root = Path(tempfile.gettempdir()) / "ftui-judge-snapshots" / request.node.name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    store = RunStore(root / "ftui.db", root / "runs")
    for n, (question, reference, answer_a, answer_b, verdicts) in enumerate(EXAMPLES):
        result = ExampleResult.build(
            f"k{n:015d}",
            f"user: {question}",
            reference,
            answer_a,
            answer_b,
            verdicts=verdicts,  # type: ignore[arg-type]
            explanation=f"Compared against the reference, verdict [[{verdicts[0] or '?'}]].",
        )
        store.add_judge_result(
            SESSION,
            A,
            B,
            example_key=result.key,
            winner=result.outcome,
            scores={"a": result.metrics_a, "b": result.metrics_b},
            details={
                "judge": JUDGE,
                "verdicts": list(result.verdicts),
                "explanation": result.explanation,
                "len_a": answer_length(answer_a),
                "len_b": answer_length(answer_b),
                "len_diff": result.len_diff,
                "question": result.question,
                "reference": result.reference,
                "answer_a": answer_a,
                "answer_b": answer_b,
            },
            created_at=1_700_000_000.0 + n,
        )
    yield store
    store.close()
    shutil.rmtree(root, ignore_errors=True)


class JudgeApp(App[None]):
    CSS_PATH = APP_CSS
    HORIZONTAL_BREAKPOINTS = HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = VERTICAL_BREAKPOINTS

    def __init__(self, store: RunStore) -> None:
        super().__init__()
        self.services = Services(Config(home=store.runs_dir.parent), store=store)

    def compose(self) -> ComposeResult:
        yield JudgePane(self.services)


async def settle(pilot: Pilot[None]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_session(pilot: Pilot[None]) -> None:
    await settle(pilot)
    pilot.app.query_one(JudgePane).open_session(SESSION)
    await settle(pilot)
    await settle(pilot)


def test_judge_setup_with_a_refused_field(snap_compare, store: RunStore) -> None:
    async def refuse(pilot: Pilot[None]) -> None:
        await settle(pilot)
        pane = pilot.app.query_one(JudgePane)
        pane.form.set_values({"a": A, "b": "gpt-4o", "eval_set": "/nowhere/eval.jsonl"})
        await pilot.press("ctrl+l")
        await settle(pilot)

    assert snap_compare(JudgeApp(store), terminal_size=SIZE, run_before=refuse)


def test_judge_results(snap_compare, store: RunStore) -> None:
    async def walk(pilot: Pilot[None]) -> None:
        await open_session(pilot)
        await pilot.press("j")
        await settle(pilot)

    assert snap_compare(JudgeApp(store), terminal_size=SIZE, run_before=walk)


def test_judge_blind_vote(snap_compare, store: RunStore) -> None:
    async def vote(pilot: Pilot[None]) -> None:
        await open_session(pilot)
        await pilot.press("v")
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)

    assert snap_compare(JudgeApp(store), terminal_size=SIZE, run_before=vote)


def test_judge_summary(snap_compare, store: RunStore) -> None:
    async def summary(pilot: Pilot[None]) -> None:
        await open_session(pilot)
        await pilot.press("v")
        await settle(pilot)
        await pilot.press("l", "r", "t")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        await settle(pilot)

    assert snap_compare(JudgeApp(store), terminal_size=SIZE, run_before=summary)


def test_judge_results_at_80x24(snap_compare, store: RunStore) -> None:
    assert snap_compare(JudgeApp(store), terminal_size=SMALL, run_before=open_session)
