"""The chart's debiased EMA and step window, against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from ftui.core.runs.smoothing import DebiasedEma, debiased_ema, last_steps


def test_hand_computed_values_at_weight_one_half() -> None:
    # last: 0.5, 1.25, 2.125; debias: 1 - 0.5**n = 0.5, 0.75, 0.875
    assert debiased_ema([1.0, 2.0, 3.0], 0.5) == pytest.approx([1.0, 1.25 / 0.75, 2.125 / 0.875])


def test_hand_computed_values_at_weight_point_six() -> None:
    # last: 0.4*10 = 4; 4*0.6 + 0.4*0 = 2.4; debias 0.4, 0.64
    assert debiased_ema([10.0, 0.0], 0.6) == pytest.approx([10.0, 2.4 / 0.64])


def test_first_smoothed_value_is_the_first_raw_value() -> None:
    for weight in (0.0, 0.3, 0.6, 0.9, 0.999):
        assert debiased_ema([5.25, 1.0], weight)[0] == pytest.approx(5.25)


def test_a_flat_series_stays_flat() -> None:
    assert debiased_ema([2.5] * 50, 0.95) == pytest.approx([2.5] * 50)


def test_weight_zero_changes_nothing() -> None:
    values = [3.0, -1.0, 7.5, 0.25]
    assert debiased_ema(values, 0.0) == values


def test_smoothing_damps_a_spike() -> None:
    smoothed = debiased_ema([1.0, 1.0, 1.0, 11.0, 1.0], 0.6)
    assert smoothed[3] == pytest.approx(1.0 + 0.4 * 10 / (1 - 0.6**4))
    assert 1.0 < smoothed[4] < smoothed[3] < 11.0


def test_non_finite_values_pass_through_without_poisoning_the_rest() -> None:
    nan, inf = float("nan"), float("inf")
    smoothed = debiased_ema([1.0, nan, 2.0, inf, 3.0], 0.5)
    assert math.isnan(smoothed[1]) and smoothed[3] == inf
    # The finite values are smoothed as if the bad ones were not there.
    assert [smoothed[0], smoothed[2], smoothed[4]] == pytest.approx(
        debiased_ema([1.0, 2.0, 3.0], 0.5)
    )


def test_a_series_that_starts_with_nan() -> None:
    smoothed = debiased_ema([float("nan"), 4.0, 4.0], 0.9)
    assert math.isnan(smoothed[0]) and smoothed[1:] == pytest.approx([4.0, 4.0])


def test_incremental_smoothing_matches_the_whole_series() -> None:
    values = [float(v % 7) for v in range(40)]
    ema = DebiasedEma(0.8)
    assert ema.extend(values[:15]) + ema.extend(values[15:]) == debiased_ema(values, 0.8)


@pytest.mark.parametrize("weight", [1.0, -0.1, 1.5, float("nan"), "0.6", True])
def test_a_weight_outside_zero_to_one_is_refused(weight: object) -> None:
    with pytest.raises(ValueError, match=r"smoothing weight must be"):
        debiased_ema([1.0], weight)  # type: ignore[arg-type]


def test_empty_series() -> None:
    assert debiased_ema([], 0.6) == []
    assert last_steps([], 10) == []


POINTS = [(0, 1.0), (10, 2.0), (20, 3.0), (30, 4.0), (40, 5.0)]


def test_last_steps_keeps_the_points_within_the_window() -> None:
    assert last_steps(POINTS, 20) == [(20, 3.0), (30, 4.0), (40, 5.0)]
    assert last_steps(POINTS, 19) == [(30, 4.0), (40, 5.0)]
    assert last_steps(POINTS, 0) == [(40, 5.0)]
    assert last_steps(POINTS, 1000) == POINTS


def test_last_steps_none_is_every_point() -> None:
    assert last_steps(POINTS, None) == POINTS


def test_last_steps_with_a_common_end() -> None:
    # An eval series that stops at step 40 while the chart runs to step 55.
    assert last_steps(POINTS, 20, end=55) == [(40, 5.0)]
    assert last_steps(POINTS, 5, end=55) == []


@pytest.mark.parametrize("steps", [-1, 2.5, True])
def test_last_steps_refuses_a_bad_window(steps: object) -> None:
    with pytest.raises(ValueError, match=r"steps to show must be a whole number"):
        last_steps(POINTS, steps)  # type: ignore[arg-type]
