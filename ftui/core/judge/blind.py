"""Blind human judging: which side each answer is shown on, and what a vote means.

The side is a stable hash of (seed, example key): the same every time the session is opened
(so a vote resumed tomorrow meets the same layout), about half the examples with B on the left,
and unguessable from the example's position. Identities are revealed only in the summary.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from ftui.core.judge.verdicts import Outcome

Vote = Literal["left", "right", "tie", "skip"]
VOTES: tuple[Vote, ...] = ("left", "right", "tie", "skip")


def b_on_left(example_key: str, seed: str) -> bool:
    """Whether model B's answer is shown on the left for this example."""
    digest = hashlib.sha256(f"{seed}\x00{example_key}".encode()).digest()
    return digest[0] & 1 == 1


def vote_outcome(vote: Vote, b_left: bool) -> Outcome | None:
    """The outcome a vote stands for; None for a skip (not judged)."""
    if vote == "skip":
        return None
    if vote == "tie":
        return "tie"
    if vote == "left":
        return "b" if b_left else "a"
    if vote == "right":
        return "a" if b_left else "b"
    raise ValueError(f"unknown vote {vote!r}; expected one of {VOTES}")
