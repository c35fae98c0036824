"""`ftui train openai` and `ftui openai jobs`: OpenAI fine-tuning from a shell.

`train openai` validates the data, shows the cost, asks, uploads (once per content), creates the
job, records the run and prints its id; `--wait` follows it to the end. Exit status: 0 succeeded,
1 failed (or could not be started), 3 cancelled, 2 for a refused dataset or a usage error; with
`--json` the run record is printed last. Nothing here imports `openai` until a command needs it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ftui.commands.runs import echo_json, format_time, open_store
from ftui.config import Config

if TYPE_CHECKING:
    from ftui.services.backends.openai import OpenAIBackend, OpenAIPlan
    from ftui.services.store import RunStore


class Refused(click.ClickException):
    """The data or the settings do not pass the gate: nothing was sent (exit status 2)."""

    exit_code = 2


def _config(ctx: click.Context) -> Config:
    return ctx.obj if isinstance(ctx.obj, Config) else Config()


def openai_backend(store: RunStore, ctx: click.Context) -> OpenAIBackend:
    from ftui.services.root import Services

    return Services(_config(ctx), store=store).openai


def _hyperparameter(value: str | None, kind: str) -> Any:
    if value is None:
        return "auto"
    from ftui.core.training.openai_job import parse_hyperparameter

    try:
        return parse_hyperparameter(value, kind)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _metadata(pairs: tuple[str, ...]) -> dict[str, str]:
    from ftui.core.training.openai_job import parse_metadata

    try:
        return parse_metadata(pairs)
    except ValueError as exc:
        raise click.UsageError(f"--metadata: {exc}") from None


def print_plan(plan: OpenAIPlan, *, err: bool) -> None:
    click.echo("OpenAI fine-tuning job:", err=err)
    for line in plan.plan_lines():
        click.echo("  " + line, err=err)
    for warning in plan.warnings:
        click.secho(f"  warning: {warning}", fg="yellow", err=True)
    for problem in plan.problems:
        click.secho(f"  error: {problem}", fg="red", err=True)


@click.command("openai")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--validation-file", type=click.Path(path_type=Path), help="Held-out data.")
@click.option("--model", "-m", help="Base model (default: ftui's default fine-tunable model).")
@click.option("--method", type=click.Choice(["supervised", "dpo"]), default="supervised")
@click.option("--beta", help="DPO's beta: auto or a number.")
@click.option("--epochs", help="auto or a whole number.")
@click.option("--batch-size", help="auto or a whole number.")
@click.option("--lr-multiplier", help="auto or a number.")
@click.option("--suffix", help="Up to 64 characters in the fine-tuned model's name.")
@click.option("--seed", type=int)
@click.option("--metadata", multiple=True, metavar="KEY=VALUE", help="Tag the job (repeatable).")
@click.option("--run-id", help="Name the run (default: a random id).")
@click.option("--dry-run", is_flag=True, help="Check and show the plan and cost; send nothing.")
@click.option("--yes", "-y", is_flag=True, help="Launch without asking (warnings accepted).")
@click.option("--wait", is_flag=True, help="Follow the job until it ends (Ctrl-C stops following).")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON, last.")
@click.pass_context
def train_openai_command(ctx: click.Context, dataset: Path, **options: Any) -> None:
    """Fine-tune an OpenAI model on DATASET.

    Validates the data (a file with errors is never uploaded), shows the cost, asks, uploads,
    creates the job and records the run. Exit status: 0 succeeded (or started, without --wait),
    1 failed, 3 cancelled, 2 refused data or a usage error.
    """
    from ftui.commands.train import confirm_or_exit, finish_run
    from ftui.services.backends.base import LaunchError

    job = build_job(dataset, options)
    as_json = options["as_json"]
    with open_store(ctx) as store:
        backend = openai_backend(store, ctx)
        plan = asyncio.run(backend.preflight(job))
        print_plan(plan, err=as_json)
        if not plan.ok:
            raise Refused("Nothing was sent to OpenAI: fix the errors above.")
        if options["dry_run"]:
            return
        question = "Start this job" + (" despite the warnings?" if plan.warnings else "?")
        confirm_or_exit(options["yes"], question)
        try:
            run = asyncio.run(
                backend.launch(
                    plan.job,
                    checked=plan,
                    run_id=options.get("run_id"),
                    progress=lambda message: click.echo(message, err=True),
                )
            )
        except LaunchError as exc:
            raise click.ClickException(str(exc)) from None
        if not as_json:
            click.echo(f"Run {run.id}: OpenAI job {run.remote_job_id} ({run.remote_status}).")
        finish_run(store, run, options["wait"], as_json)


def build_job(dataset: Path, options: dict[str, Any]) -> Any:
    from ftui.core.pricing.models import DEFAULT_OPENAI_MODEL
    from ftui.core.training.openai_job import OpenAIJobConfig

    validation = options.get("validation_file")
    method = options.get("method") or "supervised"
    if options.get("beta") is not None and method != "dpo":
        raise click.UsageError("--beta is for --method dpo only.")
    try:
        job = OpenAIJobConfig(
            dataset=dataset.expanduser().resolve(),
            model=options.get("model") or DEFAULT_OPENAI_MODEL,
            validation_file=validation.expanduser().resolve() if validation else None,
            method=method,
            beta=_hyperparameter(options.get("beta"), "beta") if method == "dpo" else None,
            n_epochs=_hyperparameter(options.get("epochs"), "n_epochs"),
            batch_size=_hyperparameter(options.get("batch_size"), "batch_size"),
            learning_rate_multiplier=_hyperparameter(
                options.get("lr_multiplier"), "learning_rate_multiplier"
            ),
            suffix=options.get("suffix"),
            seed=options.get("seed"),
            metadata=_metadata(options.get("metadata") or ()),
        )
    except (TypeError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    return job


@click.group("openai")
def openai_group() -> None:
    """Your OpenAI account's fine-tuning jobs."""


@openai_group.command("jobs")
@click.option("--import", "import_id", metavar="JOB_ID", help="Import this job into the history.")
@click.option("--limit", "-n", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def jobs_command(ctx: click.Context, import_id: str | None, limit: int, as_json: bool) -> None:
    """List the account's fine-tuning jobs, newest first; --import JOB_ID brings one (its
    events back-filled) into the run history, followed from then on if it is still going."""
    from ftui.services.backends.base import LaunchError

    with open_store(ctx) as store:
        backend = openai_backend(store, ctx)
        try:
            if import_id:
                run = asyncio.run(backend.import_job(import_id))
                if as_json:
                    echo_json(run.to_json_dict())
                else:
                    click.echo(f"Job {import_id} is run {run.id} ({run.status}).")
                return
            jobs = asyncio.run(backend.list_jobs(limit=limit))
        except LaunchError as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        echo_json(jobs)
        return
    if not jobs:
        click.echo("No fine-tuning jobs on this account.")
        return
    for job in jobs:
        run_id = job.get("ftui_run_id") or "-"
        model = job.get("fine_tuned_model") or job.get("model") or "?"
        created = format_time(job.get("created_at"))
        status = str(job.get("status"))
        click.echo(f"{job['id']:<32} {status:<16} {created}  run {run_id:<10} {model}")
