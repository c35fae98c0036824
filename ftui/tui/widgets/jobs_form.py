"""The launch form of a local run: every setting of `LocalTrainConfig`, on the keyboard.

Tab and Shift+Tab move between fields; selects open with Enter. The form is told which models exist
(`set_models`) and which dataset is open (`set_dataset`); it reads itself into a LocalTrainConfig
(`read_config`, which names the field a bad value sits in) and reports every edit (`Edited`).
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Checkbox, Input, Label, Select, Static

from ftui.core.training.chat_templates import AUTO, TRAINING_TEMPLATES
from ftui.core.training.local_config import (
    DEVICES,
    PRECISIONS,
    QUANTIZATIONS,
    SCHEDULERS,
    LocalTrainConfig,
    parse_target_modules,
)
from ftui.core.training.model_files import LocalModel

TINY_MODEL_PARAMS = 50_000_000
# The form's words for gradient_checkpointing (None is auto: on only when the memory estimate
# does not fit without it).
CHECKPOINTING: dict[str, bool | None] = {"auto": None, "on": True, "off": False}
# A LoRA learning rate for billions of parameters barely moves a model of a few hundred thousand:
# picking a tiny model (the demo's) switches to settings that show learning within a minute.
TINY_MODEL_SETTINGS = {
    "learning_rate": 5e-3,
    "grad_accum": 1,
    "max_length": 512,
}


@dataclass(frozen=True)
class FieldSpec:
    name: str  # the LocalTrainConfig field
    label: str
    kind: str  # text | int | float | optional-int | select | bool
    choices: tuple[str, ...] = ()
    placeholder: str = ""


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("dataset_path", "Dataset", "text", placeholder="path to a .jsonl / .json dataset"),
    FieldSpec("validation_path", "Validation", "text", placeholder="optional held-out dataset"),
    FieldSpec("base_model", "Base model", "text", placeholder="model folder, name or hub id"),
    FieldSpec("chat_template", "Chat template", "select", (AUTO, *TRAINING_TEMPLATES)),
    FieldSpec("quantization", "Quantization", "select", QUANTIZATIONS),
    FieldSpec("precision", "Precision", "select", PRECISIONS),
    FieldSpec("device", "Device", "select", DEVICES),
    FieldSpec("lora_r", "LoRA r", "int"),
    FieldSpec("lora_alpha", "LoRA alpha", "int"),
    FieldSpec("lora_dropout", "LoRA dropout", "float"),
    FieldSpec(
        "target_modules", "Target modules", "text", placeholder="all-linear or q_proj,v_proj"
    ),
    FieldSpec("epochs", "Epochs", "float"),
    FieldSpec("max_steps", "Max steps", "optional-int", placeholder="empty: use epochs"),
    FieldSpec("learning_rate", "Learning rate", "float"),
    FieldSpec("lr_scheduler", "Scheduler", "select", SCHEDULERS),
    FieldSpec("warmup", "Warmup", "float", placeholder="<1: fraction of steps"),
    FieldSpec("batch_size", "Batch size", "int"),
    FieldSpec("grad_accum", "Grad accumulation", "int"),
    FieldSpec("max_length", "Max length", "int"),
    FieldSpec("eval_steps", "Evaluate every", "float", placeholder="<1: fraction of steps"),
    FieldSpec("save_steps", "Checkpoint every", "float", placeholder="<1: fraction of steps"),
    FieldSpec("early_stopping_patience", "Early stopping", "int", placeholder="0: off"),
    FieldSpec("seed", "Seed", "int"),
    FieldSpec("gpus", "GPUs", "int", placeholder="0: all visible"),
    FieldSpec("packing", "Packing", "select", tuple(CHECKPOINTING)),
    FieldSpec("assistant_only_loss", "Loss on assistant turns only", "bool"),
    FieldSpec("gradient_checkpointing", "Grad checkpointing", "select", tuple(CHECKPOINTING)),
    FieldSpec("merge", "Also save the merged model", "bool"),
)
_SPECS = {spec.name: spec for spec in FIELDS}
# Required fields (dataset, base model) have no default: they start empty, not as MISSING.
_DEFAULTS = {
    f.name: f.default
    for f in fields(LocalTrainConfig)
    if f.name in _SPECS and f.default is not MISSING
}


class FormError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# auto / on / off: None leaves the choice to the plan (packing on a GPU, checkpointing when the
# memory estimate needs it), so the form must not turn "auto" into False.
_TRISTATE = {"gradient_checkpointing", "packing"}


def _select_value(name: str, value: Any) -> str:
    if name in _TRISTATE:
        return next(word for word, meaning in CHECKPOINTING.items() if meaning is value)
    return str(value)


def _display(value: Any) -> str:
    if value is None or value == -1:
        return ""
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1:
        return str(int(value))
    return str(value)


class JobsLaunchForm(VerticalScroll):
    """Every setting of a local run, one row each."""

    @dataclass
    class Edited(Message):
        """A field changed (the pane re-checks the plan)."""

        form: JobsLaunchForm
        field: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=False)
        self.models: list[LocalModel] = []
        self.tiny_settings_applied = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="jobs-row"):
            yield Label("Pick a model", classes="jobs-label")
            yield Select[str](
                [], prompt="models found on this machine", id="jobs-model-pick", compact=True
            )
        for spec in FIELDS:
            with Horizontal(classes="jobs-row"):
                if spec.kind == "bool":
                    yield Checkbox(
                        spec.label,
                        bool(_DEFAULTS.get(spec.name)),
                        id=f"jobs-{spec.name}",
                        compact=True,
                    )
                    continue
                yield Label(spec.label, classes="jobs-label")
                if spec.kind == "select":
                    yield Select[str](
                        [(choice, choice) for choice in spec.choices],
                        value=_select_value(spec.name, _DEFAULTS[spec.name]),
                        allow_blank=False,
                        id=f"jobs-{spec.name}",
                        compact=True,
                    )
                else:
                    yield Input(
                        _display(_DEFAULTS.get(spec.name)),
                        placeholder=spec.placeholder,
                        id=f"jobs-{spec.name}",
                        compact=True,
                    )
        yield Static("", id="jobs-form-note", markup=False)

    def on_mount(self) -> None:
        for field_input in self.query(Input):
            field_input.cursor_blink = False

    # -- what the pane tells the form ---------------------------------------------------------

    def set_models(self, models: list[LocalModel]) -> None:
        self.models = models
        picker = self.query_one("#jobs-model-pick", Select)
        picker.set_options([(self._model_label(m), str(m.path)) for m in models])
        note = "" if models else "No local models found: build one with `ftui model tiny DIR`."
        self.query_one("#jobs-form-note", Static).update(note)

    @staticmethod
    def _model_label(model: LocalModel) -> str:
        size = ""
        if model.params:
            size = f", {model.params / 1e9:.1f}B" if model.params >= 1e8 else ", tiny"
        return f"{model.name} ({model.model_type or '?'}{size})"

    def set_dataset(self, path: Path) -> None:
        self.query_one("#jobs-dataset_path", Input).value = str(path)

    def load_config(self, config: LocalTrainConfig) -> None:
        """Fill every field from a run's config ("run again with changes")."""
        values = config.to_dict()
        for spec in FIELDS:
            widget = self.query_one(f"#jobs-{spec.name}")
            value = values[spec.name]
            if isinstance(widget, Checkbox):
                widget.value = bool(value)
            elif isinstance(widget, Select):
                widget.value = _select_value(spec.name, value)
            elif isinstance(widget, Input):
                widget.value = _display(value)
        self.tiny_settings_applied = False

    # -- reading --------------------------------------------------------------------------------

    def read_config(self) -> LocalTrainConfig:
        """The config the fields describe; FormError names the first field that cannot be read."""
        values: dict[str, Any] = {}
        for spec in FIELDS:
            widget = self.query_one(f"#jobs-{spec.name}")
            if isinstance(widget, Checkbox):
                values[spec.name] = widget.value
            elif isinstance(widget, Select):
                chosen = str(widget.value)
                values[spec.name] = CHECKPOINTING[chosen] if spec.name in _TRISTATE else chosen
            elif isinstance(widget, Input):
                values[spec.name] = self._parse(spec, widget.value.strip())
        for required in ("dataset_path", "base_model"):
            if not values[required]:
                label = _SPECS[required].label
                raise FormError(required, f"{label}: required.")
        return LocalTrainConfig(**values)

    @staticmethod
    def _parse(spec: FieldSpec, text: str) -> Any:
        if spec.kind == "text":
            if spec.name == "target_modules":
                return parse_target_modules(text)
            if spec.name.endswith("_path") and text:
                return str(Path(text).expanduser())
            return text or (None if spec.name == "validation_path" else "")
        if spec.kind == "optional-int" and not text:
            return -1
        try:
            return int(text) if spec.kind in ("int", "optional-int") else float(text)
        except ValueError:
            kind = "a whole number" if "int" in spec.kind else "a number"
            raise FormError(spec.name, f"{spec.label}: enter {kind} (not {text!r}).") from None

    def focus_field(self, name: str) -> None:
        self.query_one(f"#jobs-{name}").focus()

    # -- edits ----------------------------------------------------------------------------------

    @on(Select.Changed, "#jobs-model-pick")
    def _model_picked(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is Select.NULL:
            return
        chosen = next((m for m in self.models if str(m.path) == event.value), None)
        if chosen is None:
            return
        self.query_one("#jobs-base_model", Input).value = (
            chosen.name if chosen.source != "path" else str(chosen.path)
        )
        if chosen.params is not None and chosen.params < TINY_MODEL_PARAMS:
            self._apply_tiny_settings()

    def _apply_tiny_settings(self) -> None:
        for name, value in TINY_MODEL_SETTINGS.items():
            widget = self.query_one(f"#jobs-{name}")
            if isinstance(widget, Checkbox):
                widget.value = bool(value)
            elif isinstance(widget, Input):
                widget.value = _display(value)
        self.tiny_settings_applied = True
        self.query_one("#jobs-form-note", Static).update(
            "A tiny model: learning rate 5e-3, no accumulation, max length 512, so its loss "
            "visibly falls within a minute on a CPU."
        )

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _edited(self, event: Input.Changed | Select.Changed | Checkbox.Changed) -> None:
        widget = event.control
        if widget is None or not (widget.id or "").startswith("jobs-"):
            return
        event.stop()
        self.post_message(self.Edited(self, (widget.id or "").removeprefix("jobs-")))
