"""Tallies, Wilson intervals, the length-controlled win rate, agreement, the small-n warning."""

from __future__ import annotations

import math
import random

import pytest

from ftui.core.judge.stats import (
    MIN_LC_EXAMPLES,
    Tally,
    agreement,
    length_controlled_win_rate,
    too_few_to_tell,
    wilson_interval,
)
from ftui.core.judge.verdicts import Outcome


def test_wilson_interval_of_30_wins_in_50() -> None:
    lo, hi = wilson_interval(30, 50)
    assert round(lo, 2) == 0.46 and round(hi, 2) == 0.72
    assert wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and 0.25 < hi < 0.35
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0 and 0.65 < lo < 0.75
    assert wilson_interval(2.5, 5) == pytest.approx(
        (1 - wilson_interval(2.5, 5)[1], wilson_interval(2.5, 5)[1])
    )
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(6, 5)


def test_tally_counts_a_tie_as_half_and_leaves_unknown_out() -> None:
    outcomes: list[Outcome] = ["b"] * 6 + ["a"] * 2 + ["tie"] * 2 + ["unknown"] * 3
    tally = Tally.from_outcomes(outcomes)
    assert (tally.b_wins, tally.a_wins, tally.ties, tally.unknown) == (6, 2, 2, 3)
    assert tally.n == 10
    assert tally.b_win_rate == pytest.approx(0.7)
    assert tally.ci95 == pytest.approx(wilson_interval(7, 10))
    data = tally.to_json()
    assert (
        data["b_wins"] == 6 and data["a_wins"] == 2 and data["ties"] == 2 and data["unknown"] == 3
    )
    assert data["b_win_rate"] == pytest.approx(0.7)
    assert data["ci95"] == pytest.approx(list(wilson_interval(7, 10)))
    empty = Tally.from_outcomes(["unknown"])
    assert empty.n == 0 and empty.b_win_rate is None and empty.ci95 is None
    assert empty.to_json()["ci95"] is None
    with pytest.raises(ValueError, match="unknown outcome"):
        Tally.from_outcomes(["win"])  # type: ignore[list-item]


def _lengths(rng: random.Random, n: int) -> tuple[list[int], list[int]]:
    len_a = [rng.randint(50, 300) for _ in range(n)]
    # B is the verbose one: longer in about three quarters of the pairs.
    len_b = [a + rng.randint(-60, 200) for a in len_a]
    return len_a, len_b


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_judge_that_prefers_the_longer_answer_gets_an_lc_rate_near_half(seed: int) -> None:
    rng = random.Random(seed)
    len_a, len_b = _lengths(rng, 300)
    always_longer: list[Outcome] = [
        "b" if b > a else "a" if a > b else "tie" for a, b in zip(len_a, len_b, strict=True)
    ]
    noisy: list[Outcome] = []
    for a, b in zip(len_a, len_b, strict=True):
        p_b = 1 / (1 + math.exp(-3 * math.tanh((b - a) / 80)))
        noisy.append("b" if rng.random() < p_b else "a")
    for outcomes in (always_longer, noisy):
        raw = Tally.from_outcomes(outcomes).b_win_rate
        assert raw is not None and raw > 0.68
        lc = length_controlled_win_rate(outcomes, len_a, len_b)
        assert lc is not None and abs(lc - 0.5) < 0.13, (raw, lc)


def test_a_better_model_keeps_its_lead_when_length_says_nothing() -> None:
    rng = random.Random(7)
    len_a, len_b = _lengths(rng, 300)
    outcomes: list[Outcome] = ["b" if rng.random() < 0.75 else "a" for _ in len_a]
    raw = Tally.from_outcomes(outcomes).b_win_rate
    lc = length_controlled_win_rate(outcomes, len_a, len_b)
    assert raw is not None and lc is not None
    assert abs(lc - raw) < 0.06
    # Equal lengths: the length term is zero everywhere and LC is the raw rate.
    same = [100] * 40
    even: list[Outcome] = ["b"] * 25 + ["a"] * 10 + ["tie"] * 5
    assert length_controlled_win_rate(even, same, same) == pytest.approx(27.5 / 40, abs=1e-6)


def test_lc_needs_enough_judged_examples_and_aligned_inputs() -> None:
    few: list[Outcome] = ["b"] * (MIN_LC_EXAMPLES - 1) + ["unknown"] * 10
    lengths = [10] * len(few)
    assert length_controlled_win_rate(few, lengths, lengths) is None
    enough: list[Outcome] = ["b"] * MIN_LC_EXAMPLES
    assert length_controlled_win_rate(enough, list(range(20)), [12] * 20) is not None
    # B always 5 tokens longer: length and quality can't be told apart.
    assert length_controlled_win_rate(enough, [10] * 20, [15] * 20) is None
    with pytest.raises(ValueError, match="as long as each other"):
        length_controlled_win_rate(enough, [1], [1])


def test_agreement_and_kappa() -> None:
    pairs: list[tuple[Outcome, Outcome]] = [
        ("a", "a"),
        ("b", "b"),
        ("b", "b"),
        ("tie", "b"),
        ("a", "b"),
        ("b", "unknown"),
    ]
    result = agreement(pairs)
    assert result.n == 5
    assert result.rate == pytest.approx(3 / 5)
    # p_e = (2·1 + 2·4 + 1·0) / 25 = 10/25.
    assert result.kappa == pytest.approx((0.6 - 0.4) / (1 - 0.4))
    perfect = agreement([("a", "a"), ("b", "b")])
    assert perfect.rate == 1.0 and perfect.kappa == pytest.approx(1.0)
    assert agreement([("b", "b"), ("b", "b")]).kappa is None  # all one class: undefined
    nothing = agreement([])
    assert nothing.n == 0 and nothing.rate is None and nothing.kappa is None


def test_too_few_to_tell() -> None:
    warning = too_few_to_tell(Tally(b_wins=30, a_wins=20, ties=0, unknown=0))
    assert warning is not None
    assert "50 judged pairs" in warning and "[0.46, 0.72]" in warning and "can't tell" in warning
    assert "about" in warning  # how many pairs a gap this size would need
    assert too_few_to_tell(Tally(b_wins=80, a_wins=20, ties=0, unknown=0)) is None
    assert too_few_to_tell(Tally(0, 0, 0, 4)) is not None
    assert too_few_to_tell(Tally(5, 5, 0, 0)) is not None
