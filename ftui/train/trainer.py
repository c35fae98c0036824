"""One local LoRA / QLoRA training run, start to finish, reporting through the run's event log.

`run_training(run_dir)` reads `config.json`, checks everything that can be checked cheaply first
(config values, dataset, model folder, chat template) so a bad input fails in seconds with a clear
message, then loads the model, trains with trl's SFTTrainer and saves the adapter (and, on request,
the merged model). Every outcome ends in a terminal status event: succeeded, cancelled (a stop
request: a checkpoint was saved and the run can be resumed) or failed (with the error).
"""

from __future__ import annotations

import os
import platform
import socket
import traceback
from pathlib import Path
from typing import Any

import orjson

from ftui.core.runs.events import CONFIG_FILE, EVENTS_FILE, EventWriter, RunStatus
from ftui.core.training.chat_templates import TRAINING_TEMPLATES, TRL, choose_template
from ftui.core.training.local_config import ConfigError, LocalTrainConfig
from ftui.core.training.memory_estimate import MemoryEstimate, ModelShape, format_bytes
from ftui.core.training.model_files import ModelNotFound, read_json, resolve_model
from ftui.core.training.speedups import SpeedPlan, installed, plan_run
from ftui.train.stop import CheckpointRequest, StoppedBeforeTraining, StopRequest

CHECKPOINTS_DIR = "checkpoints"
ADAPTER_DIR = "adapter"
MERGED_DIR = "merged"
RENAMED_ARGUMENTS = (
    ("gradient_checkpointing", "activation_checkpointing"),
    ("gradient_checkpointing_kwargs", "activation_checkpointing_kwargs"),
)
QUANTIZED_LINEAR = frozenset({"Linear4bit", "Linear8bitLt"})  # bitsandbytes' layer classes


class RunFailed(Exception):
    """A failure with a message meant for the user (no traceback needed)."""


