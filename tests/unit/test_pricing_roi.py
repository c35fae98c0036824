"""Whether fine-tuning pays: the arithmetic against figures computed by hand, the fine-tuned price
table, the user's overrides over it, and the messages for what cannot be priced."""

from __future__ import annotations

import math

import pytest

from ftui.core.pricing.inference import InferencePrice, inference_cost_usd, inference_price
from ftui.core.pricing.price_book import PriceOverride, model_prices
from ftui.core.pricing.roi import (
    ReturnInputError,
    Workload,
    estimate_for_models,
    estimate_return,
)
from ftui.core.pricing.roi_report import return_table, short_name

MINI = InferencePrice(0.15, 0.60)
MINI_TUNED = InferencePrice(0.30, 1.20)
GPT_4O = InferencePrice(2.50, 10.00)


def estimate(**changes: object):  # type: ignore[no-untyped-def]
    arguments: dict[str, object] = {
        "training_tokens": 1_000_000,
        "training_usd_per_1m": 3.00,
        "requests_per_day": 1000,
        "workload": Workload(1000, 200),
        "prompt_tokens_saved": 0,
        "base_model": "gpt-4o-mini-2024-07-18",
        "base_price": MINI,
        "tuned_model": "ft:gpt-4o-mini-2024-07-18",
        "tuned_price": MINI_TUNED,
    }
    arguments.update(changes)
    return estimate_return(**arguments)  # type: ignore[arg-type]


def test_the_same_model_with_the_same_prompt_never_breaks_even() -> None:
    result = estimate()
    # Training: 1,000,000 × $3 / 1M. Base: (1000 × 0.15 + 200 × 0.60) / 1M = $0.00027 a request;
    # tuned: (1000 × 0.30 + 200 × 1.20) / 1M = $0.00054.
    assert result.training_cost_usd == pytest.approx(3.00)
    assert result.base.cost_per_request_usd == pytest.approx(0.00027)
    assert result.tuned.cost_per_request_usd == pytest.approx(0.00054)
    assert result.base.monthly_cost_usd == pytest.approx(8.10)
    assert result.tuned.monthly_cost_usd == pytest.approx(16.20)
    assert result.daily_saving_usd == pytest.approx(-0.27)
    assert result.break_even_day is None and result.break_even_days is None
    assert "never pays back" in result.verdict() and "higher per-token rates" in result.verdict()
    assert result.to_json_dict()["break_even_day"] is None


def test_saving_most_of_the_prompt_on_the_same_model_still_costs_more() -> None:
    # Tuned prompt 200: (200 × 0.30 + 200 × 1.20) / 1M = $0.0003 against the base's $0.00027.
    result = estimate(prompt_tokens_saved=800)
    assert result.tuned.prompt_tokens == 200
    assert result.tuned.daily_cost_usd == pytest.approx(0.30)
    assert result.daily_saving_usd == pytest.approx(-0.03)
    assert result.break_even_day is None


def test_a_dearer_compare_model_pays_back_within_the_first_day() -> None:
    # Base gpt-4o with the long prompt: (1000 × 2.50 + 200 × 10.00) / 1M = $0.0045, $4.50 a day.
    result = estimate(prompt_tokens_saved=800, base_model="gpt-4o-2024-08-06", base_price=GPT_4O)
    assert result.base.daily_cost_usd == pytest.approx(4.50)
    assert result.base.monthly_cost_usd == pytest.approx(135.0)
    assert result.tuned.monthly_cost_usd == pytest.approx(9.0)
    assert result.daily_saving_usd == pytest.approx(4.20)
    assert result.monthly_saving_usd == pytest.approx(126.0)
    assert result.break_even_days == pytest.approx(3.00 / 4.20)
    assert result.break_even_day == 1
    assert "pays back on day 1" in result.verdict()


def test_fewer_requests_take_longer_to_pay_back() -> None:
    # 10 a day: $0.045 against $0.003, a saving of $0.042; $3 / $0.042 = 71.4 days.
    result = estimate(
        requests_per_day=10, prompt_tokens_saved=800, base_model="gpt-4o", base_price=GPT_4O
    )
    assert result.daily_saving_usd == pytest.approx(0.042)
    assert result.break_even_days == pytest.approx(71.428571, rel=1e-6)
    assert result.break_even_day == 72


def test_equal_daily_costs_never_break_even_and_free_training_pays_at_once() -> None:
    equal = estimate(tuned_price=MINI)
    assert equal.daily_saving_usd == 0 and equal.break_even_day is None
    assert "costs as much a day" in equal.verdict()
    free = estimate(training_tokens=0)
    assert free.break_even_day == 0 and free.break_even_days == 0


