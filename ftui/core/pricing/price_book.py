"""One model's prices in effect: the dated tables, with the user's `[prices]` overrides on top.

The tables are `models.OPENAI_MODELS` (training, per 1M tokens) and `inference.py` (inference,
base and fine-tuned, per 1M tokens). A settings file may override any of the five figures of a
model (`PriceOverride`); what was overridden is kept, so whoever shows a cost can say which
figures are the user's and which are the table's (and of which date).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from ftui.core.pricing.inference import (
    FINE_TUNED_PRICES,
    FINE_TUNED_PRICES_AS_OF,
    INFERENCE_PRICES,
    INFERENCE_PRICES_AS_OF,
    InferencePrice,
    snapshot_name,
)
from ftui.core.pricing.models import PRICES_AS_OF, fine_tunable_models, openai_model_info


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """A user's prices for one model, USD per 1M tokens; None keeps the table's figure.

    `input`/`output` are the base model's inference prices, `ft_input`/`ft_output` those of a
    model fine-tuned on it."""

    training: float | None = None
    input: float | None = None
    output: float | None = None
    ft_input: float | None = None
    ft_output: float | None = None

    def given(self) -> tuple[str, ...]:
        """The names of the figures this override sets, in declaration order."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) is not None)


PRICE_KEYS = tuple(f.name for f in fields(PriceOverride))


def known_price_models() -> list[str]:
    """Every model name a price can be looked up (or overridden) for."""
    return sorted({*fine_tunable_models(), *INFERENCE_PRICES, *FINE_TUNED_PRICES})


@dataclass(frozen=True, slots=True)
class ModelPrices:
    """The prices in effect for one model (a dated snapshot name)."""

    model: str
    training_usd_per_1m: float | None  # None: not billed per token (o4-mini) or unknown
    base: InferencePrice | None
    fine_tuned: InferencePrice | None
    overridden: tuple[str, ...] = ()  # the PriceOverride figures that came from the settings

    @property
    def known(self) -> bool:
        return self.model in known_price_models()


def model_prices(model: str, overrides: Mapping[str, PriceOverride] | None = None) -> ModelPrices:
    """The prices of `model` (a name or alias; an `ft:` name means its base), overrides applied.

    An override is found under the snapshot name or under the alias it was written with."""
    name = snapshot_name(model.split(":")[1] if model.startswith("ft:") else model)
    info = openai_model_info(name)
    training = info.training_usd_per_1m if info is not None else None
    base = INFERENCE_PRICES.get(name)
    tuned = FINE_TUNED_PRICES.get(name)
    override = _override_for(name, overrides or {})
    if override is None:
        return ModelPrices(name, training, base, tuned)
    if override.training is not None:
        training = override.training
    base = _merged(base, override.input, override.output)
    tuned = _merged(tuned, override.ft_input, override.ft_output)
    return ModelPrices(name, training, base, tuned, override.given())


def _override_for(name: str, overrides: Mapping[str, PriceOverride]) -> PriceOverride | None:
    for key, override in overrides.items():
        if snapshot_name(key) == name:
            return override
    return None


def _merged(
    table: InferencePrice | None, input_usd: float | None, output_usd: float | None
) -> InferencePrice | None:
    """The table's price with the overridden halves replaced; None while a half is unknown."""
    if table is not None:
        input_usd = table.input_usd_per_1m if input_usd is None else input_usd
        output_usd = table.output_usd_per_1m if output_usd is None else output_usd
    if input_usd is None or output_usd is None:
        return None
    return InferencePrice(input_usd, output_usd)


def table_dates() -> dict[str, str]:
    """The date each table was read on its source page."""
    return {
        "training": PRICES_AS_OF,
        "inference": INFERENCE_PRICES_AS_OF,
        "fine_tuned_inference": FINE_TUNED_PRICES_AS_OF,
    }
