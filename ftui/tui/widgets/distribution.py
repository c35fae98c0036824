"""A small horizontal bar chart of a distribution (e.g. messages per example)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

EIGHTHS = " ▏▎▍▌▋▊▉█"


def bar(value: int, peak: int, width: int) -> str:
    """`value` as a bar of up to `width` cells (eighth-cell resolution; non-zero is never empty)."""
    if peak <= 0 or width <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / peak * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[part] if part else "")


class Distribution(Widget):
    """Bars for (label, count) bins. The parent sets `bins` (and a title)."""

    DEFAULT_CSS = """
    Distribution { height: auto; }
    """

    bins: reactive[tuple[tuple[str, int], ...]] = reactive((), layout=True)

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.title = title

    def set_bins(self, bins: Sequence[tuple[str, int]]) -> None:
        self.bins = tuple(bins)

    def render(self) -> Table | Text:
        if not self.bins:
            return Text(f"{self.title}: —", style="dim")
        label_width = max(len(label) for label, _ in self.bins)
        count_width = max(len(f"{count:,}") for _, count in self.bins)
        bar_width = max(4, self.size.width - label_width - count_width - 3)
        peak = max(count for _, count in self.bins)
        table = Table.grid(padding=(0, 1))
        table.title = self.title
        table.title_justify = "left"
        table.title_style = "bold"
        table.add_column(justify="right", style="dim", no_wrap=True)
        table.add_column(no_wrap=True, width=bar_width)
        table.add_column(justify="right", no_wrap=True)
        for label, count in self.bins:
            table.add_row(label, Text(bar(count, peak, bar_width), style="cyan"), f"{count:,}")
        return table


def count_bins(counts: dict[int, int], max_bins: int = 8) -> list[tuple[str, int]]:
    """Bins for small integers (messages per example): one per value, the tail merged."""
    if not counts:
        return []
    values = sorted(counts)
    if len(values) <= max_bins:
        return [(str(v), counts[v]) for v in values]
    head = values[: max_bins - 1]
    tail = values[max_bins - 1 :]
    return [(str(v), counts[v]) for v in head] + [(f"≥{tail[0]}", sum(counts[v] for v in tail))]


def log_bins(values: Sequence[int], max_bins: int = 8) -> list[tuple[str, int]]:
    """Power-of-two bins for long-tailed sizes (tokens per example), the low ones merged."""
    if not values:
        return []
    counts: dict[int, int] = {}
    for value in values:
        exponent = max(0, int(value)).bit_length()  # 0 -> 0, 1 -> 1, 2-3 -> 2, 4-7 -> 3 ...
        counts[exponent] = counts.get(exponent, 0) + 1
    exponents = sorted(counts)
    if len(exponents) > max_bins:
        merged = exponents[: len(exponents) - max_bins + 1]
        low_total = sum(counts.pop(e) for e in merged)
        counts[merged[-1]] = low_total
        exponents = sorted(counts)
        low_label_top = (1 << merged[-1]) - 1
    else:
        low_label_top = None
    bins = []
    for exponent in exponents:
        top = (1 << exponent) - 1 if exponent else 0
        bottom = 1 << (exponent - 1) if exponent else 0
        if low_label_top is not None and top == low_label_top:
            label = f"≤{_short(top)}"
        elif bottom == top:
            label = _short(top)
        else:
            label = f"{_short(bottom)}–{_short(top)}"
        bins.append((label, counts[exponent]))
    return bins


def _short(value: int) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M".replace(".0M", "M")
    if value >= 10_000:
        return f"{value // 1000}k"
    return f"{value:,}"
