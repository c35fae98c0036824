"""`ftui train local|openai|resume|pause|cancel|again` and `ftui model tiny|list`.

`train openai` lives in `ftui.commands.openai`; cancel, pause and resume go to the backend that owns
the run (a local run's process, or an OpenAI job).

A run is launched detached: the command returns (or, with --wait, follows the run) and the training
goes on whatever happens to the terminal. Nothing here imports torch; `ftui model tiny` does it in
the command itself, since building a model is what it is for.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ftui.commands.runs import echo_json, follow_and_print, open_store, resolve
from ftui.config import Config

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from ftui.services.backends.local import LocalBackend, Preflight
    from ftui.services.store import Run, RunStore

EXIT_FAILED = 1
EXIT_CANCELLED = 3
FOLLOW_INTERVAL_S = 0.3


def _config(ctx: click.Context) -> Config:
    return ctx.obj if isinstance(ctx.obj, Config) else Config()


def _backend(store: RunStore, ctx: click.Context) -> LocalBackend:
    from ftui.services.root import Services

    return Services(_config(ctx), store=store).local


@click.group("train")
def train_group() -> None:
    """Fine-tune here (LoRA / QLoRA) or on OpenAI; runs survive closed terminals and dropped SSH."""


def _training_options(func: Any) -> Any:
    options = [
        click.option("--validation-file", type=click.Path(path_type=Path), help="Held-out data."),
        click.option("--lora-r", type=int, help="LoRA rank (default 16)."),
        click.option("--lora-alpha", type=int, help="LoRA alpha (default 32)."),
        click.option("--lora-dropout", type=float, help="LoRA dropout (default 0.05)."),
        click.option(
            "--target-modules", help="all-linear (default) or names: q_proj,k_proj,v_proj,..."
        ),
        click.option(
            "--quant",
            type=click.Choice(["none", "4bit", "8bit"]),
            help="Quantize the base model with bitsandbytes (4bit = QLoRA, NF4).",
        ),
        click.option(
            "--precision",
            type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
            help="auto: bf16 on a GPU that has it (else fp16), fp32 on a CPU.",
        ),
        click.option(
            "--device",
            type=click.Choice(["auto", "cpu", "cuda"]),
            help="auto: the GPUs when there are any, else the CPU.",
        ),
        click.option("--gpus", type=int, help="GPUs to use (0: all visible; >1 uses accelerate)."),
        click.option(
            "--chat-template",
            help="auto (the tokenizer's, or trl's training variant of it) or chatml, mistral.",
        ),
        click.option("--epochs", type=float, help="Passes over the data (default 3)."),
        click.option("--max-steps", type=int, help="Train this many steps (overrides epochs)."),
        click.option("--lr", "learning_rate", type=float, help="Learning rate (default 2e-4)."),
        click.option("--scheduler", "lr_scheduler", help="LR schedule (default cosine)."),
        click.option("--warmup", type=float, help="Warmup: fraction (<1) or steps (default 0.03)."),
        click.option("--batch-size", type=int, help="Per-device batch size (default 4)."),
        click.option("--grad-accum", type=int, help="Gradient accumulation steps (default 4)."),
        click.option("--max-length", type=int, help="Tokens per example (default 1024)."),
        click.option("--packing/--no-packing", default=None, help="Pack examples together."),
        click.option(
            "--assistant-only-loss/--no-assistant-only-loss",
            default=None,
            help="Learn only the assistant turns (default on).",
        ),
        click.option(
            "--gradient-checkpointing/--no-gradient-checkpointing",
            default=None,
            help="Trade compute for memory (default: only when the memory estimate does not fit).",
        ),
        click.option("--eval-steps", type=float, help="Evaluate every N steps (<1: fraction)."),
        click.option("--save-steps", type=float, help="Checkpoint every N steps (<1: fraction)."),
        click.option(
            "--early-stopping",
            "early_stopping_patience",
            type=int,
            help="Stop after N evaluations without a better validation loss.",
        ),
        click.option("--seed", type=int),
        click.option("--merge/--no-merge", default=None, help="Also save the merged model."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


_SETTING_NAMES = (
    "lora_r",
    "lora_alpha",
    "lora_dropout",
    "quant",
    "precision",
    "device",
    "gpus",
    "chat_template",
    "epochs",
    "max_steps",
    "learning_rate",
    "lr_scheduler",
    "warmup",
    "batch_size",
    "grad_accum",
    "max_length",
    "packing",
    "assistant_only_loss",
    "gradient_checkpointing",
    "eval_steps",
    "save_steps",
    "early_stopping_patience",
    "seed",
    "merge",
)


def _settings(options: dict[str, Any]) -> dict[str, Any]:
    """The options the user gave, as LocalTrainConfig fields."""
    from ftui.core.training.local_config import parse_target_modules

    settings = {name: options[name] for name in _SETTING_NAMES if options.get(name) is not None}
    if "quant" in settings:
        settings["quantization"] = settings.pop("quant")
    if options.get("target_modules"):
        settings["target_modules"] = parse_target_modules(options["target_modules"])
    return settings


def _print_preflight(checked: Preflight) -> None:
    for line in checked.plan_lines():
        click.echo("  " + line)
    for warning in checked.warnings:
        click.secho(f"  warning: {warning}", fg="yellow", err=True)
    for problem in checked.problems:
        click.secho(f"  error: {problem}", fg="red", err=True)


def confirm_or_exit(yes: bool, question: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        # A usage error (exit 2, as the help says), not a failed run.
        raise click.UsageError("Not asking without a terminal: add --yes to go ahead.")
    if not click.confirm(question, default=False):  # launching may cost money: yes is typed
        raise click.Abort()


def finish_run(store: RunStore, run: Run, wait: bool, as_json: bool) -> None:
    """Follow the run if asked, print it as JSON last if asked; exit 1 failed, 3 cancelled."""
    if wait:
        run = _follow(store, run, quiet=as_json)
    if as_json:
        echo_json(run.to_json_dict())
    elif not wait:
        click.echo(
            f"Run {run.id} started in the background ({run.status}). Follow it with "
            f"`ftui runs watch {run.id}`, or open ftui; stop it with `ftui train cancel {run.id}`."
        )
    if wait:
        if run.status == "failed":
            sys.exit(EXIT_FAILED)
        if run.status == "cancelled":
            sys.exit(EXIT_CANCELLED)


def _follow(store: RunStore, run: Run, *, quiet: bool) -> Run:
    """Print the run's events until it ends; a process that died without a word ends it failed."""
    try:
        follow_and_print(store, run.id, history_from=0, interval=FOLLOW_INTERVAL_S, quiet=quiet)
    except KeyboardInterrupt:
        click.echo(
            f"\nStopped following; run {run.id} goes on (`ftui train cancel {run.id}` stops it).",
            err=True,
        )
        sys.exit(130)
    return store.get_run(run.id)


