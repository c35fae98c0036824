"""Verdict parsing never guesses; the two orders combine as MT-Bench does."""

from __future__ import annotations

import pytest

from ftui.core.judge.verdicts import combine, parse_verdict

FORMAT_ECHO = (
    'Output your final verdict: "[[A]]" if assistant A is better, "[[B]]" if assistant B is '
    'better, and "[[C]]" for a tie.'
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Assistant B gives the correct formula and an example.\n\n[[B]]", "B"),
        ("Both answers are correct and equally clear.\nFinal verdict: [[C]]", "C"),
        ("**Verdict:** [[A]]**", "A"),
        ("Verdict: [[ b ]].", "B"),
        # The verdict restated: one letter throughout.
        ("[[A]] Assistant A is right about the date.\n\nSo my verdict is [[A]].", "A"),
        # The judge quotes the format, then decides at the end.
        (f"{FORMAT_ECHO}\n\nA misreads the question; B answers it.\n\n[[B]]", "B"),
        # It changes its mind, and the change is the final word.
        ("At first [[A]] looked better, but A's code does not run.\n\nFinal verdict: [[B]]", "B"),
        # A verdict in the middle, nothing else: it is the only one.
        ("My verdict is [[A]] because it is correct, although a little terse.", "A"),
    ],
)
def test_clear_verdicts(text: str, expected: str) -> None:
    assert parse_verdict(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Both answers are fine, I cannot decide.",
        "Assistant A is better. [A]",
        "Verdict: [[A/B]]",
        "Verdict: [[Tie]]",
        # Two letters and no final one.
        "[[A]] or [[B]], depending on what the user meant.",
        "Final verdict: [[A]] / [[B]]",
        "Final verdict: [[B]]\n\nNote: a verdict of [[A]] would need A to cite its source.",
        f"{FORMAT_ECHO}",
    ],
)
def test_no_verdict_or_no_clear_one_is_none(text: str) -> None:
    assert parse_verdict(text) is None


MT_BENCH_LIKE = """Both assistants explain how to reverse a list in Python.

Assistant A shows `list.reverse()` and slicing with `[::-1]`, and notes that the first changes
the list in place while the second returns a copy. Assistant B only mentions `reversed()`, and
wrongly claims it returns a list; it returns an iterator.

Assistant A's answer is accurate and more complete.

[[A]]"""

RECONSIDERED = """Assistant A's answer is longer, and at first glance I would say [[A]].
However, its second step uses a function that does not exist in the library, so the code fails.
Assistant B's shorter answer runs and gives the right output.

**Final verdict: [[B]]**"""

NOTE_AFTER = """Final verdict: [[B]]

(If the user had wanted a one-liner, [[A]] would have been the better choice.)"""


def test_real_looking_judge_outputs() -> None:
    assert parse_verdict(MT_BENCH_LIKE) == "A"
    assert parse_verdict(RECONSIDERED) == "B"
    assert parse_verdict(NOTE_AFTER) is None  # the last verdict is a hypothetical: no guess
    assert parse_verdict("They are equally good. [[c]]") == "C"


def test_combine_follows_the_answer_not_the_position() -> None:
    # ab: A = model a; ba: A = model b.
    assert combine("B", "A") == "b"
    assert combine("A", "B") == "a"
    assert combine("C", "C") == "tie"
    # A judge that always says [[A]] follows the position: a tie.
    assert combine("A", "A") == "tie"
    assert combine("B", "B") == "tie"
    assert combine("A", "C") == "tie"
    assert combine(None, "A") == "unknown"
    assert combine("B", None) == "unknown"
    with pytest.raises(ValueError, match="'A', 'B', 'C'"):
        combine("X", "A")  # type: ignore[arg-type]
