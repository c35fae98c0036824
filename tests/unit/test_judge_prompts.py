"""The pairwise prompt: question, reference before the answers, markers, rubric, verdict rules."""

from __future__ import annotations

from ftui.core.judge.prompts import DEFAULT_RUBRIC, pair_messages, render_conversation


def test_pair_prompt_layout() -> None:
    system, user = pair_messages("What is 2+2?", "It is 4.", "Five.", reference="4")
    assert system["role"] == "system" and user["role"] == "user"
    assert DEFAULT_RUBRIC in system["content"]
    assert (
        "[[A]]" in system["content"]
        and "[[B]]" in system["content"]
        and "[[C]]" in system["content"]
    )
    assert "reference" in system["content"].lower()
    text = user["content"]
    order = [
        text.index("What is 2+2?"),
        text.index("[The Start of the Reference Answer]"),
        text.index("[The Start of Assistant A's Answer]"),
        text.index("It is 4."),
        text.index("[The End of Assistant A's Answer]"),
        text.index("[The Start of Assistant B's Answer]"),
        text.index("Five."),
        text.index("[The End of Assistant B's Answer]"),
    ]
    assert order == sorted(order)


def test_without_reference_and_with_a_custom_rubric() -> None:
    system, user = pair_messages("Q", "a", "b", rubric="Prefer the funnier answer.")
    assert system["content"].startswith("Prefer the funnier answer.")
    assert DEFAULT_RUBRIC not in system["content"]
    # The output rules stay whatever the rubric says.
    assert "[[C]]" in system["content"]
    assert "Reference" not in user["content"] and "reference" not in system["content"].lower()
    blank = pair_messages("Q", "a", "b", rubric="  ")
    assert DEFAULT_RUBRIC in blank[0]["content"]


def test_swapping_answers_swaps_only_their_places() -> None:
    ab = pair_messages("Q", "first", "second")[1]["content"]
    ba = pair_messages("Q", "second", "first")[1]["content"]
    assert ab != ba
    assert ab.replace("first", "X").replace("second", "first").replace("X", "second") == ba


def test_render_conversation() -> None:
    assert render_conversation([{"role": "user", "content": "Hi"}]) == "Hi"
    text = render_conversation(
        [{"role": "system", "content": "Be nice."}, {"role": "user", "content": "Hi"}]
    )
    assert text == "System: Be nice.\n\nUser: Hi"