@train_group.command("local")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--model", "-m", required=True, help="Local model folder, models/ name or cached id.")
@_training_options
@click.option("--run-id", help="Name the run (default: a random id).")
@click.option("--dry-run", is_flag=True, help="Check and show the plan; start nothing.")
@click.option("--yes", "-y", is_flag=True, help="Launch without asking.")
@click.option("--wait", is_flag=True, help="Follow the run until it ends (Ctrl-C stops following).")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@click.pass_context
def local_command(ctx: click.Context, dataset: Path, model: str, **options: Any) -> None:
    """Train a LoRA (or QLoRA) adapter on DATASET with a local model.

    Shows the plan and the memory estimate, asks, then starts the training process detached from
    this terminal. Exit status with --wait: 0 succeeded, 1 failed, 3 cancelled. Refused before
    anything starts: 1 when the data has errors, 2 for bad settings or a missing file or model.
    """
    from ftui.core.training.local_config import ConfigError, LocalTrainConfig
    from ftui.services.backends.base import LaunchError

    validation = options.get("validation_file")
    try:
        config = LocalTrainConfig(
            base_model=model,
            dataset_path=str(dataset),
            validation_path=str(validation) if validation else None,
            **_settings(options),
        )
    except (ConfigError, TypeError) as exc:
        raise click.UsageError(str(exc)) from None
    with open_store(ctx) as store:
        backend = _backend(store, ctx)
        checked = asyncio.run(backend.preflight(config))
        if not options["as_json"] or not checked.ok or options["dry_run"]:
            click.echo("Local training run:", err=options["as_json"])
            _print_preflight(checked)
        if not checked.ok:
            raise _refused(checked.exit_code)
        if options["dry_run"]:
            return
        confirm_or_exit(options["yes"], "Start this run?")
        try:
            run = asyncio.run(backend.launch(config, checked=checked, run_id=options.get("run_id")))
        except LaunchError as exc:
            raise click.ClickException(str(exc)) from None
        finish_run(store, run, options["wait"], options["as_json"])


