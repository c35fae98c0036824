"""Does fine-tuning pay? Training cost against what the tuned model saves at inference.

The classic case (the OpenAI cookbook's): a base model needs a long prompt (instructions,
few-shot examples) to do the job; a model fine-tuned on the job does it with a shorter one. The
tuned side pays its training once and a higher per-token rate on every request (fine-tuned
models cost more per token than their base), the base side pays for its longer prompt on every
request. The base side may also be another, larger model (`gpt-4o` with a long prompt against a
fine-tuned `gpt-4o-mini`). Pure arithmetic: the callers count the tokens; `estimate_for_models`
looks up the prices (tables and the user's overrides) and says which it used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ftui.core.pricing.inference import INFERENCE_PRICES, PRICING_URL, InferencePrice
from ftui.core.pricing.models import ALIASES, fine_tunable_models
from ftui.core.pricing.price_book import ModelPrices, PriceOverride, model_prices, table_dates

DAYS_PER_MONTH = 30


class ReturnInputError(ValueError):
    """An input the estimate cannot use; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Workload:
    """One request, as tokens: its prompt (everything before the reply) and its reply."""

    prompt_tokens: float
    output_tokens: float


@dataclass(frozen=True, slots=True)
class Side:
    """One way of serving the requests: a model, its per-token price, the tokens it sees."""

    model: str
    fine_tuned: bool
    price: InferencePrice
    prompt_tokens: float
    output_tokens: float
    requests_per_day: float

    @property
    def cost_per_request_usd(self) -> float:
        return (
            self.prompt_tokens * self.price.input_usd_per_1m
            + self.output_tokens * self.price.output_usd_per_1m
        ) / 1_000_000

    @property
    def daily_cost_usd(self) -> float:
        return self.cost_per_request_usd * self.requests_per_day

    @property
    def monthly_cost_usd(self) -> float:
        return self.daily_cost_usd * DAYS_PER_MONTH

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "fine_tuned": self.fine_tuned,
            "input_usd_per_1m": self.price.input_usd_per_1m,
            "output_usd_per_1m": self.price.output_usd_per_1m,
            "prompt_tokens": round(self.prompt_tokens, 2),
            "output_tokens": round(self.output_tokens, 2),
            "cost_per_request_usd": round(self.cost_per_request_usd, 8),
            "daily_cost_usd": round(self.daily_cost_usd, 6),
            "monthly_cost_usd": round(self.monthly_cost_usd, 6),
        }


@dataclass(frozen=True, slots=True)
class ReturnEstimate:
    training_tokens: int
    training_usd_per_1m: float
    requests_per_day: float
    prompt_tokens_saved: float
    base: Side
    tuned: Side

    @property
    def training_cost_usd(self) -> float:
        return self.training_tokens * self.training_usd_per_1m / 1_000_000

    @property
    def daily_saving_usd(self) -> float:
        """What the tuned side saves a day (negative: it costs more)."""
        return self.base.daily_cost_usd - self.tuned.daily_cost_usd

    @property
    def monthly_saving_usd(self) -> float:
        return self.daily_saving_usd * DAYS_PER_MONTH

    @property
    def break_even_days(self) -> float | None:
        """Days of savings that pay for the training; None: never (no saving a day)."""
        if self.training_cost_usd == 0:
            return 0.0
        if self.daily_saving_usd <= 0:
            return None
        return self.training_cost_usd / self.daily_saving_usd

    @property
    def break_even_day(self) -> int | None:
        """The day (1 = the first day of use) by whose end the savings have paid for the
        training; 0 when training costs nothing; None when that day never comes."""
        days = self.break_even_days
        return None if days is None else math.ceil(days)

    def verdict(self) -> str:
        """One plain sentence on whether fine-tuning pays."""
        day = self.break_even_day
        if day is None:
            if self.daily_saving_usd == 0:
                return (
                    "It never pays back: the fine-tuned model costs as much a day as the base, "
                    "so the training is never recovered."
                )
            return (
                f"It never pays back: the fine-tuned model costs ${-self.daily_saving_usd:,.2f} "
                "more a day than the base (fine-tuned models are billed at higher per-token "
                "rates than their base); save more prompt tokens or compare with a dearer model."
            )
        if day == 0:
            return "Training costs nothing here, so the fine-tuned model pays from the first day."
        return (
            f"It pays back on day {day:,}: the fine-tuned model saves "
            f"${self.daily_saving_usd:,.2f} a day against ${self.training_cost_usd:,.2f} of "
            "training."
        )

    def to_json_dict(self) -> dict[str, Any]:
        days = self.break_even_days
        return {
            "training_tokens": self.training_tokens,
            "training_usd_per_1m": self.training_usd_per_1m,
            "training_cost_usd": round(self.training_cost_usd, 6),
            "requests_per_day": self.requests_per_day,
            "prompt_tokens_saved": self.prompt_tokens_saved,
            "days_per_month": DAYS_PER_MONTH,
            "base": self.base.to_json_dict(),
            "fine_tuned": self.tuned.to_json_dict(),
            "daily_saving_usd": round(self.daily_saving_usd, 6),
            "monthly_saving_usd": round(self.monthly_saving_usd, 6),
            "break_even_days": None if days is None else round(days, 4),
            "break_even_day": self.break_even_day,
            "verdict": self.verdict(),
        }


