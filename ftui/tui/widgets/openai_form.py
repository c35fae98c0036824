"""The launch form of an OpenAI fine-tuning job: each setting of `OpenAIJobConfig`, by keyboard.

Tab and Shift+Tab move between fields; selects open with Enter. The form is told which models can
be fine-tuned (`set_models`, each shown with its price per 1M training tokens from the dated
table) and which dataset is open (`set_dataset`); it reads itself into an OpenAIJobConfig
(`read_job`, which names the field a bad value sits in) and reports every edit (`Edited`).
Beta is DPO's alone: its row shows only when the method is dpo. Metadata is typed as
`key=value, key=value` (`parse_metadata`); how many pairs and how long each may be is the job
config's to say (`OpenAIJobConfig.problems`), so the check lists it with the job's other problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from ftui.core.pricing.models import DEFAULT_OPENAI_MODEL, PRICES_AS_OF, openai_model_info
from ftui.core.training.openai_job import OpenAIJobConfig, parse_hyperparameter, parse_metadata
from ftui.tui.widgets.jobs_form import FormError

METHODS = ("supervised", "dpo")
AUTO = "auto"
# The hyperparameters that are "auto" or a value, with their labels.
HYPERPARAMETERS = (
    ("n_epochs", "Epochs"),
    ("batch_size", "Batch size"),
    ("learning_rate_multiplier", "LR multiplier"),
)


def model_label(name: str) -> str:
    """A model as the picker lists it: its name and its training price per 1M tokens."""
    info = openai_model_info(name)
    if info is None:
        return name
    if info.training_usd_per_1m is None:
        return f"{name}  not per token"
    return f"{name}  ${info.training_usd_per_1m:g}/1M"


def _input(value: str = "", *, placeholder: str = "", id: str) -> Input:
    return Input(value, placeholder=placeholder, id=id, compact=True)


class OpenAILaunchForm(VerticalScroll):
    """Every setting of an OpenAI fine-tuning job, one row each."""

    @dataclass
    class Edited(Message):
        """A field changed (the pane checks the job again)."""

        form: OpenAILaunchForm
        field: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=False)
        self.models: list[str] = [DEFAULT_OPENAI_MODEL]

    def compose(self) -> ComposeResult:
        yield from self._row(
            "Dataset", _input(placeholder="path to a .jsonl dataset", id="openai-dataset")
        )
        yield from self._row(
            "Validation",
            _input(placeholder="optional held-out dataset", id="openai-validation_file"),
        )
        yield from self._row(
            "Base model",
            Select[str](
                [(model_label(DEFAULT_OPENAI_MODEL), DEFAULT_OPENAI_MODEL)],
                value=DEFAULT_OPENAI_MODEL,
                allow_blank=False,
                id="openai-model",
                compact=True,
            ),
        )
        yield from self._row(
            "Method",
            Select[str](
                [(method, method) for method in METHODS],
                value="supervised",
                allow_blank=False,
                id="openai-method",
                compact=True,
            ),
        )
        yield from self._row(
            "Beta", _input(AUTO, placeholder="auto or a number", id="openai-beta"), row_id="beta"
        )
        for name, label in HYPERPARAMETERS:
            field_input = _input(AUTO, placeholder="auto or a value", id=f"openai-{name}")
            yield from self._row(label, field_input)
        suffix = _input(placeholder="up to 64 characters of the model's name", id="openai-suffix")
        yield from self._row("Suffix", suffix)
        yield from self._row("Seed", _input(placeholder="empty: OpenAI picks", id="openai-seed"))
        yield from self._row(
            "Metadata",
            _input(placeholder="key=value, key=value (up to 16)", id="openai-metadata"),
        )
        yield Static(
            f"Prices per 1M training tokens, from ftui's table of {PRICES_AS_OF}.",
            id="openai-form-note",
            markup=False,
        )

    @staticmethod
    def _row(
        label: str, widget: Input | Select[str], *, row_id: str | None = None
    ) -> ComposeResult:
        with Horizontal(classes="jobs-row", id=f"openai-row-{row_id}" if row_id else None):
            yield Label(label, classes="jobs-label")
            yield widget

    def on_mount(self) -> None:
        for field_input in self.query(Input):
            field_input.cursor_blink = False
        self._show_beta()

    # -- what the pane tells the form ---------------------------------------------------------

    def set_models(self, models: list[str]) -> None:
        """The fine-tunable models; the chosen one stays chosen where it still is listed."""
        self.models = models or [DEFAULT_OPENAI_MODEL]
        picker = self.query_one("#openai-model", Select)
        current = picker.value
        with picker.prevent(Select.Changed):
            picker.set_options([(model_label(name), name) for name in self.models])
            if current not in self.models:
                default = DEFAULT_OPENAI_MODEL
                current = default if default in self.models else self.models[0]
            picker.value = current

    def set_dataset(self, path: Path) -> None:
        self.query_one("#openai-dataset", Input).value = str(path)

    # -- reading --------------------------------------------------------------------------------

    def _text(self, name: str) -> str:
        return self.query_one(f"#openai-{name}", Input).value.strip()

    def _path(self, name: str) -> Path | None:
        text = self._text(name)
        return Path(text).expanduser().resolve() if text else None

    def read_job(self) -> OpenAIJobConfig:
        """The job the fields describe; FormError names the first field that cannot be read."""
        dataset = self._path("dataset")
        if dataset is None:
            raise FormError("dataset", "Dataset: required.")
        method = str(self.query_one("#openai-method", Select).value)
        values: dict[str, Any] = {}
        kinds = [(name, label) for name, label in HYPERPARAMETERS]
        if method == "dpo":
            kinds.insert(0, ("beta", "Beta"))
        for name, label in kinds:
            try:
                values[name] = parse_hyperparameter(self._text(name) or AUTO, name)
            except ValueError as exc:
                raise FormError(name, f"{label}: {exc}") from None
        seed_text = self._text("seed")
        try:
            seed = int(seed_text) if seed_text else None
        except ValueError:
            raise FormError("seed", f"Seed: enter a whole number (not {seed_text!r}).") from None
        try:
            metadata = parse_metadata(self._text("metadata").split(","))
        except ValueError as exc:
            raise FormError("metadata", f"Metadata: {exc}.") from None
        try:
            return OpenAIJobConfig(
                dataset=dataset,
                model=str(self.query_one("#openai-model", Select).value),
                validation_file=self._path("validation_file"),
                method=method,
                beta=values.get("beta") if method == "dpo" else None,
                n_epochs=values["n_epochs"],
                batch_size=values["batch_size"],
                learning_rate_multiplier=values["learning_rate_multiplier"],
                suffix=self._text("suffix") or None,
                seed=seed,
                metadata=metadata,
            )
        except (TypeError, ValueError) as exc:
            raise FormError("dataset", str(exc)) from None

    def focus_field(self, name: str) -> None:
        self.query_one(f"#openai-{name}").focus()

    # -- edits ----------------------------------------------------------------------------------

    def _show_beta(self) -> None:
        dpo = self.query_one("#openai-method", Select).value == "dpo"
        self.query_one("#openai-row-beta").display = dpo

    @on(Input.Changed)
    @on(Select.Changed)
    def _edited(self, event: Input.Changed | Select.Changed) -> None:
        widget = event.control
        if widget is None or not (widget.id or "").startswith("openai-"):
            return
        event.stop()
        name = (widget.id or "").removeprefix("openai-")
        if name == "method":
            self._show_beta()
        self.post_message(self.Edited(self, name))