def _act(
    store: RunStore,
    ctx: click.Context,
    run_id: str,
    action: Callable[[Any, str], Coroutine[Any, Any, Run]],
) -> Run:
    """`action(backend, full_id)` done by the backend that owns the run; its refusal (a
    `LaunchError`, or no such backend here) becomes the command's error message."""
    from ftui.services.backends.base import LaunchError
    from ftui.services.root import Services, UnknownBackend

    full_id = resolve(store, run_id)
    try:
        backend = Services(_config(ctx), store=store).backend_for(store.get_run(full_id))
        return asyncio.run(action(backend, full_id))
    except (UnknownBackend, LaunchError) as exc:
        raise click.ClickException(str(exc)) from None


@train_group.command("resume")
@click.argument("run_id")
@click.option("--wait", is_flag=True, help="Follow the run until it ends.")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@click.pass_context
def resume_command(ctx: click.Context, run_id: str, wait: bool, as_json: bool) -> None:
    """Continue a run: a cancelled or failed local run from its last checkpoint, a paused OpenAI
    job where it stopped."""
    with open_store(ctx) as store:
        run = _act(store, ctx, run_id, lambda backend, full_id: backend.resume(full_id))
        if not as_json:
            click.echo(f"Run {run.id} {run.status}.")
        finish_run(store, run, wait, as_json)


@train_group.command("pause")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@click.pass_context
def pause_command(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """Pause a run that can be paused (an OpenAI job); `ftui train resume` continues it."""
    with open_store(ctx) as store:
        run = _act(store, ctx, run_id, lambda backend, full_id: backend.pause(full_id))
        if as_json:
            echo_json(run.to_json_dict())
        else:
            click.echo(f"Run {run.id} {run.status}.")


@train_group.command("cancel")
@click.argument("run_id")
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=120.0,
    show_default=True,
    help="Seconds to wait for a checkpoint before killing the process.",
)
@click.pass_context
def cancel_command(ctx: click.Context, run_id: str, grace: float) -> None:
    """Stop a run: a local one saves a checkpoint and ends cancelled (resumable); an OpenAI job
    is cancelled on OpenAI."""
    with open_store(ctx) as store:
        run = _act(store, ctx, run_id, lambda backend, full_id: backend.cancel(full_id, grace))
        click.echo(f"Run {run.id} {run.status}.")


@train_group.command("checkpoint")
@click.argument("run_id")
@click.pass_context
def checkpoint_command(ctx: click.Context, run_id: str) -> None:
    """Save a checkpoint of a running local run at the end of its current step; it trains on
    (its log says "Checkpoint requested at step N", then the checkpoint)."""
    with open_store(ctx) as store:
        run = _act(store, ctx, run_id, lambda backend, full_id: backend.checkpoint_now(full_id))
        click.echo(
            f"Checkpoint requested for run {run.id}: saved at the end of the current step "
            f"(`ftui runs watch {run.id}` shows it)."
        )


@train_group.command("again")
@click.argument("run_id")
@click.option("--set", "changes", multiple=True, metavar="KEY=VALUE", help="Change a setting.")
@click.option("--yes", "-y", is_flag=True, help="Launch without asking.")
@click.option("--wait", is_flag=True, help="Follow the new run until it ends.")
@click.option("--json", "as_json", is_flag=True, help="Print the new run as JSON.")
@click.pass_context
def again_command(
    ctx: click.Context,
    run_id: str,
    changes: tuple[str, ...],
    yes: bool,
    wait: bool,
    as_json: bool,
) -> None:
    """Start a new run with a finished run's settings, some changed (--set lora_r=32)."""
    from ftui.core.training.local_config import ConfigError
    from ftui.services.backends.base import LaunchError

    with open_store(ctx) as store:
        backend = _backend(store, ctx)
        run = store.get_run(resolve(store, run_id))
        try:
            config = backend.run_config(run).with_changes(**_parse_changes(changes))
        except (ConfigError, TypeError, LaunchError) as exc:
            raise click.UsageError(str(exc)) from None
        checked = asyncio.run(backend.preflight(config))
        if not as_json or not checked.ok:
            click.echo(f"Again, from run {run.id}:", err=as_json)
            _print_preflight(checked)
        if not checked.ok:
            raise _refused(checked.exit_code)
        confirm_or_exit(yes, "Start this run?")
        try:
            new_run = asyncio.run(backend.launch(config, checked=checked))
        except LaunchError as exc:
            raise click.ClickException(str(exc)) from None
        finish_run(store, new_run, wait, as_json)


