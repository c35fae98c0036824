"""An estimate of the return of fine-tuning, as text: the table `ftui cost` prints and the
app's cost panel shows."""

from __future__ import annotations

import textwrap

from ftui.core.pricing.models import ALIASES
from ftui.core.pricing.roi import PricesUsed, ReturnEstimate

_SHORT_NAMES = {snapshot: alias for alias, snapshot in ALIASES.items()}


def short_name(model: str) -> str:
    """ "ft:gpt-4o-mini-2024-07-18" -> "ft:gpt-4o-mini": the alias, where the snapshot has one."""
    prefix, name = ("ft:", model[3:]) if model.startswith("ft:") else ("", model)
    return prefix + _SHORT_NAMES.get(name, name)


def _usd(value: float) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value and value < 0.01:
        return f"{sign}${value:.6f}"
    return f"{sign}${value:,.2f}"


def return_table(
    estimate: ReturnEstimate,
    used: PricesUsed,
    *,
    header: str = "",
    epochs_note: str,
    compared: bool = False,
    price_columns: bool = True,
    width: int = 100,
) -> str:
    """The estimate as a few aligned lines; without `price_columns` it fits 80 columns."""
    lines = [header, ""] if header else []
    lines.append(
        f"Training     {_usd(estimate.training_cost_usd)} for {estimate.training_tokens:,} "
        f"tokens ({epochs_note}) at ${estimate.training_usd_per_1m:,.2f}/1M"
    )
    lines.append(f"Requests     {estimate.requests_per_day:,g} a day")
    lines.append("")
    role = "compared" if compared else "base"
    sides = [
        (f"{short_name(estimate.base.model)} ({role})", estimate.base),
        (short_name(estimate.tuned.model), estimate.tuned),
    ]
    label_width = max(len(label) for label, _ in sides)
    heads = ["prompt", "output", "$/1M in", "$/1M out", "a request", "a day", "30 days"]
    rows = [
        [
            f"{side.prompt_tokens:,.1f}",
            f"{side.output_tokens:,.1f}",
            f"{side.price.input_usd_per_1m:,.2f}",
            f"{side.price.output_usd_per_1m:,.2f}",
            _usd(side.cost_per_request_usd),
            _usd(side.daily_cost_usd),
            _usd(side.monthly_cost_usd),
        ]
        for _, side in sides
    ]
    if not price_columns:
        del heads[2:4]
        for row in rows:
            del row[2:4]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    lines.append(
        " " * label_width + "".join(f"  {h:>{w}}" for h, w in zip(heads, widths, strict=True))
    )
    for (label, _), row in zip(sides, rows, strict=True):
        cells = "".join(f"  {c:>{w}}" for c, w in zip(row, widths, strict=True))
        lines.append(f"{label:<{label_width}}{cells}")
    lines.append("")
    lines.append(
        f"Saving       {_usd(estimate.daily_saving_usd)} a day, "
        f"{_usd(estimate.monthly_saving_usd)} per 30 days"
    )
    day = estimate.break_even_day
    lines.append(f"Break-even   {'never' if day is None else f'day {day:,}'}")
    lines += textwrap.wrap(estimate.verdict(), width)
    lines += textwrap.wrap(f"Prices: {used.describe()}.", width)
    return "\n".join(lines)