def test_the_base_side_may_be_counted_by_its_own_tokenizer() -> None:
    result = estimate(base_workload=Workload(1100, 210), prompt_tokens_saved=100)
    assert (result.base.prompt_tokens, result.base.output_tokens) == (1100, 210)
    assert (result.tuned.prompt_tokens, result.tuned.output_tokens) == (900, 200)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"prompt_tokens_saved": 1001}, "cannot exceed the prompt itself"),
        ({"requests_per_day": -5}, "requests per day cannot be negative"),
        ({"prompt_tokens_saved": -1}, "prompt tokens saved cannot be negative"),
        ({"training_tokens": 10.5}, "whole number"),
        ({"workload": Workload(math.nan, 1)}, "prompt tokens must be a number"),
        ({"training_usd_per_1m": math.inf}, "must be a number"),
        ({"base_price": InferencePrice(-1, 1)}, "input price cannot be negative"),
    ],
)
def test_bad_inputs_are_refused_with_what_is_wrong(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ReturnInputError, match=message):
        estimate(**changes)


def test_fine_tuned_models_are_priced_by_their_base() -> None:
    assert inference_price("ft:gpt-4o-mini-2024-07-18:acme::abc123") == MINI_TUNED
    assert inference_price("ft:gpt-4o-mini:acme:support:abc123") == MINI_TUNED
    assert inference_price("ft:gpt-4.1-2025-04-14:acme::x:ckpt-step-10") == InferencePrice(3, 12)
    assert inference_price("gpt-4o-mini") == MINI  # the base keeps its own price
    assert inference_price("ft:davinci-002:acme::x") is None
    assert inference_price("ft:") is None and inference_price("llama-3") is None
    cost = inference_cost_usd("ft:gpt-4o-2024-08-06:acme::x", 1_000_000, 1_000_000)
    assert cost == pytest.approx(3.75 + 15.00)


def test_overrides_replace_only_the_figures_they_set() -> None:
    plain = model_prices("gpt-4o-mini")
    assert (plain.training_usd_per_1m, plain.base, plain.fine_tuned) == (3.0, MINI, MINI_TUNED)
    assert plain.overridden == ()
    overrides = {"gpt-4o-mini": PriceOverride(training=2.5, ft_input=0.25)}
    mine = model_prices("gpt-4o-mini-2024-07-18", overrides)
    assert mine.training_usd_per_1m == 2.5
    assert mine.base == MINI and mine.fine_tuned == InferencePrice(0.25, 1.20)
    assert mine.overridden == ("training", "ft_input")
    # A model with no inference price in the table gets one from a full override.
    davinci = model_prices("davinci-002", {"davinci-002": PriceOverride(ft_input=12, ft_output=12)})
    assert davinci.base is None and davinci.fine_tuned == InferencePrice(12, 12)


def test_estimates_from_model_names_say_which_prices_they_used() -> None:
    overrides = {"gpt-4o-mini-2024-07-18": PriceOverride(training=2.0)}
    result, used = estimate_for_models(
        model="gpt-4o-mini",
        compare_model="gpt-4o",
        training_tokens=1_000_000,
        requests_per_day=1000,
        workload=Workload(1000, 200),
        prompt_tokens_saved=800,
        overrides=overrides,
        overrides_as_of="2025-09-01",
    )
    assert result.training_cost_usd == pytest.approx(2.0)
    assert (result.base.model, result.tuned.model) == (
        "gpt-4o-2024-08-06",
        "ft:gpt-4o-mini-2024-07-18",
    )
    assert used.overrides == {"gpt-4o-mini-2024-07-18": ("training",)}
    text = used.describe()
    assert "2025-06-01" in text and "your [prices] of 2025-09-01" in text and "training" in text
    table = return_table(result, used, epochs_note="3 epochs", compared=True, price_columns=False)
    assert "gpt-4o (compared)" in table and "ft:gpt-4o-mini " in table and "day 1" in table
    assert max(len(line) for line in table.splitlines()) <= 100
    assert short_name("ft:gpt-4.1-nano-2025-04-14") == "ft:gpt-4.1-nano"


@pytest.mark.parametrize(
    ("model", "compare", "message"),
    [
        ("gpt-5", None, "not an OpenAI model ftui can price for fine-tuning; known: gpt-4.1-"),
        ("o4-mini", None, "no per-token training price"),
        ("ft:gpt-4o-mini:acme::x", None, "not an OpenAI model ftui can price"),
        ("gpt-4o-mini", "llama-3", "no inference price for 'llama-3'"),
        ("davinci-002", None, "no inference price for a fine-tuned davinci-002"),
    ],
)
def test_models_that_cannot_be_priced_are_named(
    model: str, compare: str | None, message: str
) -> None:
    with pytest.raises(ReturnInputError, match=message):
        estimate_for_models(
            model=model,
            compare_model=compare,
            training_tokens=1,
            requests_per_day=1,
            workload=Workload(10, 10),
            prompt_tokens_saved=0,
        )
