"""Blind order: stable, about half each side, seed-dependent; votes mean the right model."""

from __future__ import annotations

import pytest

from ftui.core.judge.blind import b_on_left, vote_outcome


def test_the_side_is_stable_balanced_and_depends_on_the_seed() -> None:
    keys = [f"{i:016x}" for i in range(2000)]
    sides = [b_on_left(k, "seed-1") for k in keys]
    assert sides == [b_on_left(k, "seed-1") for k in keys]
    assert 0.45 < sum(sides) / len(sides) < 0.55
    other = [b_on_left(k, "seed-2") for k in keys]
    assert other != sides
    assert 0.4 < sum(a != b for a, b in zip(sides, other, strict=True)) / len(keys) < 0.6


def test_votes_map_through_the_side() -> None:
    assert vote_outcome("left", True) == "b"
    assert vote_outcome("left", False) == "a"
    assert vote_outcome("right", True) == "a"
    assert vote_outcome("right", False) == "b"
    assert vote_outcome("tie", True) == "tie"
    assert vote_outcome("skip", False) is None
    with pytest.raises(ValueError, match="unknown vote"):
        vote_outcome("up", True)  # type: ignore[arg-type]
