"""What a chat completion costs on OpenAI's API: base models, and models fine-tuned on them.

Standard (not batch, not cached-input) prices per 1M tokens, input and output, from
https://openai.com/api/pricing/, read on `INFERENCE_PRICES_AS_OF`. A fine-tuned model
(`ft:gpt-4o-mini-2024-07-18:org::id`) is billed at its own, higher rates, published on the same
page under "Fine-tuning" (`FINE_TUNED_PRICES`, read on `FINE_TUNED_PRICES_AS_OF`) and looked up by
the base model named inside the `ft:` name. A name in neither table has an unknown cost (None):
a caller runs it anyway and shows the cost as unknown, never refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ftui.core.pricing.models import ALIASES

INFERENCE_PRICES_AS_OF = "2025-06-01"
FINE_TUNED_PRICES_AS_OF = "2025-06-01"
PRICING_URL = "https://openai.com/api/pricing/"


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

# What a model fine-tuned on the key costs per 1M tokens at inference (input, output).
FINE_TUNED_PRICES: dict[str, InferencePrice] = {
    "gpt-4.1-2025-04-14": InferencePrice(3.00, 12.00),
    "gpt-4.1-mini-2025-04-14": InferencePrice(0.80, 3.20),
    "gpt-4.1-nano-2025-04-14": InferencePrice(0.20, 0.80),
    "gpt-4o-2024-08-06": InferencePrice(3.75, 15.00),
    "gpt-4o-mini-2024-07-18": InferencePrice(0.30, 1.20),
    "o4-mini-2025-04-16": InferencePrice(4.00, 16.00),
    "gpt-3.5-turbo-0125": InferencePrice(3.00, 6.00),
    "gpt-3.5-turbo-1106": InferencePrice(3.00, 6.00),
    "gpt-3.5-turbo-0613": InferencePrice(3.00, 6.00),
}


def snapshot_name(model: str) -> str:
    """The dated snapshot an alias names ("gpt-4o-mini" -> "gpt-4o-mini-2024-07-18")."""
    return ALIASES.get(model, model)


def fine_tuned_base(model: str) -> str | None:
    """The base snapshot inside an `ft:` name ("ft:gpt-4o-mini-2024-07-18:org::id"); None for
    a name that is not a fine-tuned model's."""
    if not model.startswith("ft:"):
        return None
    parts = model.split(":")
    return snapshot_name(parts[1]) if len(parts) > 1 and parts[1] else None


def inference_price(model: str) -> InferencePrice | None:
    """The price of an OpenAI model name, alias or `ft:` model; None for unknown names."""
    base = fine_tuned_base(model)
    if base is not None:
        return FINE_TUNED_PRICES.get(base)
    return INFERENCE_PRICES.get(snapshot_name(model))


def fine_tuned_price(base_model: str) -> InferencePrice | None:
    """What a model fine-tuned on `base_model` (a name or alias) costs per token at inference."""
    return FINE_TUNED_PRICES.get(snapshot_name(base_model))


def inference_cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    price = inference_price(model)
    if price is None:
        return None
    return (
        prompt_tokens * price.input_usd_per_1m + completion_tokens * price.output_usd_per_1m
    ) / 1_000_000
