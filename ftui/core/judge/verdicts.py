"""Reading a judge's verdict, and combining the two orders of one pair.

The rule of `parse_verdict`, which never guesses:

1. A verdict is a double-bracketed letter: [[A]], [[B]] or [[C]] (case and spaces inside the
   brackets are forgiven: "[[ b ]]"). Single brackets, "[[A/B]]", "[[Tie]]" are not verdicts.
2. No verdict in the text: None (the caller retries, then records the pair as unknown).
3. Every verdict in the text names the same letter (a judge often restates it): that letter.
4. Different letters (a judge that quotes the format, or changes its mind): the last one
   counts only if it is the final word — nothing but spaces, punctuation or Markdown emphasis
   follows it — and no other letter shares its line. Otherwise None: "[[A]] or [[B]]", or a
   verdict followed by a note that mentions another one, is not a decision.
"""

from __future__ import annotations

import re
from typing import Literal

Verdict = Literal["A", "B", "C"]
Outcome = Literal["a", "b", "tie", "unknown"]

OUTCOMES: tuple[Outcome, ...] = ("a", "b", "tie", "unknown")

_VERDICT_RE = re.compile(r"\[\[\s*([abcABC])\s*\]\]")
# What may follow a final verdict: whitespace, punctuation, Markdown emphasis, quotes.
_TRAILER_RE = re.compile(r"[\s.,;:!?*_`'\"»”’)\]-]*")


def parse_verdict(text: str) -> Verdict | None:
    """The judge's final verdict in `text`, or None when it gave none or no clear one."""
    found = list(_VERDICT_RE.finditer(text))
    if not found:
        return None
    letters = {_letter(m) for m in found}
    last = found[-1]
    if len(letters) == 1:
        return _letter(last)
    if _TRAILER_RE.fullmatch(text, last.end()) is None:
        return None
    line_start = text.rfind("\n", 0, last.start()) + 1
    same_line = {_letter(m) for m in found if m.start() >= line_start}
    if len(same_line) != 1:
        return None
    return _letter(last)


def combine(ab: Verdict | None, ba: Verdict | None) -> Outcome:
    """One pair's outcome from its two verdicts.

    `ab` was given with A = model a and B = model b; `ba` with the answers swapped (A = model b,
    B = model a). Two verdicts that agree decide; two that disagree (the judge followed the
    position, not the answer) are a tie; a missing one makes the pair unknown.
    """
    if ab is None or ba is None:
        return "unknown"
    first = _AS_IS.get(ab)
    second = _SWAPPED.get(ba)
    if first is None or second is None:
        raise ValueError(f"verdicts are 'A', 'B', 'C' or None, got {ab!r} and {ba!r}")
    return first if first == second else "tie"


_AS_IS: dict[str, Outcome] = {"A": "a", "B": "b", "C": "tie"}
_SWAPPED: dict[str, Outcome] = {"A": "b", "B": "a", "C": "tie"}


def _letter(match: re.Match[str]) -> Verdict:
    letter = match.group(1).upper()
    assert letter in ("A", "B", "C")
    return letter  # type: ignore[return-value]
