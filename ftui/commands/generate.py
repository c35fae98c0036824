"""`ftui generate distill|synth|paraphrase`: a model writes examples into a dataset file.

Exit status: 0 when every task is done; 3 when a budget stopped the job (what was generated is
written; run again with a higher budget to go on); 1 when a model failed for good (what was
generated is written and every answer cached: running again resumes); 2 for bad input (an
unreadable source, a bad model spec or key, a bad prompt template, a bad option), with the
reason, before any call. 130 when interrupted (what was generated is written). With `--json` one
object goes to stdout (`GenerationResult.to_json_dict`); progress goes to stderr.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ftui.commands.judge import BadInput, _check_positive, _config, _open_models
from ftui.commands.progress_line import ProgressLine
from ftui.commands.runs import echo_json
from ftui.config import Config

if TYPE_CHECKING:
    from ftui.core.generation.plan import Task
    from ftui.services.generation_job import GenerationProgress, GenerationPrompts

EXIT_BUDGET = 3
PROGRESS_EVERY_S = 0.5


def default_generate_spec(config: Config) -> str | None:
    """The model the `[generate]` settings name (on its `base_url`, or OpenAI's API)."""
    from ftui.services.inference.resolve import SPEC_PREFIXES

    model = config.generate.model
    if not model:
        return None
    if model.startswith(SPEC_PREFIXES):
        return model
    if config.generate.base_url:
        return f"openai-compatible:{config.generate.base_url}#{model}"
    return f"openai:{model}"


def describe_progress(progress: GenerationProgress) -> str:
    cost = f"${progress.cost_usd:.4f}" + (" + unknown" if progress.cost_unknown else "")
    eta = "-" if progress.eta_s is None else f"{progress.eta_s:.0f} s"
    dupes = ""
    if progress.dropped or progress.flagged:
        dupes = f" · {progress.dropped} dropped, {progress.flagged} flagged"
    return (
        f"generate: {progress.done}/{progress.total} tasks · {progress.examples} examples · "
        f"{progress.calls} calls · {progress.cached} cached · {progress.tokens:,} tokens · "
        f"{cost} · ETA {eta}{dupes}"
    )


def _read_prompt(path: Path | None, step_name: str, option: str) -> Any:
    from ftui.core.generation.prompts import STEPS, TemplateError, prompt_for

    step = STEPS[step_name]
    text = None
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(
                f"{option} {path}: cannot read it ({exc}); give a UTF-8 text file"
            ) from None
    try:
        return prompt_for(step, text, where=f"{option} {path}")
    except TemplateError as exc:
        raise BadInput(str(exc)) from None


def _common_options(f: Any, of_what: str = "the answers") -> Any:
    options = [
        click.option(
            "--out",
            "out",
            required=True,
            type=click.Path(path_type=Path),
            help="The dataset to write (OpenAI chat JSONL); run again to resume.",
        ),
        click.option(
            "--model",
            "spec",
            metavar="SPEC",
            help="The generating model (default: [generate] model).",
        ),
        click.option(
            "--temperature",
            type=float,
            help=f"Of {of_what} (default: [generate] temperature).",
        ),
        click.option("--max-tokens", type=int, help="Per reply (default: [generate] max_tokens)."),
        click.option(
            "--concurrency", type=int, default=8, show_default=True, help="Calls at once."
        ),
        click.option(
            "--budget-usd", type=float, help="Stop before paid API calls cost more than this."
        ),
        click.option(
            "--budget-tokens", type=int, help="Stop before the calls use more tokens than this."
        ),
        click.option(
            "--dedupe",
            type=click.Choice(["drop", "flag", "off"]),
            default="drop",
            show_default=True,
            help="Near and exact duplicates of the pool: drop, or keep and flag (distill: only "
            "exact repeats of a whole prompt).",
        ),
        click.option(
            "--dedupe-method",
            type=click.Choice(["rougeL", "minhash"]),
            default="rougeL",
            show_default=True,
            help="ROUGE-L F > 0.7 (Self-Instruct) or MinHash LSH.",
        ),
        click.option("--limit", type=int, help="Use only the first N inputs."),
        click.option(
            "--json", "as_json", is_flag=True, help="Print the result as one JSON object."
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@click.group("generate")
def generate_group() -> None:
    """Generate examples with a model: distill, synth, paraphrase.

    SPEC is openai:MODEL, openai-compatible:URL#MODEL, local:PATH[+ADAPTER] or run:ID. Every
    answer is cached in the run history and every example's origin recorded; run the same
    command again with the same --out to resume: nothing already generated is asked for again.

    Exit status: 0 done, 3 stopped at a budget (run again with a higher one to go on), 1 a model
    failed (run again to resume), 2 bad input, 130 interrupted.
    """


@generate_group.command("distill")
@click.argument("prompts", type=click.Path(path_type=Path))
@_common_options
@click.pass_context
def distill_command(ctx: click.Context, prompts: Path, **options: Any) -> None:
    """A teacher answers the prompts of PROMPTS (any dataset ftui reads): each example's turns up
    to its last user turn are the prompt (a system prompt kept), the answer its assistant turn."""
    from ftui.core.generation.plan import plan_distill

    examples, skipped = _read_source(prompts, options["limit"])
    pool: list[tuple[str, str]] = []  # the prompts are the source: not duplicates of themselves
    _generate(ctx, plan_distill(examples), skipped, pool, prompts, options)


@generate_group.command("synth")
@click.argument("scenarios", type=click.Path(path_type=Path))
@click.option("--n", "n", type=int, default=5, show_default=True, help="Questions per scenario.")
@click.option("--question-temperature", type=float, default=1.0, show_default=True)
@click.option("--answer-temperature", type=float, help="Of the answers (same as --temperature).")
@click.option(
    "--prompt-file",
    type=click.Path(path_type=Path),
    help="Your questions prompt, with {scenario} and {n}.",
)
@click.option(
    "--answer-prompt-file",
    type=click.Path(path_type=Path),
    help="Your answer prompt, with {question} (and {scenario}).",
)
@_common_options
@click.pass_context
def synth_command(ctx: click.Context, scenarios: Path, **options: Any) -> None:
    """N questions per scenario of SCENARIOS (a text file, one a line, or a dataset's user
    turns), then an answer to each."""
    from ftui.core.generation.plan import plan_synth
    from ftui.core.generation.sources import SourceError, read_scenarios

    _check_positive(options["n"], "--n")
    _check_positive(options["limit"], "--limit")
    try:
        items, skipped = read_scenarios(scenarios, limit=options["limit"])
    except SourceError as exc:
        raise BadInput(str(exc)) from None
    if options["answer_temperature"] is not None:
        options["temperature"] = options["answer_temperature"]
    pool = [(s.text, f"{scenarios.name} line {s.line}") for s in items]
    _generate(ctx, plan_synth(items), skipped, pool, scenarios, options)


@generate_group.command("paraphrase")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--k", "k", type=int, default=3, show_default=True, help="Paraphrases per example.")
@click.option(
    "--prompt-file",
    type=click.Path(path_type=Path),
    help="Your paraphrase prompt, with {question} and {k}.",
)
@functools.partial(_common_options, of_what="the paraphrases")
@click.pass_context
def paraphrase_command(ctx: click.Context, dataset: Path, **options: Any) -> None:
    """K paraphrases of the last user turn of each example of DATASET, each a new example with
    the rest of the conversation (the assistant turn) kept."""
    from ftui.core.generation.plan import plan_paraphrase

    _check_positive(options["k"], "--k")
    examples, skipped = _read_source(dataset, options["limit"])
    pool = [(e.messages[e.last_user]["content"], f"{dataset.name} line {e.line}") for e in examples]
    _generate(ctx, plan_paraphrase(examples), skipped, pool, dataset, options)


def _read_source(path: Path, limit: int | None) -> tuple[list[Any], list[Any]]:
    from ftui.core.generation.sources import SourceError, read_examples

    _check_positive(limit, "--limit")
    try:
        examples, skipped = read_examples(path, limit=limit)
    except SourceError as exc:
        raise BadInput(str(exc)) from None
    if not examples:
        raise BadInput(f"{path}: no example with a user turn in it; nothing to generate from")
    return examples, skipped


def _prompts(options: dict[str, Any]) -> GenerationPrompts:
    from ftui.services.generation_job import GenerationPrompts

    prompts = GenerationPrompts()
    if "answer_prompt_file" in options:  # synth
        return GenerationPrompts(
            questions=_read_prompt(options["prompt_file"], "synth-questions", "--prompt-file"),
            answer=_read_prompt(
                options["answer_prompt_file"], "synth-answer", "--answer-prompt-file"
            ),
            paraphrase=prompts.paraphrase,
        )
    if "k" in options:
        return GenerationPrompts(
            paraphrase=_read_prompt(options["prompt_file"], "paraphrase", "--prompt-file")
        )
    return prompts


def _generate(
    ctx: click.Context,
    tasks: list[Task],
    skipped: list[Any],
    pool: list[tuple[str, str]],
    source: Path,
    options: dict[str, Any],
) -> None:
    from ftui.services.inference.base import Sampling

    config = _config(ctx)
    _check_positive(options["concurrency"], "--concurrency")
    max_tokens = options["max_tokens"] or config.generate.max_tokens
    _check_positive(max_tokens, "--max-tokens")
    temperature = options["temperature"]
    if temperature is None:
        temperature = config.generate.temperature
    question_temperature = options.get("question_temperature", temperature)
    for name, value in (
        ("--temperature", temperature),
        ("--question-temperature", question_temperature),
    ):
        if not 0.0 <= value <= 2.0:
            raise BadInput(f"{name} must be between 0 and 2 (got {value})")
    for name in ("budget_usd", "budget_tokens"):
        if options[name] is not None and options[name] < 0:
            raise BadInput(f"--{name.replace('_', '-')} must be 0 or more (got {options[name]})")
    prompts = _prompts(options)
    spec = options["spec"] or default_generate_spec(config)
    if spec is None:
        raise BadInput(
            "no model: pass --model SPEC (openai:MODEL, openai-compatible:URL#MODEL, "
            "local:PATH, run:ID) or set [generate] model in the settings file"
        )
    for item in skipped:
        click.secho(f"warning: {item.describe(source)}", fg="yellow", err=True)

    from ftui.commands.runs import open_store
    from ftui.services.generation_job import GenerationJob, GenerationJobError

    with open_store(ctx) as store:
        model = _open_models({"--model": spec}, config, store)["--model"]
        assert model is not None
        job = GenerationJob(
            store,
            model,
            tasks,
            options["out"],
            prompts=prompts,
            n=options.get("n", 5),
            k=options.get("k", 3),
            sampling=Sampling(temperature=temperature, max_tokens=max_tokens),
            question_sampling=Sampling(temperature=question_temperature, max_tokens=max_tokens),
            concurrency=options["concurrency"],
            budget_usd=options["budget_usd"],
            budget_tokens=options["budget_tokens"],
            dedupe=options["dedupe"],
            dedupe_method=options["dedupe_method"],
            pool=pool,
            on_progress=ProgressLine(describe_progress, PROGRESS_EVERY_S),
        )

        async def run() -> Any:
            try:
                return await job.run()
            finally:
                await model.aclose()

        try:
            result = asyncio.run(run())
        except GenerationJobError as exc:
            for warning in job.warnings:
                click.secho(f"warning: {warning}", fg="yellow", err=True)
            if exc.bad_input:
                raise BadInput(str(exc)) from None
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo(
                f"interrupted: {job.what_was_made()}; run the same command again to go on",
                err=True,
            )
            ctx.exit(130)
    data = result.to_json_dict()
    data["skipped"] = [{"line": s.line, "reason": s.reason} for s in skipped]
    for warning in [*result.warnings, *([result.stopped] if result.stopped else [])]:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if options["as_json"]:
        echo_json(data)
    else:
        for line in _summary(data):
            click.echo(line)
    if result.stopped:
        ctx.exit(EXIT_BUDGET)


def _summary(data: dict[str, Any]) -> list[str]:
    tasks = data["tasks"]
    cost = f"${data['cost_usd']:.4f}" + (" + unknown" if data["cost_unknown"] else "")
    if data["written"]:
        wrote = f"{data['written']} new examples written to {data['out']}"
    else:
        wrote = (
            f"no new examples; {data['out']} {'unchanged' if data['existing'] else 'not written'}"
        )
    lines = [
        f"{data['kind']}: {wrote} ({data['existing']} were there), batch {data['batch']}",
        f"tasks: {tasks['done']} of {tasks['total']} done "
        f"({tasks['resumed']} already in the output)",
        f"calls: {data['calls']} sent, {data['cached']} from the cache; "
        f"{data['tokens']:,} tokens; cost {cost}",
    ]
    if data["dropped"] or data["flagged"]:
        lines.append(f"duplicates: {data['dropped']} dropped, {data['flagged']} flagged")
    if data["short"]:
        lines.append(f"short: the model gave {data['short']} fewer items than asked")
    if data["unparsed"]:
        lines.append(
            f"unreadable: {data['unparsed']} replies held nothing usable, even asked again"
        )
    if data["skipped"]:
        lines.append(f"skipped: {len(data['skipped'])} source records (see the warnings above)")
    return lines
