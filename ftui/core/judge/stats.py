"""Tallies of B against A, their uncertainty, a length-controlled win rate, and agreement.

Everything counts a tie as half a win for each side and leaves unknown pairs out. Pure Python:
these are a few hundred numbers, and core stays free of numpy.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ftui.core.judge.verdicts import OUTCOMES, Outcome

Z95 = 1.96
MIN_LC_EXAMPLES = 20
# A gentle ridge on the length coefficient: a judge that always picks the longer answer
# separates the data perfectly, and the unpenalised fit would run its coefficient to infinity.
LC_RIDGE = 1.0
_LC_MAX_ITERATIONS = 100


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (`successes` may hold halves for ties).

    With no trials at all the interval is the whole of [0, 1].
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n and n >= 0, got successes={successes}, n={n}")
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Tally:
    b_wins: int
    a_wins: int
    ties: int
    unknown: int

    @property
    def n(self) -> int:
        """The judged pairs (unknown ones left out)."""
        return self.b_wins + self.a_wins + self.ties

    @property
    def b_wins_counted(self) -> float:
        return self.b_wins + self.ties / 2

    @property
    def b_win_rate(self) -> float | None:
        """B's share of the judged pairs, a tie counting half; None when none was judged."""
        return self.b_wins_counted / self.n if self.n else None

    @property
    def ci95(self) -> tuple[float, float] | None:
        return wilson_interval(self.b_wins_counted, self.n) if self.n else None

    @classmethod
    def from_outcomes(cls, outcomes: Iterable[Outcome]) -> Tally:
        counts: Counter[str] = Counter()
        for outcome in outcomes:
            if outcome not in OUTCOMES:
                raise ValueError(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")
            counts[outcome] += 1
        return cls(
            b_wins=counts["b"], a_wins=counts["a"], ties=counts["tie"], unknown=counts["unknown"]
        )

    def to_json(self) -> dict[str, Any]:
        ci = self.ci95
        return {
            "n": self.n,
            "b_wins": self.b_wins,
            "a_wins": self.a_wins,
            "ties": self.ties,
            "unknown": self.unknown,
            "b_win_rate": self.b_win_rate,
            "ci95": [ci[0], ci[1]] if ci is not None else None,
        }


def length_controlled_win_rate(
    outcomes: Sequence[Outcome], len_a: Sequence[int], len_b: Sequence[int]
) -> float | None:
    """B's win rate had both answers been the same length, in the spirit of AlpacaEval 2.

    A logistic regression of "B wins" on an intercept and tanh(length difference / its
    standard deviation), fitted by Newton's method (a tie is two rows of half weight, one won
    and one lost; unknown pairs are left out), reported as sigmoid(intercept): the length term
    at zero. The difference is not centred, so zero means "equally long". None with fewer than
    MIN_LC_EXAMPLES judged pairs, or when every pair has the same non-zero difference (the
    length effect can't be separated from the models' then).
    """
    if not len(outcomes) == len(len_a) == len(len_b):
        raise ValueError(
            f"outcomes, len_a and len_b must be as long as each other "
            f"(got {len(outcomes)}, {len(len_a)}, {len(len_b)})"
        )
    judged = [(o, b - a) for o, a, b in zip(outcomes, len_a, len_b, strict=True) if o != "unknown"]
    if len(judged) < MIN_LC_EXAMPLES:
        return None
    diffs = [d for _, d in judged]
    mean = sum(diffs) / len(diffs)
    std = math.sqrt(sum((d - mean) ** 2 for d in diffs) / len(diffs))
    if std == 0:
        # Every pair has the same difference: at zero the length term is zero everywhere and
        # the raw rate is the answer; elsewhere length and quality can't be told apart.
        return Tally.from_outcomes(o for o, _ in judged).b_win_rate if mean == 0 else None
    scale = std
    rows: list[tuple[float, float, float]] = []  # (x, y, weight)
    for outcome, diff in judged:
        x = math.tanh(diff / scale)
        if outcome == "tie":
            rows.append((x, 1.0, 0.5))
            rows.append((x, 0.0, 0.5))
        elif outcome in ("a", "b"):
            rows.append((x, 1.0 if outcome == "b" else 0.0, 1.0))
        else:
            raise ValueError(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")
    intercept, _slope = _fit_logistic(rows)
    return _sigmoid(intercept)


def _fit_logistic(rows: list[tuple[float, float, float]]) -> tuple[float, float]:
    """(intercept, slope) maximising the weighted log-likelihood less LC_RIDGE/2 · slope²."""
    alpha = beta = 0.0
    current = _penalised_loglik(rows, alpha, beta)
    for _ in range(_LC_MAX_ITERATIONS):
        g0 = g1 = 0.0
        h00 = h01 = h11 = 0.0
        for x, y, w in rows:
            p = _sigmoid(alpha + beta * x)
            g0 += w * (y - p)
            g1 += w * (y - p) * x
            v = w * p * (1 - p)
            h00 += v
            h01 += v * x
            h11 += v * x * x
        g1 -= LC_RIDGE * beta
        h11 += LC_RIDGE
        det = h00 * h11 - h01 * h01
        if det <= 1e-12:
            break
        step0 = (h11 * g0 - h01 * g1) / det
        step1 = (h00 * g1 - h01 * g0) / det
        # Damped: halve the step until the objective does not fall.
        t = 1.0
        while t > 1e-6:
            candidate = _penalised_loglik(rows, alpha + t * step0, beta + t * step1)
            if candidate >= current - 1e-12:
                break
            t /= 2
        alpha += t * step0
        beta += t * step1
        improved = _penalised_loglik(rows, alpha, beta)
        if abs(t * step0) < 1e-10 and abs(t * step1) < 1e-10:
            break
        current = improved
    return alpha, beta


def _penalised_loglik(rows: list[tuple[float, float, float]], alpha: float, beta: float) -> float:
    total = 0.0
    for x, y, w in rows:
        eta = alpha + beta * x
        # log σ(η) = -log(1 + e^-η), computed without overflow.
        log_p = -_softplus(-eta)
        log_q = -_softplus(eta)
        total += w * (y * log_p + (1 - y) * log_q)
    return total - LC_RIDGE / 2 * beta * beta


def _softplus(x: float) -> float:
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    e = math.exp(x)
    return e / (1 + e)


@dataclass(frozen=True)
class Agreement:
    n: int
    rate: float | None
    kappa: float | None


def agreement(pairs: Iterable[tuple[Outcome, Outcome]]) -> Agreement:
    """How often two judges agree on the pairs both judged, and Cohen's kappa.

    Pairs where either side is unknown are left out. Kappa is None when it is undefined: when
    chance alone would make the judges agree on everything (both always gave one same answer).
    """
    kept = [(x, y) for x, y in pairs if x != "unknown" and y != "unknown"]
    for x, y in kept:
        for value in (x, y):
            if value not in OUTCOMES:
                raise ValueError(f"unknown outcome {value!r}; expected one of {OUTCOMES}")
    n = len(kept)
    if n == 0:
        return Agreement(n=0, rate=None, kappa=None)
    observed = sum(x == y for x, y in kept) / n
    first = Counter(x for x, _ in kept)
    second = Counter(y for _, y in kept)
    expected = sum(first[c] * second[c] for c in first) / (n * n)
    kappa = None if expected >= 1 else (observed - expected) / (1 - expected)
    return Agreement(n=n, rate=observed, kappa=kappa)


def too_few_to_tell(tally: Tally) -> str | None:
    """A warning when the tally can't tell B from A (its 95% interval holds 0.5), else None."""
    n = tally.n
    if n == 0:
        return "No pair was judged: there is nothing to tell the models apart by."
    ci = tally.ci95
    rate = tally.b_win_rate
    assert ci is not None and rate is not None
    lo, hi = ci
    if lo > 0.5 or hi < 0.5:
        return None
    gap = abs(rate - 0.5)
    where = (
        f"With {n} judged pair{'s' if n != 1 else ''}, B's win rate "
        f"{rate:.0%} has a 95% interval of [{lo:.2f}, {hi:.2f}], which holds 0.5: "
        "this can't tell B from A"
    )
    if gap < 0.01:
        return where + "."
    needed = math.ceil(Z95 * Z95 * rate * (1 - rate) / (gap * gap))
    if needed <= n:
        needed = n + 1
    return where + f"; a gap this size needs about {needed} judged pairs."
