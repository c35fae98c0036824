"""A metric series as a one-line sparkline of block characters (the runs list, the run header).

`sparkline(values, width)` gives exactly `width` cells. A series longer than that is resampled:
each cell is the mean of its bucket of consecutive values. A shorter one is drawn one cell per
value, right-aligned, so the newest value sits at the right edge (next to the number shown after
it) and a live run's line grows leftwards as points arrive. A non-finite value (NaN, ±inf) is
drawn as `NON_FINITE`, and a bucket holding one is too: a loss that blew up stays visible however
long the run. Pass `low`/`high` to draw several series on one scale (a run's train and eval loss).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"
NON_FINITE = "×"
FLAT = BLOCKS[len(BLOCKS) // 2 - 1]  # a series with no spread: a level line mid-height
# A spread this small relative to the values is rounding in the bucket means, not a trend.
FLAT_SPREAD = 1e-9


def resample(values: Sequence[float], cells: int) -> list[float]:
    """`values` in `cells` buckets of consecutive values, each its mean (NaN when the bucket
    holds a non-finite value); the values themselves when there are no more than `cells`."""
    count = len(values)
    if count <= cells:
        return [float(v) for v in values]
    buckets = []
    for cell in range(cells):
        chunk = values[cell * count // cells : (cell + 1) * count // cells]
        finite = all(math.isfinite(v) for v in chunk)
        # Each value divided first: the mean of huge finite values stays finite.
        buckets.append(sum(v / len(chunk) for v in chunk) if finite else math.nan)
    return buckets


def finite_range(*series: Sequence[float]) -> tuple[float, float] | None:
    """The lowest and highest finite value over all `series` (a shared scale), or None."""
    finite = [v for values in series for v in values if math.isfinite(v)]
    return (min(finite), max(finite)) if finite else None


def sparkline(
    values: Sequence[float],
    width: int,
    *,
    low: float | None = None,
    high: float | None = None,
) -> str:
    """`values` drawn in `width` cells with the eight blocks ▁▂▃▄▅▆▇█; `low`/`high` fix the
    scale (values beyond them are clamped), else it spans the finite values drawn. An empty
    series is `width` spaces; a flat one a level line."""
    if width < 0:
        raise ValueError(f"a sparkline's width must be 0 or more cells, not {width}")
    for name, bound in (("low", low), ("high", high)):
        if bound is not None and not math.isfinite(bound):
            raise ValueError(f"a sparkline's {name} bound must be a finite number, not {bound}")
    if low is not None and high is not None and low > high:
        raise ValueError(f"a sparkline's low bound ({low}) is above its high bound ({high})")
    cells = resample(values, width)
    if not cells:
        return " " * width
    span = finite_range(cells)
    bottom = low if low is not None else span[0] if span else 0.0
    top = high if high is not None else span[1] if span else 0.0
    steps = len(BLOCKS) - 1
    marks = []
    for value in cells:
        if not math.isfinite(value):
            marks.append(NON_FINITE)
        elif top - bottom <= FLAT_SPREAD * max(abs(top), abs(bottom)):
            marks.append(FLAT)
        else:
            level = (min(max(value, bottom), top) - bottom) / (top - bottom)
            marks.append(BLOCKS[round(level * steps)])
    return " " * (width - len(marks)) + "".join(marks)
