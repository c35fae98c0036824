"""Training cost estimates by OpenAI's rules: default epochs, billed tokens, USD."""

from __future__ import annotations

from collections.abc import Iterable

from ftui.core.pricing.models import openai_model_info

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MAX_DEFAULT_EPOCHS = 25
MIN_DEFAULT_EPOCHS = 1


def default_epochs(n_examples: int) -> int:
    """The epochs OpenAI picks when none are given (the cookbook's rule)."""
    if n_examples <= 0:
        return TARGET_EPOCHS
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


def billed_tokens(token_counts: Iterable[int], limit: int | None, epochs: int) -> int:
    """Σ min(limit, tokens) × epochs: tokens past the limit are truncated, not billed."""
    if limit is None:
        return sum(token_counts) * epochs
    return sum(min(limit, count) for count in token_counts) * epochs


def estimate_cost_usd(billed_tokens: int, model: str) -> float | None:
    """USD for `billed_tokens` training tokens on `model`; None if its price isn't per token."""
    info = openai_model_info(model)
    if info is None or info.training_usd_per_1m is None:
        return None
    return billed_tokens * info.training_usd_per_1m / 1_000_000