def _parse_changes(changes: tuple[str, ...]) -> dict[str, Any]:
    """`key=value` pairs, values read as JSON where they parse (numbers, true, lists)."""
    import orjson

    parsed: dict[str, Any] = {}
    for change in changes:
        key, sep, raw = change.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--set takes KEY=VALUE, not {change!r}")
        try:
            value: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            value = raw
        parsed[key.strip().replace("-", "_")] = value
    return parsed


def _add_openai_command() -> None:
    from ftui.commands.openai import train_openai_command

    train_group.add_command(train_openai_command)


_add_openai_command()


@click.group("model")
def model_group() -> None:
    """Local models: list what ftui can train, build a tiny one to try things with."""


@model_group.command("tiny")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--texts",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Train the tokenizer on this dataset's text (default: built-in demo sentences).",
)
@click.option(
    "--pretrain-steps",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Steps of next-token pretraining on the texts first (0: random weights).",
)
@click.option("--force", is_flag=True, help="Replace DIRECTORY if it holds something.")
def tiny_command(directory: Path, texts: Path | None, pretrain_steps: int, force: bool) -> None:
    """Build a tiny Llama-style chat model in DIRECTORY (seconds, no download).

    Hidden size 64, 2 layers, 4 heads, with a byte-level BPE tokenizer trained here and a
    training-compatible chat template, pretrained for a few seconds on the texts: enough to try
    local training end to end on a CPU and watch the loss fall.
    """
    try:
        from ftui.train.tiny_model import build_tiny_model, texts_from_dataset
    except ImportError as exc:
        raise click.ClickException(
            f"Building a model needs the training extras ({exc.name} is missing): "
            "pip install 'ftui-workbench[train]'"
        ) from None
    corpus = texts_from_dataset(texts) if texts else None
    try:
        path = build_tiny_model(
            directory, corpus, overwrite=force, pretrain_steps=pretrain_steps, report=click.echo
        )
    except FileExistsError as exc:
        raise click.ClickException(f"{exc} (or pass --force)") from None
    click.echo(f"Built a tiny model in {path}. Train it: ftui train local DATA --model {path}")


@model_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def list_models_command(ctx: click.Context, as_json: bool) -> None:
    """Models ftui can train offline: ftui's models folder and the Hugging Face cache."""
    from ftui.core.training.model_files import list_local_models

    config = _config(ctx)
    models = list_local_models(config.models_dir)
    if as_json:
        echo_json(
            [
                {
                    "name": m.name,
                    "path": str(m.path),
                    "source": m.source,
                    "model_type": m.model_type,
                    "params": m.params,
                }
                for m in models
            ]
        )
        return
    if not models:
        click.echo(
            f"No local models. Put model folders in {config.models_dir}, download to the "
            "Hugging Face cache, or build one: ftui model tiny DIR"
        )
        return
    for m in models:
        size = f"{m.params / 1e9:.2f}B" if m.params and m.params >= 1e8 else f"{m.params or 0:,}"
        click.echo(f"{m.name:<48} {m.model_type or '?':<12} {size:>12}  {m.source}")


class _DataRefused(click.ClickException):
    """The preflight refused the launch for errors in the data."""

    exit_code = 1


class _SettingsRefused(click.ClickException):
    """The preflight refused it for bad settings, a missing file or an unusable model."""

    exit_code = 2


def _refused(code: int) -> click.ClickException:
    refusal = _DataRefused if code == 1 else _SettingsRefused
    return refusal("Nothing started: fix the errors above.")