class _Silent:
    """Stands in for the EventWriter on ranks other than 0."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def read_config(run_dir: Path) -> LocalTrainConfig:
    path = run_dir / CONFIG_FILE
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise RunFailed(f"{path} does not exist: this is not a run directory.") from None
    except orjson.JSONDecodeError as exc:
        raise RunFailed(f"{path} is not valid JSON ({exc}).") from None
    try:
        return LocalTrainConfig.from_dict(data).check()
    except (ConfigError, TypeError) as exc:
        raise RunFailed(f"{path}: {exc}") from None


def model_folder(config: LocalTrainConfig) -> Path:
    from ftui.config import Config

    try:
        return resolve_model(config.base_model, Config().models_dir)
    except ModelNotFound as exc:
        raise RunFailed(str(exc)) from None


def last_checkpoint(run_dir: Path) -> Path | None:
    from transformers.trainer_utils import get_last_checkpoint

    folder = run_dir / CHECKPOINTS_DIR
    if not folder.is_dir():
        return None
    found = get_last_checkpoint(str(folder))
    return Path(found) if found else None


def _interval(value: float) -> float | int:
    return int(value) if value >= 1 else value


def sft_arguments(
    config: LocalTrainConfig,
    run_dir: Path,
    *,
    precision: str,
    on_gpu: bool,
    has_eval: bool,
    speed: SpeedPlan,
) -> dict[str, Any]:
    """SFTConfig keyword arguments for this run (pure: testable without training)."""
    eval_steps = _interval(config.eval_steps)
    save_steps = _interval(config.save_steps)
    if config.early_stopping_patience and has_eval:
        # Early stopping restores the best checkpoint, so a checkpoint must exist at every eval.
        save_steps = eval_steps
    args: dict[str, Any] = {
        "output_dir": str(run_dir / CHECKPOINTS_DIR),
        "num_train_epochs": config.epochs,
        "max_steps": config.max_steps if config.max_steps > 0 else -1,
        "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.grad_accum,
        "learning_rate": config.learning_rate,
        "lr_scheduler_type": config.lr_scheduler,
        "warmup_steps": _interval(config.warmup) if config.warmup else 0,
        "logging_steps": _interval(config.logging_steps),
        "logging_first_step": True,
        "save_strategy": "steps",
        "save_steps": save_steps,
        "save_total_limit": config.save_total_limit,
        "eval_strategy": "steps" if has_eval else "no",
        "eval_steps": eval_steps if has_eval else None,
        "max_length": config.max_length,
        **speed.sft_arguments(),
        "assistant_only_loss": config.assistant_only_loss,
        "seed": config.seed,
        "data_seed": config.seed,
        "use_cpu": not on_gpu,
        "bf16": precision == "bf16",
        "fp16": precision == "fp16",
        "report_to": "none",
        "include_num_input_tokens_seen": "non_padding",  # for tokens/s
        "disable_tqdm": True,
        "dataloader_pin_memory": on_gpu,
        "save_only_model": False,  # optimizer and scheduler state too: resume continues exactly
    }
    if speed.gradient_checkpointing:
        args["gradient_checkpointing_kwargs"] = {"use_reentrant": False}
    if config.early_stopping_patience and has_eval:
        args.update(
            load_best_model_at_end=True, metric_for_best_model="eval_loss", greater_is_better=False
        )
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        args["ddp_find_unused_parameters"] = False  # LoRA leaves frozen weights without grads
    args.update(config.extra)
    return args


def lora_config(config: LocalTrainConfig) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.target_modules,
        bias="none",
        task_type="CAUSAL_LM",
    )


def _tokenizer_tokens(tokenizer: Any) -> set[str]:
    tokens = set(tokenizer.all_special_tokens)
    tokens.update(str(t) for t in tokenizer.get_added_vocab())
    return tokens


def run_training(
    run_dir: Path,
    *,
    resume: bool = False,
    stop: StopRequest | None = None,
    checkpoint_request: CheckpointRequest | None = None,
) -> str:
    """Train the run in `run_dir`; returns the final status. Never raises for run failures:
    they end as a `failed` status event (and the traceback in train.log)."""
    run_dir = Path(run_dir).resolve()
    stop = stop or StopRequest()
    writer: Any = EventWriter(run_dir / EVENTS_FILE) if is_main_process() else _Silent()
    try:
        requests = checkpoint_request or CheckpointRequest()
        status = _train(run_dir, writer, resume=resume, stop=stop, checkpoint_request=requests)
    except StoppedBeforeTraining as exc:
        writer.status(RunStatus.CANCELLED, message=f"Stopped by {exc} before training started.")
        return RunStatus.CANCELLED
    except RunFailed as exc:
        writer.log(str(exc), level="error")
        writer.status(RunStatus.FAILED, error=str(exc))
        return RunStatus.FAILED
    except Exception as exc:
        traceback.print_exc()
        message = _describe_exception(exc)
        writer.log(message, level="error")
        writer.status(RunStatus.FAILED, error=message)
        return RunStatus.FAILED
    finally:
        if isinstance(writer, EventWriter):
            writer.close()
    return status


def _describe_exception(exc: BaseException) -> str:
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return (
            "Out of GPU memory. Lower batch_size (and raise grad_accum to keep the effective "
            "batch), lower max_length, keep gradient_checkpointing on, or use 4bit quantization."
        )
    return f"{type(exc).__name__}: {exc}"


def _train(
    run_dir: Path,
    writer: Any,
    *,
    resume: bool,
    stop: StopRequest,
    checkpoint_request: CheckpointRequest,
) -> str:
    config = read_config(run_dir)
    model_dir = model_folder(config)
    writer.status(
        RunStatus.RUNNING,
        message=f"{'Resuming' if resume else 'Starting'} on {socket.gethostname()} "
        f"(pid {os.getpid()}, Python {platform.python_version()})",
    )

    # Cheap checks first: the dataset and the template fail in seconds, before any weights load.
    from ftui.train.data import TrainingDataError, load_conversations

    try:
        train_rows = load_conversations(config.dataset_path)
        eval_rows = load_conversations(config.validation_path) if config.validation_path else None
    except TrainingDataError as exc:
        raise RunFailed(str(exc)) from None
    writer.log(
        f"Dataset: {len(train_rows)} training examples"
        + (f", {len(eval_rows)} validation examples." if eval_rows else ".")
    )
    for reason, count in train_rows.left_out.items():
        writer.log(f"Left out {count} training example(s): {reason}.", level="warning")

    from ftui.train.loading import (
        LoadError,
        choose_placement,
        load_model,
        load_tokenizer,
        peak_memory_bytes,
    )

    try:
        tokenizer = load_tokenizer(model_dir)
        placement = choose_placement(config)
    except LoadError as exc:
        raise RunFailed(str(exc)) from None
    model_config = read_json(model_dir / "config.json")
    chosen = choose_template(
        config.chat_template,
        own_template=tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else None,
        special_tokens=_tokenizer_tokens(tokenizer),
        assistant_only_loss=config.assistant_only_loss,
        model_type=model_config.get("model_type"),
        model_label=config.base_model,
        bos_token=str(tokenizer.bos_token or ""),
        eos_token=str(tokenizer.eos_token or ""),
    )
    if chosen.problem or chosen.template is None:
        raise RunFailed(chosen.problem or "No chat template.")
    if chosen.set_on_tokenizer:
        tokenizer.chat_template = chosen.template
    writer.log(f"Chat template: {chosen.describe(config.assistant_only_loss)}.")
    speed, estimate = _plan_speed(config, model_config, placement)
    writer.log(f"Speed-ups: {speed.summary()}; " + "; ".join(speed.reasons) + ".")
    stop.raise_if_set()

    writer.log(
        f"Loading {model_dir} on {placement.device} in {placement.precision}"
        + (f", quantized {config.quantization}" if config.quantization != "none" else "")
        + "."
    )
    try:
        model = load_model(model_dir, config, placement, attention=speed.attention)
    except LoadError as exc:
        raise RunFailed(str(exc)) from None
    if config.quantization != "none":
        quantized = sum(1 for m in model.modules() if type(m).__name__ in QUANTIZED_LINEAR)
        writer.log(f"Quantized {quantized} linear layers to {config.quantization}.")
    stop.raise_if_set()

    trainer = _build_trainer(
        config, run_dir, model, tokenizer, train_rows, eval_rows, placement, speed
    )
    swapped_in = getattr(trainer, "chat_template", None)
    if chosen.origin == TRL and swapped_in != chosen.template:
        writer.log(  # trl's rule changed under ftui: say what it did instead
            f"trl did not swap in {chosen.label} as planned; the examples are rendered with "
            + ("its own choice." if swapped_in else "the tokenizer's template."),
            level="warning",
        )
    from ftui.train.alerts_callback import AlertsCallback
    from ftui.train.callback import (
        CheckpointOnRequestCallback,
        EventLogCallback,
        GracefulStopCallback,
    )

    graceful = GracefulStopCallback(stop)
    alerts = AlertsCallback(writer)
    trainer.add_callback(EventLogCallback(writer, run_dir, on_metric=alerts.observe))
    trainer.add_callback(alerts)
    trainer.add_callback(CheckpointOnRequestCallback(checkpoint_request, writer))
    trainer.add_callback(graceful)
    if config.early_stopping_patience and eval_rows:
        from transformers import EarlyStoppingCallback

        trainer.add_callback(EarlyStoppingCallback(config.early_stopping_patience))

    trainable, total = trainer.model.get_nb_trainable_parameters()
    writer.log(f"LoRA: {trainable:,} trainable parameters of {total:,}.")
    checkpoint = last_checkpoint(run_dir) if resume else None
    if resume and checkpoint is None:
        writer.log("No checkpoint to resume from: training from the start.", level="warning")
    elif checkpoint is not None:
        writer.log(f"Resuming from {checkpoint.name}.")

    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    if graceful.stopped_at_step is not None:
        trainer.accelerator.wait_for_everyone()
        writer.status(
            RunStatus.CANCELLED,
            message=f"Stopped by {stop.signal_name or 'request'} at step "
            f"{graceful.stopped_at_step}; checkpoint saved, the run can be resumed.",
        )
        return RunStatus.CANCELLED
    state = trainer.state
    if config.early_stopping_patience and eval_rows and state.global_step < state.max_steps:
        writer.log(
            f"Early stopping at step {state.global_step}: the validation loss did not improve for "
            f"{config.early_stopping_patience} evaluations; the best checkpoint "
            f"({Path(state.best_model_checkpoint or '').name or 'the last'}) is kept."
        )

    if is_main_process():
        _save_results(trainer, config, run_dir, model_dir, placement, writer)
    trainer.accelerator.wait_for_everyone()
    peak = peak_memory_bytes(placement)
    writer.log(
        f"Peak memory: {peak / 1024**2:.0f} MiB ({placement.device})"
        + (f"; estimated {format_bytes(estimate.total)}." if estimate else ".")
    )
    writer.status(RunStatus.SUCCEEDED, message="Adapter saved.")
    return RunStatus.SUCCEEDED


def _plan_speed(
    config: LocalTrainConfig, model_config: dict[str, Any], placement: Any
) -> tuple[SpeedPlan, MemoryEstimate | None]:
    """The same speed plan the preflight showed, from what this process sees."""
    try:
        shape: ModelShape | None = ModelShape.from_config(model_config)
    except (ValueError, TypeError):
        shape = None
    free = None
    if placement.on_gpu:
        import torch

        free = int(torch.cuda.mem_get_info(placement.local_rank)[0])
    return plan_run(
        config,
        shape,
        on_gpu=placement.on_gpu,
        precision=placement.precision,
        packages=installed(),
        free_memory=free,
    )


def _trainer_class(speed: SpeedPlan) -> Any:
    """SFTTrainer, or on a CPU one whose loss is the model's own (see speedups.py)."""
    from transformers import Trainer
    from trl import SFTTrainer

    if speed.fused_lm_head:
        return SFTTrainer

    class ModelLossSFTTrainer(SFTTrainer):
        def compute_loss(
            self,
            model: Any,
            inputs: dict[str, Any],
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:
            # transformers' cross-entropy on the model's logits: trl's fused head would run its
            # PyTorch fallback here, with entropy and token accuracy on every step
            return Trainer.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)

    return ModelLossSFTTrainer


