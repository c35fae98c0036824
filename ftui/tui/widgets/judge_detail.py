"""One example side by side: the prompt and the reference above, two answers in two columns, and
below them what the judges said (metrics, the two raw verdicts, the explanation).

`SideBySide.show(...)` is told what each part says; the Judge pane fills it with A and B, the
blind vote screen with "left" and "right" and nothing that names a model. j / k (and the arrows
with the focus here) ask the owner for the next or previous example (`Step`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Static

from ftui.core.judge.metrics import METRIC_NAMES
from ftui.core.judge.report import ExampleResult
from ftui.tui.keymap import command
from ftui.tui.widgets.judge_examples import OUTCOME_WORDS


def prompt_text(example: ExampleResult) -> Text:
    text = Text()
    text.append("Prompt\n", style="bold")
    text.append(example.question.strip() or "(empty)")
    text.append("\n\nReference\n", style="bold")
    if example.reference is None:
        text.append("(none: the example ends with the user's turn)", style="dim")
    else:
        text.append(example.reference.strip() or "(empty)")
    return text


def verdict_text(example: ExampleResult, a: str, b: str) -> Text | Table:
    """Metrics of each side, the judge's two raw verdicts and its explanation."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    if example.metrics_a and example.metrics_b:
        metrics = "  ".join(
            f"{name} {example.metrics_a.get(name, 0):.2f}/{example.metrics_b.get(name, 0):.2f}"
            for name in METRIC_NAMES
        )
        table.add_row("metrics A/B", metrics)
    else:
        table.add_row("metrics", Text("none: no reference answer", style="dim"))
    table.add_row("length", f"B − A = {example.len_diff:+d} tokens")
    ab, ba = example.verdicts
    if example.outcome is None and ab is None and ba is None:
        table.add_row("judge", Text("no LLM judge ran", style="dim"))
    else:
        table.add_row(
            "judge",
            f"{OUTCOME_WORDS.get(example.outcome, '—')}   "
            f"(A={a}, B={b}: [[{ab or '?'}]] · swapped: [[{ba or '?'}]])",
        )
    table.add_row("human", OUTCOME_WORDS.get(example.human, "—"))
    if example.explanation:
        table.add_row("explanation", example.explanation.strip())
    return table


class SideBySide(VerticalScroll):
    """The prompt, two answers beside each other, and what was said about them."""

    COMMAND_GROUP = "Example"
    BINDINGS: ClassVar = [
        command("j,down", "step(1)", "Next", "The next example.", show=True),
        command("k,up", "step(-1)", "Previous", "The previous example.", show=True),
    ]

    @dataclass
    class Step(Message):
        by: int

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.can_focus = True

    def compose(self) -> ComposeResult:
        yield Static("", classes="judge-detail-prompt", markup=False)
        with Horizontal(classes="judge-detail-answers"):
            yield Static("", classes="judge-detail-left", markup=False)
            yield Static("", classes="judge-detail-right", markup=False)
        yield Static("", classes="judge-detail-verdict", markup=False)

    def show(
        self,
        prompt: Text | str,
        left: tuple[str, str],
        right: tuple[str, str],
        below: Text | Table | str = "",
    ) -> None:
        """`left` and `right` are (title, answer)."""
        self.query_one(".judge-detail-prompt", Static).update(prompt)
        for selector, (title, answer) in (
            (".judge-detail-left", left),
            (".judge-detail-right", right),
        ):
            column = self.query_one(selector, Static)
            column.border_title = title
            column.update(answer.strip() or "(empty answer)")
        verdict = self.query_one(".judge-detail-verdict", Static)
        verdict.update(below)
        verdict.display = bool(below)
        self.scroll_home(animate=False)

    def show_example(self, example: ExampleResult, a: str, b: str) -> None:
        self.show(
            prompt_text(example),
            (f"A · {a}", example.answer_a),
            (f"B · {b}", example.answer_b),
            verdict_text(example, a, b),
        )

    def action_step(self, by: int) -> None:
        self.post_message(self.Step(by))
