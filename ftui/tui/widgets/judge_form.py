"""The Judge section's setup form: the two models, the eval set, the judge, the sampling, the
budget and the rubric, with each field's problem written beside it.

It is told what to show (`set_values`, `set_runs`, `show_problems`) and reads itself back
(`values`, `rubric`); picking a run in "From the history" posts `RunPicked` (the pane fills A,
B and the eval set from it). It checks nothing itself: see `sections.judge_setup.check_setup`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Select, Static, TextArea

from ftui.core.judge.prompts import DEFAULT_RUBRIC
from ftui.services.store import Run
from ftui.tui.sections.judge_setup import DEFAULTS, FIELDS
from ftui.tui.widgets.spec_suggester import SpecSuggester

MODEL_FIELDS = frozenset({"a", "b", "judge"})


class JudgeSetupForm(VerticalScroll):
    """Every setting of an A/B judging job, one row each, then the rubric."""

    @dataclass
    class RunPicked(Message):
        run_id: str

    @dataclass
    class Edited(Message):
        field: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=False)
        self._run_ids: list[str] = []
        self._suggester = SpecSuggester(lambda: self._run_ids)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="judge-row"):
            yield Label("From the history", classes="judge-label")
            yield Select[str](
                [], prompt="a run: its base as A, the run as B", id="judge-pick", compact=True
            )
        for name, label, placeholder in FIELDS:
            with Horizontal(classes="judge-row"):
                yield Label(label, classes="judge-label")
                yield Input(
                    DEFAULTS.get(name, ""),
                    placeholder=placeholder,
                    id=f"judge-{name}",
                    compact=True,
                    # A model field completes its spec as it is typed (→ takes the suggestion).
                    suggester=self._suggester if name in MODEL_FIELDS else None,
                )
            yield Static("", id=f"judge-error-{name}", classes="judge-error", markup=False)
        yield Label(
            "Rubric (the judge's instructions; the verdict format is always added)",
            classes="judge-rubric-label",
        )
        yield TextArea(DEFAULT_RUBRIC, id="judge-rubric", soft_wrap=True, compact=True)
        yield Static("", id="judge-error-rubric", classes="judge-error", markup=False)

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False
        self.query_one(TextArea).cursor_blink = False
        self.show_problems({})

    # -- what the pane tells the form -----------------------------------------------------------

    def set_runs(self, runs: Sequence[Run]) -> None:
        self._run_ids = [run.id for run in runs]
        options = [
            (f"{run.id} · {run.backend} · {run.base_model} · {run.status}", run.id) for run in runs
        ]
        self.query_one("#judge-pick", Select).set_options(options)

    def set_values(self, values: Mapping[str, str]) -> None:
        for name, value in values.items():
            if name == "rubric":
                self.query_one(TextArea).text = value
            else:
                self.query_one(f"#judge-{name}", Input).value = value

    def show_problems(self, problems: Mapping[str, str]) -> None:
        """Each field's problem beside it; fields without one show nothing."""
        names = [name for name, _, _ in FIELDS] + ["rubric"]
        for name in names:
            error = self.query_one(f"#judge-error-{name}", Static)
            text = problems.get(name, "")
            error.update(f"✗ {text}" if text else "")
            error.display = bool(text)
            widget = self.query_one(TextArea) if name == "rubric" else self.field(name)
            widget.set_class(bool(text), "-invalid-field")

    def field(self, name: str) -> Input:
        return self.query_one(f"#judge-{name}", Input)

    def focus_field(self, name: str) -> None:
        if name == "rubric":
            self.query_one(TextArea).focus()
        else:
            self.field(name).focus()

    # -- what the form reads back ---------------------------------------------------------------

    def values(self) -> dict[str, str]:
        return {name: self.field(name).value for name, _, _ in FIELDS}

    @property
    def rubric(self) -> str:
        return self.query_one(TextArea).text

    @on(Select.Changed, "#judge-pick")
    def _picked(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str):
            self.post_message(self.RunPicked(event.value))

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        event.stop()
        name = (event.input.id or "").removeprefix("judge-")
        self.post_message(self.Edited(name))
