"""What a chat completion costs on OpenAI's API, for the judge's dollar cap.

Standard (not batch, not cached-input) prices per 1M tokens, input and output, from
https://openai.com/api/pricing/, read on `INFERENCE_PRICES_AS_OF`. Fine-tuned (`ft:`) models are
billed at their own rates, which this table does not hold: their cost is unknown (None), and a
caller runs them anyway and shows the cost as unknown, never refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ftui.core.pricing.models import ALIASES

INFERENCE_PRICES_AS_OF = "2025-06-01"


@dataclass(frozen=True, slots=True)
class InferencePrice:
    input_usd_per_1m: float
    output_usd_per_1m: float


INFERENCE_PRICES: dict[str, InferencePrice] = {
    "gpt-4.1-2025-04-14": InferencePrice(2.00, 8.00),
    "gpt-4.1-mini-2025-04-14": InferencePrice(0.40, 1.60),
    "gpt-4.1-nano-2025-04-14": InferencePrice(0.10, 0.40),
    "gpt-4o-2024-08-06": InferencePrice(2.50, 10.00),
    "gpt-4o-mini-2024-07-18": InferencePrice(0.15, 0.60),
    "o4-mini-2025-04-16": InferencePrice(1.10, 4.40),
    "gpt-3.5-turbo-0125": InferencePrice(0.50, 1.50),
}


def inference_price(model: str) -> InferencePrice | None:
    """The price of an OpenAI model name or alias; None for `ft:` models and unknown names."""
    if model.startswith("ft:"):
        return None
    return INFERENCE_PRICES.get(ALIASES.get(model, model))


def inference_cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    price = inference_price(model)
    if price is None:
        return None
    return (
        prompt_tokens * price.input_usd_per_1m + completion_tokens * price.output_usd_per_1m
    ) / 1_000_000
