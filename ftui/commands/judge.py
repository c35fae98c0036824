"""`ftui judge`: is B better than A? Both answer an eval set; metrics and an LLM judge compare them.

Exit status: 0 when the job ran (also when the budget stopped it early: the report says so), 1
when a model failed for good (what was answered is cached: running again resumes), 2 for bad
input (a missing or malformed eval set, a bad model spec, a bad option) with the reason. With
`--json` one object goes to stdout: the report's `n`, `metrics`, `judge` (B's wins, A's wins,
ties, unknown, win rate, 95% interval) and the rest, plus the job's calls, cache hits and cost.
Progress goes to stderr. Nothing here imports `openai` until the job starts.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ftui.commands.progress_line import ProgressLine
from ftui.commands.runs import echo_json
from ftui.config import Config

if TYPE_CHECKING:
    from ftui.core.judge.evalset import EvalExample
    from ftui.services.inference.base import ChatModel
    from ftui.services.judge_job import JudgeJob, JudgeProgress
    from ftui.services.store import RunStore

JUDGE_MAX_TOKENS = 1024  # room for the judge's short explanation and its verdict
PROGRESS_EVERY_S = 0.5


class BadInput(click.ClickException):
    """The eval set, a model spec or an option is wrong: nothing was run (exit status 2)."""

    exit_code = 2


def _config(ctx: click.Context) -> Config:
    return ctx.obj if isinstance(ctx.obj, Config) else Config()


def _check_positive(value: float | None, option: str) -> None:
    if value is not None and value < 1:
        raise BadInput(f"{option} must be at least 1 (got {value})")


def _read_examples(path: Path, limit: int | None) -> list[EvalExample]:
    from ftui.core.judge.evalset import EvalSetError, read_eval_set

    try:
        return read_eval_set(path, limit=limit)
    except EvalSetError as exc:
        raise BadInput(f"eval set {exc}") from None
    except (OSError, ValueError) as exc:
        raise BadInput(f"eval set {path}: {exc}") from None


def _read_rubric(path: Path | None) -> str:
    from ftui.core.judge.prompts import DEFAULT_RUBRIC

    if path is None:
        return DEFAULT_RUBRIC
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"--rubric {path}: cannot read it ({exc}); give a UTF-8 text file") from None
    if not text.strip():
        raise BadInput(f"--rubric {path}: the file is empty; write the judging rules in it")
    return text


def _open_models(
    specs: dict[str, str | None], config: Config, store: RunStore
) -> dict[str, ChatModel | None]:
    from ftui.services.inference.base import InferenceError
    from ftui.services.inference.resolve import open_model
    from ftui.services.inference.spec import parse_spec
    from ftui.services.store import StoreError

    parsed = {}
    for option, text in specs.items():
        if text is None:
            continue
        try:
            parsed[option] = parse_spec(text)
        except ValueError as exc:
            raise BadInput(f"{option} {text!r}: {exc}") from None
    models: dict[str, ChatModel | None] = {option: None for option in specs}
    for option, spec in parsed.items():
        try:
            models[option] = open_model(spec, config=config, store=store)
        except (ValueError, InferenceError, StoreError, OSError) as exc:
            raise BadInput(f"{option} {spec.text!r}: {exc}") from None
    return models


def describe_progress(progress: JudgeProgress) -> str:
    cost = f"${progress.cost_usd:.4f}" + (" + unknown" if progress.cost_unknown else "")
    eta = "-" if progress.eta_s is None else f"{progress.eta_s:.0f} s"
    return (
        f"judge: {progress.done}/{progress.total} examples · {progress.calls} calls · "
        f"{progress.cached} cached · {cost} · ETA {eta}"
    )


def job_json(job: JudgeJob, report_json: dict[str, Any]) -> dict[str, Any]:
    return {
        **report_json,
        "session": job.session,
        "stopped": job.stopped,
        "calls": job.calls,
        "cached": job.cached,
        "cost_usd": job.cost_usd,
        "cost_unknown": job.cost_unknown,
    }


def _write_report(path: Path, data: dict[str, Any], markdown: str) -> None:
    import orjson

    from ftui.core.dataset.atomic import atomic_write_bytes, atomic_write_text

    try:
        if path.suffix.lower() == ".json":
            atomic_write_bytes(path, orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
        else:
            atomic_write_text(path, markdown)
    except OSError as exc:
        raise click.ClickException(f"--report {path}: cannot write it ({exc})") from None


def _summary_lines(data: dict[str, Any]) -> list[str]:
    lines = [f"A: {data['a']}", f"B: {data['b']}", f"examples: {data['completed']} of {data['n']}"]
    for name, means in data["metrics"].items():
        a, b = means["a"], means["b"]
        if a is not None and b is not None:
            lines.append(f"  {name:<13} A {a:.3f}   B {b:.3f}")
    tally = data["judge"]
    if data.get("judge_model"):
        rate = tally["b_win_rate"]
        ci = tally["ci95"]
        verdict = (
            f"B's win rate {rate:.1%} (95% interval {ci[0]:.1%}-{ci[1]:.1%})"
            if rate is not None and ci is not None
            else "nothing judged"
        )
        lines.append(
            f"judge {data['judge_model']}: B won {tally['b_wins']}, A won {tally['a_wins']}, "
            f"ties {tally['ties']}, unknown {tally['unknown']}; {verdict}"
        )
    lc = data.get("length_controlled_win_rate")
    if lc is not None:
        lines.append(f"length-controlled win rate of B: {lc:.1%}")
    cost = f"${data['cost_usd']:.4f}" + (" + unknown" if data["cost_unknown"] else "")
    lines.append(f"calls: {data['calls']} sent, {data['cached']} from the cache; cost {cost}")
    return lines


@click.command("judge")
@click.argument("eval_path", type=click.Path(path_type=Path))
@click.option("--a", "spec_a", required=True, metavar="SPEC", help="Model A, the baseline.")
@click.option("--b", "spec_b", required=True, metavar="SPEC", help="Model B, the one under test.")
@click.option("--judge", "spec_judge", metavar="SPEC", help="The judging model (default: [judge]).")
@click.option("--rubric", type=click.Path(path_type=Path), help="A file with the judging rules.")
@click.option("--concurrency", type=int, default=8, show_default=True, help="Calls at once.")
@click.option("--limit", type=int, help="Judge only the first N examples.")
@click.option("--temperature", type=float, default=0.0, show_default=True)
@click.option("--max-tokens", type=int, default=512, show_default=True, help="Per answer.")
@click.option(
    "--system",
    "system_prompt",
    metavar="TEXT",
    help="The system prompt both models answer with (in place of the examples' own).",
)
@click.option("--budget-usd", type=float, help="Stop before paid API calls cost more than this.")
@click.option("--report", type=click.Path(path_type=Path), help="Write Markdown (or .json).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.pass_context
def judge_command(
    ctx: click.Context,
    eval_path: Path,
    spec_a: str,
    spec_b: str,
    spec_judge: str | None,
    rubric: Path | None,
    concurrency: int,
    limit: int | None,
    temperature: float,
    max_tokens: int,
    system_prompt: str | None,
    budget_usd: float | None,
    report: Path | None,
    as_json: bool,
) -> None:
    """Compare model B with model A on the chat examples of EVAL_PATH.

    SPEC is openai:MODEL, openai-compatible:URL#MODEL, local:PATH[+ADAPTER] or run:ID. Both
    models answer every prompt with the same settings; the metrics compare each answer with the
    reference (the example's last assistant turn); the judge compares the two answers in both
    orders. Every answer is cached in the run history: running again pays for nothing twice.
    """
    _check_positive(concurrency, "--concurrency")
    _check_positive(limit, "--limit")
    _check_positive(max_tokens, "--max-tokens")
    if not 0.0 <= temperature <= 2.0:
        raise BadInput(f"--temperature must be between 0 and 2 (got {temperature})")
    if budget_usd is not None and budget_usd < 0:
        raise BadInput(f"--budget-usd must be 0 or more (got {budget_usd})")
    config = _config(ctx)
    examples = _read_examples(eval_path, limit)
    rubric_text = _read_rubric(rubric)
    from ftui.services.inference.resolve import default_judge_spec

    judge_spec = spec_judge if spec_judge is not None else default_judge_spec(config)

    from ftui.commands.runs import open_store

    with open_store(ctx) as store:
        models = _open_models({"--a": spec_a, "--b": spec_b, "--judge": judge_spec}, config, store)
        data, markdown = asyncio.run(
            _run(
                store,
                models,
                examples,
                eval_path=str(eval_path),
                rubric=rubric_text,
                concurrency=concurrency,
                temperature=temperature,
                max_tokens=max_tokens,
                judge_temperature=config.judge.temperature,
                budget_usd=budget_usd,
                quiet=False,
                system_prompt=system_prompt,
            )
        )
    if report is not None:
        _write_report(report, data, markdown)
    if data["stopped"]:
        click.secho(f"warning: {data['stopped']}", fg="yellow", err=True)
    if as_json:
        echo_json(data)
    else:
        for line in _summary_lines(data):
            click.echo(line)
        for warning in data["warnings"]:
            click.secho(f"warning: {warning}", fg="yellow", err=True)


async def _run(
    store: RunStore,
    models: dict[str, ChatModel | None],
    examples: list[EvalExample],
    *,
    eval_path: str,
    rubric: str,
    concurrency: int,
    temperature: float,
    max_tokens: int,
    judge_temperature: float,
    budget_usd: float | None,
    quiet: bool,
    system_prompt: str | None = None,
) -> tuple[dict[str, Any], str]:
    from ftui.services.inference.base import Sampling
    from ftui.services.judge_job import JudgeJob, JudgeJobError

    a, b, judge = models["--a"], models["--b"], models["--judge"]
    assert a is not None and b is not None
    job = JudgeJob(
        store,
        a,
        b,
        judge,
        examples,
        sampling=Sampling(temperature=temperature, max_tokens=max_tokens),
        judge_sampling=Sampling(temperature=judge_temperature, max_tokens=JUDGE_MAX_TOKENS),
        rubric=rubric,
        concurrency=concurrency,
        budget_usd=budget_usd,
        on_progress=None if quiet else ProgressLine(describe_progress, PROGRESS_EVERY_S),
        eval_set=eval_path,
        system_prompt=system_prompt,
    )
    try:
        report = await job.run()
    except JudgeJobError as exc:
        raise click.ClickException(
            f"{exc} — what was answered before is cached: run the same command again to resume"
        ) from None
    finally:
        for model in (a, b, judge):
            if model is not None:
                await model.aclose()
    return job_json(job, report.to_json_dict()), report.to_markdown()
