"""One line's worth of facts about an example, for the dataset browser's rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ftui.core.findings import SEVERITY_ORDER, Finding, Severity

ROLE_LETTERS = {
    "system": "S",
    "developer": "D",
    "user": "U",
    "assistant": "A",
    "tool": "T",
    "function": "F",
}
PREVIEW_CHARS = 160


@dataclass(frozen=True, slots=True)
class RowSummary:
    """What the browser shows for one example.

    `number` is 1-based in the current view; `roles` is the role pattern ("S U A U A", "?" for an
    unknown role); `first_user` is the first user message on one line, cut to PREVIEW_CHARS;
    `findings` are (code, severity) pairs, worst first.
    """

    number: int
    source_line: int | None
    turns: int
    roles: str
    first_user: str
    tokens: int | None
    findings: tuple[tuple[str, Severity], ...]
    edited: bool = False

    @property
    def worst(self) -> Severity | None:
        return self.findings[0][1] if self.findings else None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.findings)


def role_pattern(messages: Sequence[Any]) -> str:
    letters = []
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else None
        letters.append(ROLE_LETTERS.get(role, "?") if isinstance(role, str) else "?")
    return " ".join(letters)


def content_text(content: Any) -> str:
    """The readable text of a message's content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                text = part.get("text", part.get("value"))
                if isinstance(text, str):
                    parts.append(text)
        return " ".join(parts)
    return ""


def first_user_text(messages: Sequence[Any], limit: int = PREVIEW_CHARS) -> str:
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "user":
            return one_line(content_text(message.get("content")), limit)
    return ""


def one_line(text: str, limit: int = PREVIEW_CHARS) -> str:
    # Only the head matters for a preview: never join a 50 MB string.
    flat = " ".join(text[: limit * 4].split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def finding_badges(findings: Sequence[Finding]) -> tuple[tuple[str, Severity], ...]:
    """Distinct codes, worst severity first, then by code."""
    worst: dict[str, Severity] = {}
    for finding in findings:
        known = worst.get(finding.code)
        if known is None or SEVERITY_ORDER[finding.severity] < SEVERITY_ORDER[known]:
            worst[finding.code] = finding.severity
    return tuple(sorted(worst.items(), key=lambda item: (SEVERITY_ORDER[item[1]], item[0])))