def _check(name: str, value: float, *, whole: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ReturnInputError(f"{name} must be a number, not {value!r}")
    if value < 0:
        raise ReturnInputError(f"{name} cannot be negative ({value:,g})")
    if whole and value != int(value):
        raise ReturnInputError(f"{name} must be a whole number, not {value}")


def estimate_return(
    *,
    training_tokens: int,
    training_usd_per_1m: float,
    requests_per_day: float,
    workload: Workload,
    prompt_tokens_saved: float,
    base_model: str,
    base_price: InferencePrice,
    tuned_model: str,
    tuned_price: InferencePrice,
    base_workload: Workload | None = None,
) -> ReturnEstimate:
    """Training cost, each side's inference cost, the daily saving and the break-even day.

    `workload` is one request as the tuned model's tokenizer counts it; the tuned side's prompt
    is `prompt_tokens_saved` shorter. `base_workload` is the same request counted by the base
    side's tokenizer when it differs (another model family); by default, `workload`.
    Raises ReturnInputError for a negative, non-finite or inconsistent input."""
    _check("training tokens", training_tokens, whole=True)
    _check("the training price", training_usd_per_1m)
    _check("requests per day", requests_per_day)
    _check("prompt tokens saved", prompt_tokens_saved)
    for price, side in ((base_price, base_model), (tuned_price, tuned_model)):
        _check(f"{side}'s input price", price.input_usd_per_1m)
        _check(f"{side}'s output price", price.output_usd_per_1m)
    base_workload = base_workload or workload
    for load in {workload, base_workload}:
        _check("prompt tokens", load.prompt_tokens)
        _check("output tokens", load.output_tokens)
    if prompt_tokens_saved > workload.prompt_tokens:
        raise ReturnInputError(
            f"prompt tokens saved ({prompt_tokens_saved:,g}) cannot exceed the prompt itself "
            f"({workload.prompt_tokens:,.1f} tokens): the fine-tuned model still needs the "
            "conversation it answers"
        )
    base = Side(
        base_model,
        False,
        base_price,
        base_workload.prompt_tokens,
        base_workload.output_tokens,
        requests_per_day,
    )
    tuned = Side(
        tuned_model,
        True,
        tuned_price,
        workload.prompt_tokens - prompt_tokens_saved,
        workload.output_tokens,
        requests_per_day,
    )
    return ReturnEstimate(
        int(training_tokens),
        training_usd_per_1m,
        requests_per_day,
        prompt_tokens_saved,
        base,
        tuned,
    )


# --------------------------------------------------------------------------- from model names


@dataclass(frozen=True, slots=True)
class PricesUsed:
    """Which prices an estimate used: the tables' dates, and the user's figures if any."""

    table_dates: dict[str, str]
    overrides: dict[str, tuple[str, ...]]  # model -> the figures the settings file set
    overrides_as_of: str | None = None

    def describe(self) -> str:
        dates = sorted(set(self.table_dates.values()))
        text = f"OpenAI's published prices of {', '.join(dates)} ({PRICING_URL})"
        if self.overrides:
            yours = "; ".join(f"{m}: {', '.join(keys)}" for m, keys in self.overrides.items())
            when = f" of {self.overrides_as_of}" if self.overrides_as_of else ""
            text += f", with your [prices]{when} for {yours}"
        return text

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "source": PRICING_URL,
            "table_dates": self.table_dates,
            "overrides": {m: list(keys) for m, keys in self.overrides.items()},
            "overrides_as_of": self.overrides_as_of,
        }


