"""The judged examples as a Line API list: one line each (the verdict, the human vote, B's length
minus A's, ROUGE-L of each side, the prompt), filtered by verdict.

Told what to show (`set_examples`, `set_filter`); reports the cursor (`Highlighted`) and Enter
(`Opened`). Only the visible lines are painted, so a few thousand examples cost nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.message import Message
from textual.strip import Strip

from ftui.core.judge.report import ExampleResult
from ftui.tui.keymap import command
from ftui.tui.widgets.line_api import CursorList, cursor_bindings, fit

# (filter, label): which examples a filter keeps, by the LLM judge's outcome (else the vote).
FILTERS: tuple[tuple[str, str], ...] = (
    ("all", "all"),
    ("b", "B won"),
    ("a", "B lost"),
    ("tie", "ties"),
    ("unknown", "unknown"),
)
OUTCOME_WORDS = {"b": "B won", "a": "B lost", "tie": "tie", "unknown": "unknown", None: "—"}
OUTCOME_CLASSES = {"b": "judge-list--won", "a": "judge-list--lost", "tie": "judge-list--tie"}


def verdict_of(example: ExampleResult) -> str | None:
    """What a filter looks at: the LLM judge's outcome, else the human vote."""
    return example.outcome if example.outcome is not None else example.human


def keep(example: ExampleResult, name: str) -> bool:
    return name == "all" or verdict_of(example) == name


def _rouge(example: ExampleResult, side: str) -> str:
    metrics = example.metrics_a if side == "a" else example.metrics_b
    value = metrics.get("rougeL")
    return "—" if value is None else f"{value:.2f}"


def row_text(number: int, example: ExampleResult, width: int) -> str:
    question = " ".join(example.question.split())
    head = (
        f"{number:>4} {fit(OUTCOME_WORDS.get(example.outcome, '—'), 8)} "
        f"{fit(OUTCOME_WORDS.get(example.human, '—'), 8)} {example.len_diff:>+6} "
        f"{_rouge(example, 'a'):>5} {_rouge(example, 'b'):>5} "
    )
    return fit(head + question, width)


HEADER = f"{'#':>4} {'judge':<8} {'human':<8} {'B−A len':>6} {'R-L A':>5} {'R-L B':>5} prompt"


class JudgeExampleList(CursorList[str]):
    """The examples of a judge session, with a cursor; filtered by verdict."""

    COMMAND_GROUP = "Judged examples"
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "judge-list--header",
        "judge-list--cursor",
        *OUTCOME_CLASSES.values(),
    }
    BINDINGS: ClassVar = [
        *cursor_bindings(
            up="Previous example", down="Next example", first="First example", last="Last example"
        ),
        command("enter", "open", "Open", "Read the example side by side below.", show=True),
    ]

    @dataclass
    class Highlighted(Message):
        key: str | None

    @dataclass
    class Opened(Message):
        key: str

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.examples: Sequence[ExampleResult] = ()
        self.filter = "all"
        self.shown: list[int] = []  # indexes into `examples`, in order

    def set_examples(self, examples: Sequence[ExampleResult], *, keep_key: bool = True) -> None:
        current = self.highlighted_key if keep_key else None
        self.examples = examples
        self._apply(current)

    def set_filter(self, name: str) -> None:
        current = self.highlighted_key
        self.filter = name
        self._apply(current)

    def _apply(self, current: str | None) -> None:
        self.shown = [i for i, e in enumerate(self.examples) if keep(e, self.filter)]
        keys = [self.examples[i].key for i in self.shown]
        if current in keys:
            self.cursor = keys.index(current)
        self.rows_changed()
        self.scroll_cursor_into_view()
        self.post_highlighted()

    @property
    def current(self) -> ExampleResult | None:
        if not self.shown:
            return None
        return self.examples[self.shown[self.cursor]]

    # -- the CursorList hooks -------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.shown)

    def mark_key(self, index: int) -> str:
        return self.examples[self.shown[index]].key

    def row_cache_key(self, index: int) -> tuple[object, ...]:
        example = self.examples[self.shown[index]]
        return (example.key, example.outcome, example.human, self.shown[index])

    def highlighted_message(self, key: str | None) -> Message:
        return self.Highlighted(key)

    def marks_changed_message(self, count: int) -> Message:
        return self.Highlighted(self.highlighted_key)

    def action_open(self) -> None:
        if (key := self.highlighted_key) is not None:
            self.post_message(self.Opened(key))

    def render_header(self, width: int) -> Strip:
        label = dict(FILTERS)[self.filter]
        text = HEADER if self.filter == "all" else f"{HEADER}   [showing: {label}]"
        return self.text_strip(text, width, "judge-list--header")

    def render_row(
        self, index: int, width: int, cursor: bool, marked: bool, focused: bool
    ) -> Strip:
        example = self.examples[self.shown[index]]
        style = self.rich_style
        component = OUTCOME_CLASSES.get(verdict_of(example) or "")
        if component:
            style = style + Style(color=self.get_component_rich_style(component).color)
        if cursor:
            cursor_style = self.get_component_rich_style("judge-list--cursor")
            style = style + (cursor_style if focused else Style(bgcolor=cursor_style.bgcolor))
        text = row_text(self.shown[index] + 1, example, width)
        return Strip([Segment(text, style)], width)
