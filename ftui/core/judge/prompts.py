"""The pairwise judge's prompt, in the MT-Bench way (our wording).

The system message holds the rubric (editable: the caller passes it) and the output rules, which
are always appended so a custom rubric can't drop the verdict format. The user message holds the
question, the reference answer when there is one (before the answers, so the judge reads it
first), and the two answers, each between start and end markers. The judge is asked for a short
explanation and then exactly one of [[A]], [[B]] or [[C]] (a tie) on the last line.

Each pair is meant to be judged twice, the second time with the answers swapped (see
`verdicts.combine`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

DEFAULT_RUBRIC = (
    "You are an impartial reviewer comparing two AI assistants' answers to the same user "
    "question. Decide which answer serves the user better. Weigh, in this order: whether the "
    "answer is correct and follows the user's instructions; whether it is helpful and relevant; "
    "then its depth, clarity and level of detail. A longer answer is not better for being "
    "longer, and the order in which the answers are shown must not sway you; nor should the "
    "assistants' names. Be as objective as you can."
)

REFERENCE_RULE = (
    "A reference answer is given. Treat it as correct: judge each assistant's answer against it, "
    "and find its mistakes first."
)

OUTPUT_RULES = (
    "First explain your comparison briefly, in a few sentences. Then, on the last line, give "
    "your verdict and nothing else: [[A]] if assistant A's answer is better, [[B]] if assistant "
    "B's answer is better, [[C]] if they are equally good."
)

ANSWER_A_START = "[The Start of Assistant A's Answer]"
ANSWER_A_END = "[The End of Assistant A's Answer]"
ANSWER_B_START = "[The Start of Assistant B's Answer]"
ANSWER_B_END = "[The End of Assistant B's Answer]"
REFERENCE_START = "[The Start of the Reference Answer]"
REFERENCE_END = "[The End of the Reference Answer]"
QUESTION_START = "[The Start of the User's Question]"
QUESTION_END = "[The End of the User's Question]"


def pair_messages(
    question: str,
    answer_a: str,
    answer_b: str,
    *,
    reference: str | None = None,
    rubric: str = DEFAULT_RUBRIC,
) -> list[dict[str, str]]:
    """The judge's chat messages for one order of one pair: a system and a user message."""
    rules = [rubric.strip() or DEFAULT_RUBRIC]
    if reference is not None:
        rules.append(REFERENCE_RULE)
    rules.append(OUTPUT_RULES)
    parts = [_block(QUESTION_START, question, QUESTION_END)]
    if reference is not None:
        parts.append(_block(REFERENCE_START, reference, REFERENCE_END))
    parts.append(_block(ANSWER_A_START, answer_a, ANSWER_A_END))
    parts.append(_block(ANSWER_B_START, answer_b, ANSWER_B_END))
    return [
        {"role": "system", "content": "\n\n".join(rules)},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def render_conversation(messages: Iterable[Mapping[str, str]]) -> str:
    """A prompt as the judge reads it: a lone user turn as is; a conversation turn by turn."""
    turns = list(messages)
    if len(turns) == 1 and turns[0].get("role") == "user":
        return turns[0].get("content", "")
    lines = []
    for turn in turns:
        role = turn.get("role", "user")
        lines.append(f"{role.capitalize()}: {turn.get('content', '')}")
    return "\n\n".join(lines)


def _block(start: str, text: str, end: str) -> str:
    return f"{start}\n{text.strip()}\n{end}"