def trainable_prices(
    model: str, overrides: Mapping[str, PriceOverride] | None = None
) -> ModelPrices:
    """The prices of a model to fine-tune; ReturnInputError when ftui cannot price its training."""
    if model.startswith("ft:") or (model not in ALIASES and model not in fine_tunable_models()):
        raise ReturnInputError(
            f"{model!r} is not an OpenAI model ftui can price for fine-tuning; known: "
            f"{', '.join(fine_tunable_models())} (or their short names: {', '.join(ALIASES)})"
        )
    prices = model_prices(model, overrides)
    if prices.training_usd_per_1m is None:
        raise ReturnInputError(
            f"{prices.model} has no per-token training price: OpenAI bills its (reinforcement) "
            f'fine-tuning by the hour; set [prices."{prices.model}"] training in the settings '
            "file if you have a per-token figure"
        )
    return prices


def compare_prices(model: str, overrides: Mapping[str, PriceOverride] | None = None) -> ModelPrices:
    """The prices of the model the fine-tuned one is compared with (any priced model)."""
    prices = model_prices(model, overrides)
    if prices.base is None:
        known = ", ".join(sorted(INFERENCE_PRICES))
        fix = (
            f'; or set [prices."{prices.model}"] input and output in the settings file'
            if prices.known
            else ""
        )
        raise ReturnInputError(
            f"no inference price for {model!r}; ftui has prices for {known}{fix}"
        )
    return prices


def estimate_for_models(
    *,
    model: str,
    compare_model: str | None,
    training_tokens: int,
    requests_per_day: float,
    workload: Workload,
    prompt_tokens_saved: float,
    base_workload: Workload | None = None,
    overrides: Mapping[str, PriceOverride] | None = None,
    overrides_as_of: str | None = None,
) -> tuple[ReturnEstimate, PricesUsed]:
    """`estimate_return` for a model to fine-tune against `compare_model` (default: its base),
    priced from the tables and `overrides`; ReturnInputError says what cannot be priced."""
    tuned = trainable_prices(model, overrides)
    if tuned.fine_tuned is None:
        raise ReturnInputError(
            f"no inference price for a fine-tuned {tuned.model}; set "
            f'[prices."{tuned.model}"] ft_input and ft_output in the settings file'
        )
    base = compare_prices(compare_model or model, overrides)
    assert tuned.training_usd_per_1m is not None and base.base is not None
    estimate = estimate_return(
        training_tokens=training_tokens,
        training_usd_per_1m=tuned.training_usd_per_1m,
        requests_per_day=requests_per_day,
        workload=workload,
        prompt_tokens_saved=prompt_tokens_saved,
        base_model=base.model,
        base_price=base.base,
        tuned_model=f"ft:{tuned.model}",
        tuned_price=tuned.fine_tuned,
        base_workload=base_workload,
    )
    used = {p.model: p.overridden for p in (tuned, base) if p.overridden}
    return estimate, PricesUsed(table_dates(), used, overrides_as_of if used else None)
