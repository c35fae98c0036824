"""The block-character sparkline of a metric series."""

from __future__ import annotations

import math

import pytest

from ftui.core.runs.sparkline import BLOCKS, FLAT, NON_FINITE, finite_range, resample, sparkline


def test_a_falling_loss_reads_from_the_top_block_to_the_bottom_one() -> None:
    line = sparkline([3.0, 2.0, 1.5, 1.0, 0.5], 5)
    assert line == "█▅▄▂▁"
    assert [BLOCKS.index(c) for c in line] == sorted((BLOCKS.index(c) for c in line), reverse=True)


def test_the_line_is_always_width_cells() -> None:
    for count in (0, 1, 3, 7, 8, 9, 100, 1001):
        for width in (0, 1, 7, 24):
            assert len(sparkline([float(n % 5) for n in range(count)], width)) == width


def test_a_short_series_is_right_aligned_one_cell_per_value() -> None:
    assert sparkline([2.0, 1.0], 6) == "    █▁"


def test_an_empty_series_is_spaces_and_a_flat_one_a_level_line() -> None:
    assert sparkline([], 5) == "     "
    assert sparkline([0.7] * 30, 4) == FLAT * 4
    assert sparkline([0.7], 3) == "  " + FLAT


def test_a_long_series_is_resampled_to_the_mean_of_each_bucket() -> None:
    assert resample([1.0, 3.0, 5.0, 7.0, 100.0, 200.0], 3) == [2.0, 6.0, 150.0]
    # Buckets cover every value once, in order, even when the width does not divide the count.
    values = [float(n) for n in range(10)]
    assert resample(values, 3) == [1.0, 4.0, 7.5]
    assert sparkline(values, 10) == sparkline(values, 10)  # deterministic
    assert sparkline(list(range(1000)), 8) == BLOCKS


def test_non_finite_values_get_their_own_mark_and_do_not_squash_the_scale() -> None:
    line = sparkline([2.0, math.nan, 1.0, math.inf, -math.inf], 5)
    assert line == f"█{NON_FINITE}▁{NON_FINITE}{NON_FINITE}"
    # A bucket with one NaN among many values is marked: a blow-up is never averaged away.
    values = [1.0] * 50 + [math.nan] + [1.0] * 49
    assert sparkline(values, 10).count(NON_FINITE) == 1
    assert sparkline([math.nan, math.nan], 2) == NON_FINITE * 2


def test_huge_values_are_averaged_without_overflowing() -> None:
    assert NON_FINITE not in sparkline([1e308, 1e308, 1.0, 1.0], 2)


def test_a_shared_scale_puts_two_series_on_the_same_levels() -> None:
    train, valid = [2.0, 1.5, 1.0], [1.8, 1.6]
    scale = finite_range(train, valid)
    assert scale == (1.0, 2.0)
    low, high = scale
    assert sparkline(train, 3, low=low, high=high) == "█▅▁"
    # Drawn alone, eval would span the full height; on the shared scale it sits near the top.
    assert sparkline(valid, 2) == "█▁"
    assert sparkline(valid, 2, low=low, high=high) == "▇▅"
    # Values beyond a given bound are clamped to the end blocks.
    assert sparkline([0.0, 5.0], 2, low=1.0, high=2.0) == "▁█"
    assert sparkline([1.0, 2.0], 2, low=1.5) == "▁█"


def test_bad_arguments_are_refused_with_what_was_wrong() -> None:
    with pytest.raises(ValueError, match="width must be 0 or more cells, not -1"):
        sparkline([1.0], -1)
    with pytest.raises(ValueError, match=r"low bound \(2.0\) is above its high bound \(1.0\)"):
        sparkline([1.0], 4, low=2.0, high=1.0)
    with pytest.raises(ValueError, match="high bound must be a finite number"):
        sparkline([1.0], 4, high=math.nan)
