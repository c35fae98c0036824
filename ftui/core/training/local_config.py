"""The settings of a local LoRA / QLoRA run: what `config.json` of a local run holds.

One dataclass, shared by the launch form, `ftui train local` and the training process, so a run's
config means the same thing everywhere. `problems()` checks values the way a user would want to hear
about them (which field, what is wrong, what would work) before any process starts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from ftui.core.training.chat_templates import AUTO, RETIRED_TEMPLATES, TRAINING_TEMPLATES

QUANTIZATIONS = ("none", "4bit", "8bit")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")
SCHEDULERS = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "reduce_lr_on_plateau",
    "cosine_with_min_lr",
    "warmup_stable_decay",
)
ALL_LINEAR = "all-linear"


class ConfigError(ValueError):
    """A config that cannot be used; the message lists every problem."""


@dataclass
class LocalTrainConfig:
    base_model: str
    dataset_path: str
    validation_path: str | None = None
    # Model loading
    quantization: str = "none"  # none | 4bit (NF4, double quant) | 8bit
    precision: str = "auto"  # auto: bf16 (or fp16) on a GPU, fp32 on a CPU
    device: str = "auto"  # auto: CUDA when present, else CPU
    gpus: int = 0  # GPUs to train on (one process each); 0: all visible ones
    chat_template: str = AUTO  # auto: the tokenizer's own; else one of TRAINING_TEMPLATES
    # LoRA
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str | list[str] = ALL_LINEAR
    # Training
    epochs: float = 3.0
    max_steps: int = -1  # > 0 overrides epochs
    learning_rate: float = 2e-4
    lr_scheduler: str = "cosine"
    warmup: float = 0.03  # < 1: a fraction of the steps; >= 1: a number of steps
    batch_size: int = 4
    grad_accum: int = 4
    max_length: int = 1024
    # trl's padding-free packing (no padding computed, no cross-attention); None (auto): on with a
    # GPU, off on a CPU, where SDPA over one long packed row is slower than dynamic padding.
    packing: bool | None = None
    assistant_only_loss: bool = True
    # None (auto): on only when the memory estimate says the run does not fit without it.
    gradient_checkpointing: bool | None = None
    # Intervals: < 1 is a fraction of the total steps (0.1: ten times per run), >= 1 a step count.
    eval_steps: float = 0.1
    save_steps: float = 0.1
    logging_steps: float = 1
    save_total_limit: int = 3
    early_stopping_patience: int = 0  # evaluations without improvement before stopping; 0: off
    seed: int = 42
    merge: bool = False  # also save the base model with the adapter merged in
    extra: dict[str, Any] = field(default_factory=dict)  # passed to SFTConfig as is (power users)

    # -- (de)serialisation --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocalTrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {', '.join(unknown)} in the local training config; "
                f"known settings: {', '.join(sorted(known))}"
            )
        for required in ("base_model", "dataset_path"):
            if not data.get(required):
                raise ConfigError(f"the local training config needs {required}")
        return cls(**data)

    def with_changes(self, **changes: Any) -> LocalTrainConfig:
        """A copy with some settings replaced ("run again with changes")."""
        return LocalTrainConfig.from_dict({**self.to_dict(), **changes})

    # -- checks -------------------------------------------------------------------------------

    def problems(self) -> list[str]:
        """Every value that cannot work, each as a sentence naming the setting."""
        out: list[str] = []

        def choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
            if value not in allowed:
                out.append(f"{name} is {value!r}; choose one of {', '.join(allowed)}.")

        choice("quantization", self.quantization, QUANTIZATIONS)
        choice("precision", self.precision, PRECISIONS)
        choice("device", self.device, DEVICES)
        choice("lr_scheduler", self.lr_scheduler, SCHEDULERS)
        if self.chat_template in RETIRED_TEMPLATES:
            out.append(
                f"chat_template is {self.chat_template!r}: trl now ships the training template "
                f"of {RETIRED_TEMPLATES[self.chat_template]}, used by itself; choose auto."
            )
        else:
            choice("chat_template", self.chat_template, (AUTO, *TRAINING_TEMPLATES))
        positive_ints = {
            "lora_r": self.lora_r,
            "lora_alpha": self.lora_alpha,
            "batch_size": self.batch_size,
            "grad_accum": self.grad_accum,
            "max_length": self.max_length,
            "save_total_limit": self.save_total_limit,
        }
        for name, value in positive_ints.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                out.append(f"{name} must be a whole number of at least 1 (it is {value!r}).")
        if self.gpus < 0:
            out.append(f"gpus must be 0 (all visible GPUs) or more (it is {self.gpus}).")
        if not 0 <= self.lora_dropout < 1:
            out.append(f"lora_dropout must be in [0, 1) (it is {self.lora_dropout}).")
        if self.max_steps <= 0 and self.epochs <= 0:
            out.append("Set epochs above 0, or max_steps to a number of steps.")
        if not 0 < self.learning_rate < 1:
            out.append(f"learning_rate must be between 0 and 1 (it is {self.learning_rate}).")
        if self.warmup < 0:
            out.append(f"warmup must be 0 or more (it is {self.warmup}).")
        for name in ("eval_steps", "save_steps", "logging_steps"):
            value = getattr(self, name)
            if value <= 0 or (value >= 1 and value != int(value)):
                out.append(
                    f"{name} must be a fraction of the run below 1 (0.1 = every tenth) or a "
                    f"whole number of steps (it is {value})."
                )
        if self.gradient_checkpointing not in (None, True, False):
            out.append("gradient_checkpointing must be true, false or null (auto).")
        if self.early_stopping_patience < 0:
            out.append("early_stopping_patience must be 0 (off) or more.")
        if self.early_stopping_patience and not self.validation_path:
            out.append("Early stopping watches the validation loss: give a validation dataset.")
        if self.quantization != "none" and self.precision == "fp32" and self.device == "cuda":
            out.append(
                "A quantized model computes in bf16 or fp16 on a GPU: set precision to auto, "
                "bf16 or fp16."
            )
        if isinstance(self.target_modules, str):
            if self.target_modules != ALL_LINEAR:
                out.append(
                    f"target_modules is {self.target_modules!r}: give {ALL_LINEAR!r} or a list "
                    "of module names such as q_proj, v_proj."
                )
        elif not self.target_modules or not all(
            isinstance(m, str) and m for m in self.target_modules
        ):
            out.append("target_modules must name at least one module (or be all-linear).")
        return out

    def check(self) -> LocalTrainConfig:
        problems = self.problems()
        if problems:
            raise ConfigError(" ".join(problems))
        return self


def parse_target_modules(text: str) -> str | list[str]:
    """`all-linear` or a comma/space separated list of module names, as typed in a form or CLI."""
    text = text.strip()
    if text in ("", ALL_LINEAR):
        return ALL_LINEAR
    return [part for part in text.replace(",", " ").split() if part]
