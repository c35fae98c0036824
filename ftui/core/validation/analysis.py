"""What the validator is told (`ValidationOptions`) and what it learns of one example
(`ExampleAnalysis`, small and picklable: it travels from the worker processes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ftui.core.dataset.formats import DatasetFormat
from ftui.core.findings import Finding
from ftui.core.pricing.models import DEFAULT_OPENAI_MODEL


@dataclass
class ValidationOptions:
    model: str = DEFAULT_OPENAI_MODEL  # an OpenAI model name, or a local model directory
    encoding: str | None = None  # tiktoken encoding; default: the model's
    fmt: DatasetFormat | None = None  # default: detected from the file
    token_limit: int | None = None  # default: the model's training context
    epochs: int | None = None  # default: OpenAI's default-epochs rule
    near_duplicates: bool = True
    max_findings_per_code: int | None = 1_000  # None: keep every finding
    workers: int | None = None  # None: every core when it is safe to fork; 1: in-process


@dataclass(slots=True)
class ExampleAnalysis:
    """What `analyse` learns about one example; small and picklable."""

    index: int
    line: int
    findings: list[Finding]
    tokens: int = -1  # -1: not countable (unreadable example, or a template that rejects it)
    assistant_tokens: int = 0
    messages: int = 0
    exact_key: int | None = None
    near_key: int | None = None
    prompt_key: int | None = None
    system_key: int | None = None
    system_preview: str = ""
    role_pattern: str = ""
    kind: str = ""  # "sft", "dpo", "kto+" / "kto-" (desirable / undesirable); "": unreadable
    # Tokens of each trained assistant text reply, and where the shortest and longest are.
    reply_tokens: tuple[int, ...] = ()
    shortest_at: int = -1
    longest_at: int = -1

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Positional fields pickle at about half the size of the default slot-name dict, so
        # more results fit in the pipe from the workers.
        return (
            ExampleAnalysis,
            (
                self.index,
                self.line,
                self.findings,
                self.tokens,
                self.assistant_tokens,
                self.messages,
                self.exact_key,
                self.near_key,
                self.prompt_key,
                self.system_key,
                self.system_preview,
                self.role_pattern,
                self.kind,
                self.reply_tokens,
                self.shortest_at,
                self.longest_at,
            ),
        )


def role_pattern(letters: str) -> str:
    """A short name for a conversation's shape: "S UA×7" for a system prompt and 7 exchanges."""
    head = "S " if letters.startswith("S") else ""
    body = letters[1:] if head else letters
    if len(body) >= 4 and len(body) % 2 == 0 and body == "UA" * (len(body) // 2):
        return f"{head}UA×{len(body) // 2}"
    pattern = head + body
    return pattern if len(pattern) <= 16 else pattern[:16] + "…"


_ROLE_LETTERS = {"system": "S", "user": "U", "assistant": "A", "tool": "T", "function": "T"}


def role_letter(role: Any) -> str:
    return _ROLE_LETTERS.get(role, "?") if type(role) is str else "?"