def _build_trainer(
    config: LocalTrainConfig,
    run_dir: Path,
    model: Any,
    tokenizer: Any,
    train_rows: list[dict[str, Any]],
    eval_rows: list[dict[str, Any]] | None,
    placement: Any,
    speed: SpeedPlan,
) -> Any:
    from datasets import Dataset
    from trl import SFTConfig

    kwargs = sft_arguments(
        config,
        run_dir,
        precision=placement.precision,
        on_gpu=placement.on_gpu,
        has_eval=bool(eval_rows),
        speed=speed,
    )
    known = SFTConfig.__dataclass_fields__
    if "activation_checkpointing" in known:
        # transformers 5 renamed gradient checkpointing; the old names still work but warn.
        for old, new in RENAMED_ARGUMENTS:
            if old in kwargs:
                kwargs[new] = kwargs.pop(old)
    if "train_sampling_strategy" not in known and "train_sampling_strategy" in kwargs:
        # transformers 4 names length-grouped batches a flag
        strategy = kwargs.pop("train_sampling_strategy")
        kwargs["group_by_length"] = strategy == "group_by_length"
    if "warmup_ratio" in known and 0 < kwargs["warmup_steps"] < 1:
        kwargs["warmup_ratio"] = kwargs.pop("warmup_steps")  # transformers 4: ratios go here
    args = SFTConfig(**kwargs)
    try:
        return _trainer_class(speed)(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(train_rows),
            eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None,
            processing_class=tokenizer,
            peft_config=lora_config(config),
        )
    except ValueError as exc:
        if "target modules" in str(exc).lower() or "Target modules" in str(exc):
            raise RunFailed(
                f"LoRA target modules {config.target_modules} do not match this model: {exc}. "
                "Use all-linear, or names of its linear layers (e.g. q_proj, v_proj)."
            ) from None
        raise


def _save_results(
    trainer: Any,
    config: LocalTrainConfig,
    run_dir: Path,
    model_dir: Path,
    placement: Any,
    writer: Any,
) -> None:
    adapter_dir = run_dir / ADAPTER_DIR
    trainer.save_model(str(adapter_dir))  # the adapter and the tokenizer with its chat template
    writer.emit("artifact", kind="adapter", path=str(adapter_dir))
    if config.chat_template in TRAINING_TEMPLATES:
        stop_token = TRAINING_TEMPLATES[config.chat_template].stop_token
        if stop_token:
            writer.log(
                f"Trained with ftui's {config.chat_template!r} template: generate with the "
                f"tokenizer saved beside the adapter and stop on {stop_token}."
            )
    if not config.merge:
        return
    writer.log("Merging the adapter into the base model (on the CPU, unquantized).")
    from peft import PeftModel

    from ftui.train.loading import load_base_for_merge

    base = load_base_for_merge(model_dir, placement)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged_dir = run_dir / MERGED_DIR
    merged.save_pretrained(str(merged_dir))
    trainer.processing_class.save_pretrained(str(merged_dir))
    writer.emit("artifact", kind="merged_model", path=str(merged_dir))
