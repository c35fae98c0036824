"""Checks of preference pairs: both answers there, and not the same answer twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ftui.core.dataset.format_spec import split_preferred
from ftui.core.dataset.text import content_text

Emit = Callable[[str, str, int | None], None]


def _answer_text(messages: list[Any]) -> str:
    return "\n".join(
        content_text(m.get("content")) + str(m.get("tool_calls") or "")
        for m in messages
        if isinstance(m, dict)
    ).strip()


def check_preference(messages: list[Any], rejected: Any, emit: Emit) -> None:
    """`messages`: the prompt and the preferred answer; `rejected`: the non-preferred answer."""
    _, preferred = split_preferred(messages)
    if not preferred:
        emit(
            "invalid_preference",
            "the preference pair has no preferred answer (an assistant message after the "
            "prompt): add it or remove the example",
            None,
        )
        return
    if not isinstance(rejected, list) or not rejected:
        emit(
            "invalid_preference",
            "the preference pair has no non-preferred answer: add it or remove the example",
            None,
        )
        return
    for j, message in enumerate(rejected):
        role = message.get("role") if isinstance(message, dict) else None
        if role != "assistant":
            emit(
                "invalid_preference",
                f"non-preferred answer message {j + 1} has role {role!r}; it must be the "
                "assistant's",
                None,
            )
            return
    rejected_text = _answer_text(rejected)
    if not rejected_text:
        emit(
            "invalid_preference",
            "the non-preferred answer is empty: write it or remove the example",
            None,
        )
    elif rejected_text == _answer_text(preferred):
        emit(
            "identical_preference_answers",
            "the preferred and the non-preferred answers are the same text, so the pair teaches "
            "nothing: fix one of them or remove the example",
            len(messages) - 1,
        )
