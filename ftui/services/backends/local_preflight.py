"""Checking a local run before it starts: the machine's capacity, the dataset, the model's files,
the precision and a memory estimate; the plan a user confirms.

Everything here is cheap for the app process: the checks read the dataset and the model's
`config.json` and tokenizer files, never torch.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftui.config import Config
from ftui.core.findings import Severity
from ftui.core.training.chat_templates import TemplateChoice, choose_template
from ftui.core.training.local_config import LocalTrainConfig
from ftui.core.training.memory_estimate import (
    MemoryEstimate,
    ModelShape,
    format_bytes,
    quantization_cost_note,
    resolve_precision,
)
from ftui.core.training.model_files import (
    ModelNotFound,
    has_tokenizer,
    read_chat_template,
    read_json,
    resolve_model,
    tokenizer_special_tokens,
    tokenizer_token,
)
from ftui.core.training.speedups import SpeedPlan, installed, plan_run
from ftui.services.gpu import GpuInfo, detect_gpus, system_memory

MAX_LISTED_FINDINGS = 3
# Findings that are errors for OpenAI's fine-tuning API only: a local run trains on 5 examples, or
# with extra message keys, just as well (the chat template reads role and content).
OPENAI_ONLY_ERRORS = frozenset({"too_few_examples", "message_unrecognized_key"})


@dataclass
class Capacity:
    """What the machine has for one training process."""

    gpus: list[GpuInfo]
    ram_total: int | None
    ram_available: int | None

    @property
    def on_gpu(self) -> bool:
        return bool(self.gpus)

    def per_process_bytes(self, on_gpu: bool) -> int | None:
        """What one training process can use: the least free GPU, or the free RAM."""
        if on_gpu and self.gpus:
            return min(g.memory_free for g in self.gpus)
        return self.ram_available

    def describe(self) -> str:
        if self.gpus:
            return "; ".join(g.describe() for g in self.gpus)
        if self.ram_total:
            free = format_bytes(self.ram_available or 0)
            return f"no GPU: CPU with {format_bytes(self.ram_total)} RAM ({free} free)"
        return "no GPU: CPU"


def machine_capacity() -> Capacity:
    memory = system_memory()
    return Capacity(detect_gpus(), *(memory if memory else (None, None)))


@dataclass
class Preflight:
    """The outcome of checking a run before launch: blocking problems, warnings and the plan."""

    config: LocalTrainConfig
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    model_path: Path | None = None
    estimate: MemoryEstimate | None = None
    capacity: Capacity | None = None
    precision: str | None = None
    processes: int = 1
    checkpointing: bool = False  # gradient checkpointing, once auto is resolved for the device
    speed: SpeedPlan | None = None  # the speed-ups the run will use, and why
    template: TemplateChoice | None = None  # the chat template that will render the examples
    examples: int | None = None
    dataset_summary: dict[str, Any] | None = None
    data_problems: int = 0  # of `problems`, those that are errors in the data itself

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def planned_steps(self) -> int | None:
        """Optimizer steps the run will take, as the trainer counts them (unpacked: a packed
        run's step count depends on how its examples pack)."""
        c = self.config
        if c.max_steps > 0:
            return c.max_steps
        if not self.examples or (self.speed is not None and self.speed.packing):
            return None
        batches = math.ceil(self.examples / (c.batch_size * max(1, self.processes)))
        per_epoch = max(1, math.ceil(batches / c.grad_accum))
        return math.ceil(c.epochs * per_epoch)

    @property
    def exit_code(self) -> int:
        """The CLI's status for a refusal: 1 when the data has errors and nothing else is
        wrong, 2 for bad settings, a missing file or a model that cannot be used."""
        return 1 if self.problems and self.data_problems == len(self.problems) else 2

    def plan_lines(self) -> list[str]:
        """The plan a user confirms: model, data, settings, device, memory."""
        c = self.config
        targets = c.target_modules
        targets_text = targets if isinstance(targets, str) else ",".join(targets)
        epochs = f"{c.epochs:g} epoch{'' if c.epochs == 1 else 's'}"
        steps = self.planned_steps
        length = f"{c.max_steps} steps" if c.max_steps > 0 else epochs
        if steps is not None and c.max_steps <= 0:
            length += f" (~{steps} steps)"
        lines = [
            f"Model      {c.base_model}"
            + (
                f"  ({self.model_path})"
                if self.model_path and str(self.model_path) != c.base_model
                else ""
            ),
            f"Data       {c.dataset_path}"
            + (f"  ({self.examples} examples)" if self.examples is not None else ""),
        ]
        if c.validation_path:
            lines.append(f"Validation {c.validation_path}")
        lines += [
            f"LoRA       r={c.lora_r} alpha={c.lora_alpha} dropout={c.lora_dropout} "
            f"targets={targets_text}",
            f"Training   {length}, lr {c.learning_rate:g} ({c.lr_scheduler}), batch "
            f"{c.batch_size} x {c.grad_accum} accumulation, max length {c.max_length}"
            + (", packing" if self.speed is not None and self.speed.packing else "")
            + (", gradient checkpointing" if self.checkpointing else "")
            + (", assistant-only loss" if c.assistant_only_loss else ""),
            f"Precision  {self.precision or c.precision}, quantization {c.quantization}"
            + (f", {self.processes} processes" if self.processes > 1 else ""),
            "Eval, save "
            + (f"evaluate {_every(c.eval_steps, steps)}, " if c.validation_path else "")
            + f"checkpoint {_every(c.save_steps, steps)}, keeping the newest "
            + f"{c.save_total_limit}",
        ]
        if self.template is not None and self.template.template is not None:
            lines.append(f"Template   {self.template.describe(c.assistant_only_loss)}")
        if self.speed is not None:
            lines.append(f"Speed-ups  {self.speed.summary()}")
            lines += [f"           - {reason}" for reason in self.speed.reasons]
        if self.capacity is not None:
            lines.append(f"Machine    {self.capacity.describe()}")
        if self.estimate is not None:
            lines.append(
                f"Memory     ~{format_bytes(self.estimate.total)} per process "
                f"({self.estimate.breakdown()}); {self.estimate.trainable_params:,} trainable "
                f"of {self.estimate.params:,} parameters"
            )
        return lines


def _validation_errors(path: Path) -> tuple[list[str], dict[str, Any] | None]:
    """The dataset's findings that block local training (as sentences), and a summary for the
    store."""
    from ftui.core.dataset.reader import DatasetError
    from ftui.core.validation.validate import validate_file

    try:
        report = validate_file(path)
    except DatasetError as exc:
        return [str(exc)], None
    except OSError as exc:
        return [f"{path}: cannot read ({exc.strerror or exc})"], None
    errors = [
        f
        for f in report.findings
        if f.severity is Severity.ERROR and f.code not in OPENAI_ONLY_ERRORS
    ]
    ignored = sum(
        count.count
        for code, count in report.code_counts.items()
        if code in OPENAI_ONLY_ERRORS and count.severity is Severity.ERROR
    )
    sentences = [
        f"{path}, line {f.line}: {f.message}" if f.line else f"{path}: {f.message}"
        for f in errors[:MAX_LISTED_FINDINGS]
    ]
    if report.errors - ignored > len(sentences):
        sentences.append(
            f"{path}: {report.errors - ignored - len(sentences)} more error(s); "
            f"`ftui validate {path}` lists them all."
        )
    summary = {"format": str(report.format), "examples": report.examples}
    summary["tokens"] = report.tokens.total
    return sentences, summary


def preflight(
    config: LocalTrainConfig,
    app_config: Config,
    *,
    capacity: Capacity | None = None,
    validate: bool = True,
) -> Preflight:
    """Everything that can be known about a run before it starts, without loading the model."""
    result = Preflight(config=config, problems=list(config.problems()))
    settings_ok = not result.problems
    capacity = capacity if capacity is not None else machine_capacity()
    result.capacity = capacity

    # Dataset(s): a run never starts on data with errors.
    for label, raw in (
        ("dataset", config.dataset_path),
        ("validation dataset", config.validation_path),
    ):
        if not raw:
            continue
        path = Path(raw)
        if not path.is_file():
            result.problems.append(f"The {label} {path} does not exist or is not a file.")
            continue
        if not os.access(path, os.R_OK):
            result.problems.append(f"The {label} {path} is not readable (check its permissions).")
            continue
        if validate:
            errors, summary = _validation_errors(path)
            if errors:
                result.data_problems += 1
                result.problems.append(
                    f"The {label} has errors; fix them before training:\n  - "
                    + "\n  - ".join(errors)
                )
            if label == "dataset" and summary is not None:
                result.dataset_summary = summary
                result.examples = summary.get("examples")

    # Model: found offline, with a tokenizer and a chat template fit for the loss asked for.
    try:
        model_path = resolve_model(config.base_model, app_config.models_dir)
    except ModelNotFound as exc:
        result.problems.append(str(exc))
        model_path = None
    model_config: dict[str, Any] = {}
    if model_path is not None:
        result.model_path = model_path
        model_config = read_json(model_path / "config.json")
        if not has_tokenizer(model_path):
            result.problems.append(
                f"{model_path} has no tokenizer files (tokenizer.json, tokenizer.model or "
                "vocab.json): copy the tokenizer beside the model."
            )
        else:
            chosen = choose_template(
                config.chat_template,
                own_template=read_chat_template(model_path),
                special_tokens=tokenizer_special_tokens(model_path),
                assistant_only_loss=config.assistant_only_loss,
                model_type=model_config.get("model_type"),
                model_label=config.base_model,
                bos_token=tokenizer_token(model_path, "bos_token"),
                eos_token=tokenizer_token(model_path, "eos_token"),
            )
            result.template = chosen
            if chosen.problem:
                result.problems.append(chosen.problem)
            elif config.assistant_only_loss and chosen.stop_trained is False:
                result.warnings.append(
                    f"The chat template ({chosen.label}) leaves the end-of-turn token out of the "
                    "loss: the model may never learn to stop. Use a template that puts it inside "
                    "{% generation %}, or turn assistant-only loss off."
                )

    # Device, precision and memory.
    on_gpu = capacity.on_gpu and config.device != "cpu"
    if config.device == "cuda" and not capacity.on_gpu:
        result.problems.append(
            "device is cuda but no NVIDIA GPU was found (no NVML, no nvidia-smi): "
            "set device to auto or cpu."
        )
    if on_gpu:
        visible = len(capacity.gpus)
        if config.gpus > visible:
            result.problems.append(
                f"gpus is {config.gpus} but this machine shows {visible} GPU(s)."
            )
        result.processes = min(config.gpus or visible, visible)
    bf16 = all(g.supports_bf16 for g in capacity.gpus) if on_gpu else False
    result.precision = resolve_precision(config.precision, on_gpu=on_gpu, bf16_supported=bf16)
    if result.precision == "fp16" and not on_gpu:
        result.problems.append("fp16 training needs a GPU; on a CPU choose auto (fp32) or bf16.")
    if config.quantization != "none":
        result.warnings.append(quantization_cost_note(config.quantization, on_gpu=on_gpu))
    shape: ModelShape | None = None
    if model_config and settings_ok:
        try:
            shape = ModelShape.from_config(model_config)
        except (ValueError, TypeError) as exc:
            result.warnings.append(f"No memory estimate: {exc}.")
    if settings_ok:
        result.speed, result.estimate = plan_run(
            config,
            shape,
            on_gpu=on_gpu,
            precision=result.precision,
            packages=installed(),
            free_memory=capacity.per_process_bytes(True) if on_gpu else None,
        )
        result.checkpointing = result.speed.gradient_checkpointing
        if result.estimate is not None:
            _check_fit(result, result.estimate, capacity, on_gpu)
    else:
        result.checkpointing = bool(config.gradient_checkpointing)
    return result


def _check_fit(
    result: Preflight, estimate: MemoryEstimate, capacity: Capacity, on_gpu: bool
) -> None:
    available = capacity.per_process_bytes(on_gpu)
    if available is None:
        return
    where = "free GPU memory" if on_gpu else "free RAM"
    if estimate.total > available:
        result.warnings.append(
            f"This run needs about {format_bytes(estimate.total)} but the machine has "
            f"{format_bytes(available)} of {where}: it will likely run out of memory. Lower "
            "batch_size or max_length, keep gradient checkpointing on, or use 4bit."
        )
    elif estimate.total > 0.85 * available:
        result.warnings.append(
            f"This run needs about {format_bytes(estimate.total)} of {format_bytes(available)} "
            f"{where}: tight; another process on the machine could push it over."
        )


def _every(interval: float, steps: int | None) -> str:
    """An eval or save interval as the plan says it: a fraction of the run, or a step count."""
    if interval >= 1:
        return f"every {int(interval)} steps"
    text = f"every {interval:.0%} of the steps"
    return text + (f" (~{max(1, round(steps * interval))})" if steps else "")
