"""Content that is there but was never filled in: template placeholders and junk replies.

Both are cheap on the common case: a placeholder needs "{{" in the text (a C-level search), and
only replies of a few words are looked at as possible junk.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ftui.core.dataset.text import content_text

# `{{name}}`, `{{ author }}`, `{{user.name}}`: what a templating step leaves when it never ran.
# Not `${{ github.repository }}`: GitHub Actions expressions are content.
_PLACEHOLDER = re.compile(r"(?<!\$)\{\{\s*([A-Za-z_][\w.]{0,40})\s*\}\}")
# Code, fenced or inline, is where template syntax is legitimate content.
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.S)

# Whole replies that are a stand-in for an answer, not an answer.
JUNK_REPLIES = frozenset(
    {
        "n/a",
        "tbd",
        "todo",
        "fixme",
        "test",
        "testing",
        "placeholder",
        "lorem ipsum",
        "xxx",
        "asdf",
        "...",
        "?",
        "??",
        "???",
    }
)
_JUNK_WORDS = frozenset({"test", "testing", "todo", "tbd", "asdf", "xxx", "placeholder"})
_KEYBOARD_ROWS = (frozenset("qwertyuiop"), frozenset("asdfghjkl"), frozenset("zxcvbnm"))
_CONSONANT_RUN = re.compile(r"[b-df-hj-np-tv-xz]{4}")
JUNK_MAX_CHARS = 40


def placeholder_names(text: str) -> list[str]:
    """The unfilled `{{placeholders}}` of a text, outside code."""
    if "{{" not in text:
        return []
    if "`" in text:
        text = _CODE.sub("", text)
    return _PLACEHOLDER.findall(text)


def _is_keyboard_mash(word: str) -> bool:
    """'sdfsdf', 'aasdsd': letters of one keyboard row with a run of four consonants."""
    if len(word) < 4 or not word.isalpha() or not word.isascii():
        return False
    letters = set(word)
    on_one_row = any(letters <= row for row in _KEYBOARD_ROWS)
    return on_one_row and _CONSONANT_RUN.search(word) is not None


def is_placeholder_reply(text: str) -> bool:
    """Whether a reply is junk standing in for an answer ("sdfsdf", "test aasdsd", "N/A")."""
    if len(text) > JUNK_MAX_CHARS:
        return False
    cleaned = text.strip().lower().rstrip(".!")
    if cleaned in JUNK_REPLIES:
        return True
    words = cleaned.split()
    if not 0 < len(words) <= 3:
        return False
    return all(w in _JUNK_WORDS or _is_keyboard_mash(w) for w in words)


def check_placeholders(messages: list[Any], emit: Callable[[str, str, int | None], None]) -> None:
    """One `unfilled_placeholder` finding per example, naming what was left unfilled."""
    found: list[str] = []
    first: int | None = None
    for i, message in enumerate(messages):
        if type(message) is not dict:
            continue
        content = message.get("content")
        text = content if type(content) is str else content_text(content)
        names = placeholder_names(text)
        if names:
            first = i if first is None else first
            found += [n for n in names if n not in found]
    if found:
        shown = ", ".join("{{" + name + "}}" for name in found[:5])
        emit(
            "unfilled_placeholder",
            f"unfilled template placeholder(s) {shown} (first in message {(first or 0) + 1}); "
            "the model will learn to say them literally: fill them in before training",
            first,
        )
