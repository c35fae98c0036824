"""`ftui cost DATASET`: what fine-tuning on a dataset costs, and whether it pays for itself.

The training cost is the dataset's billed tokens (counted as `ftui validate` counts them) times
the epochs times the model's training price. The return compares serving the requests with the
base model (or `--compare-model`) and its long prompt against the fine-tuned model with a prompt
`--prompt-tokens-saved` shorter, over 30 days, and names the day the savings pay for the training.
Exit status: 0, or 2 when the dataset cannot be read or the models cannot be priced.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ftui.commands.dataset import EXIT_UNREADABLE, FORMAT_NAMES, _fail, _notice, _readable
from ftui.config import Config
from ftui.core.pricing.models import DEFAULT_OPENAI_MODEL
from ftui.core.pricing.roi_report import return_table

if TYPE_CHECKING:
    from ftui.core.pricing.roi import PricesUsed, ReturnEstimate, Workload
    from ftui.core.validation.dataset_tokens import DatasetTokens

DEFAULT_DAILY_REQUESTS = 1000


def _count(path: Path, encoding: str, fmt: str | None, also: str | None) -> DatasetTokens:
    from ftui.core.dataset.formats import DatasetFormat
    from ftui.core.dataset.reader import DatasetError
    from ftui.core.pricing.tokens import TokenizerError
    from ftui.core.validation.dataset_tokens import count_file

    with ExitStack() as stack:
        try:
            with _readable(stack, path) as readable:
                return count_file(
                    readable, encoding, fmt=DatasetFormat(fmt) if fmt else None, also=also
                )
        except (DatasetError, TokenizerError) as exc:
            _fail(str(exc))
    raise AssertionError("unreachable")


@click.command("cost")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=True, exists=False))
@click.option(
    "--model",
    "-m",
    default=DEFAULT_OPENAI_MODEL,
    show_default=True,
    help="The OpenAI model to fine-tune.",
)
@click.option(
    "--compare-model",
    help="Serve the requests with this model and the long prompt instead (default: --model's "
    "base), e.g. gpt-4o against a fine-tuned gpt-4o-mini.",
)
@click.option(
    "--daily-requests",
    type=click.FloatRange(min=0),
    default=DEFAULT_DAILY_REQUESTS,
    show_default=True,
    help="Requests a day.",
)
@click.option(
    "--prompt-tokens-saved",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Prompt tokens a request no longer needs once the model is fine-tuned (instructions, "
    "few-shot examples).",
)
@click.option(
    "--prompt-tokens",
    type=click.FloatRange(min=0),
    help="One request's prompt as the base model gets it (default: the dataset's mean, "
    "everything before the last assistant turn).",
)
@click.option(
    "--output-tokens",
    type=click.FloatRange(min=0),
    help="One request's reply (default: the dataset's mean last assistant turn).",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    help="Training epochs (default: what OpenAI's auto picks for this many examples).",
)
@click.option(
    "--format", "fmt", type=click.Choice(FORMAT_NAMES), help="Dataset format (default: detected)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_obj
def cost_command(
    config: Config | None,
    path: Path,
    model: str,
    compare_model: str | None,
    daily_requests: float,
    prompt_tokens_saved: float,
    prompt_tokens: float | None,
    output_tokens: float | None,
    epochs: int | None,
    fmt: str | None,
    as_json: bool,
) -> None:
    """Training cost of PATH on an OpenAI model, and the day fine-tuning pays for itself.

    Compares 30 days of requests on the base model (or --compare-model) with the dataset's
    prompt against the fine-tuned model with a prompt --prompt-tokens-saved shorter. Prices come
    from ftui's dated table, with the [prices] of the settings file over it."""
    from ftui.core.pricing.costs import default_epochs
    from ftui.core.pricing.models import openai_model_info
    from ftui.core.pricing.roi import (
        ReturnInputError,
        compare_prices,
        estimate_for_models,
        trainable_prices,
    )
    from ftui.core.pricing.tokens import encoding_for_model

    prices = (config or Config()).prices
    try:  # an unpriceable model fails before the dataset is read
        tuned = trainable_prices(model, prices.models)
        compare = compare_prices(compare_model, prices.models) if compare_model else None
    except ReturnInputError as exc:
        _fail(str(exc))
    encoding = encoding_for_model(tuned.model)
    also = encoding_for_model(compare.model) if compare is not None else None
    tokens = _count(path, encoding, fmt, also)
    if tokens.counted == 0:
        _fail(
            f"{path}: none of its {tokens.examples:,} records is a conversation ftui can count; "
            f"`ftui validate {path}` says what is wrong",
            EXIT_UNREADABLE,
        )
    if tokens.unreadable:
        _notice(
            f"{tokens.unreadable:,} of {tokens.examples:,} records could not be read and are "
            f"left out of the cost; `ftui validate {path}` says why"
        )
    info = openai_model_info(tuned.model)
    limit = info.training_context if info is not None else None
    auto = epochs is None
    epochs = epochs or default_epochs(tokens.examples)
    workload = _workload(tokens.workload(), prompt_tokens, output_tokens)
    base_workload = (
        _workload(tokens.workload(also), prompt_tokens, output_tokens)
        if also and also != encoding
        else None
    )
    try:
        estimate, used = estimate_for_models(
            model=tuned.model,
            compare_model=compare.model if compare is not None else None,
            training_tokens=tokens.billed_tokens(limit, epochs),
            requests_per_day=daily_requests,
            workload=workload,
            prompt_tokens_saved=prompt_tokens_saved,
            base_workload=base_workload,
            overrides=prices.models,
            overrides_as_of=prices.as_of,
        )
    except ReturnInputError as exc:
        _fail(str(exc))
    if as_json:
        _print_json(path, tokens, epochs, auto, estimate, used)
        return
    epochs_note = f"{epochs} epoch{'s' if epochs != 1 else ''}" + (
        ", OpenAI's auto rule" if auto else ""
    )
    header = (
        f"{path.name}: {tokens.counted:,} examples, {tokens.requests:,} with a reply to price "
        f"as requests; fine-tuning {tuned.model} ({encoding})"
    )
    click.echo(
        return_table(
            estimate, used, header=header, epochs_note=epochs_note, compared=compare is not None
        )
    )


def _workload(measured: Workload, prompt: float | None, output: float | None) -> Workload:
    """The measured request, with what the options give in its place."""
    from ftui.core.pricing.roi import Workload

    return Workload(
        measured.prompt_tokens if prompt is None else prompt,
        measured.output_tokens if output is None else output,
    )


def _print_json(
    path: Path,
    tokens: DatasetTokens,
    epochs: int,
    auto: bool,
    estimate: ReturnEstimate,
    used: PricesUsed,
) -> None:
    import orjson

    document = {
        "path": str(path),
        "examples": tokens.examples,
        "examples_counted": tokens.counted,
        "records_unreadable": tokens.unreadable,
        "requests_measured": tokens.requests,
        "encoding": tokens.encoding,
        "epochs": epochs,
        "epochs_auto": auto,
        **estimate.to_json_dict(),
        "prices": used.to_json_dict(),
    }
    click.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
