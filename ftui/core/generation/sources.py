"""What a generation job starts from: the examples of a dataset, or a list of scenarios.

Any dataset ftui reads (OpenAI chat, ShareGPT, Alpaca, DPO; JSONL or JSON) goes through the
dataset reader and the canonical chat form. A record that cannot serve (unreadable, no user
turn, a turn whose content is not text) is skipped with its line and the reason, never
silently: the caller reports every one. Scenarios come from a text file, one per line (blank
lines and lines starting with `#` are not scenarios), or from any dataset: its user turns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftui.core.dataset.formats import DatasetFormat, detect_format, to_chat_issues
from ftui.core.dataset.reader import DatasetError, iter_records

DATASET_SUFFIXES = (".jsonl", ".json", ".ndjson")


class SourceError(ValueError):
    """The source cannot be read at all: the message says which file, why, and what to do."""


@dataclass(frozen=True)
class SourceExample:
    line: int  # 1-based line where the record starts
    messages: tuple[dict[str, str], ...]  # role and text content of every turn

    @property
    def last_user(self) -> int:
        """The index of the last user turn."""
        return max(i for i, m in enumerate(self.messages) if m["role"] == "user")

    def prompt(self) -> tuple[dict[str, str], ...]:
        """The turns up to and with the last user turn (a system prompt kept)."""
        return self.messages[: self.last_user + 1]


@dataclass(frozen=True)
class Skipped:
    line: int
    reason: str

    def describe(self, path: Path | str) -> str:
        return f"{path}:{self.line}: skipped: {self.reason}"


@dataclass(frozen=True)
class Scenario:
    line: int
    text: str


def read_examples(
    path: Path, *, limit: int | None = None
) -> tuple[list[SourceExample], list[Skipped]]:
    """The first `limit` usable examples of a dataset, and the records skipped on the way."""
    examples: list[SourceExample] = []
    skipped: list[Skipped] = []
    for line, value_or_reason in _records(path):
        if isinstance(value_or_reason, str):
            skipped.append(Skipped(line, value_or_reason))
            continue
        examples.append(value_or_reason)
        if limit is not None and len(examples) >= limit:
            break
    return examples, skipped


def read_scenarios(path: Path, *, limit: int | None = None) -> tuple[list[Scenario], list[Skipped]]:
    """Scenarios: the lines of a text file, or the last user turn of each dataset example."""
    path = Path(path)
    if path.suffix.lower() in DATASET_SUFFIXES:
        examples, skipped = read_examples(path, limit=limit)
        scenarios = [Scenario(e.line, e.messages[e.last_user]["content"]) for e in examples]
        return scenarios, skipped
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file; give a text file, one scenario a line") from None
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8, one scenario a line"
        ) from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    scenarios = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            scenarios.append(Scenario(number, stripped))
            if limit is not None and len(scenarios) >= limit:
                break
    if not scenarios:
        raise SourceError(f"{path}: no scenarios in it; write one scenario a line")
    return scenarios, []


def _records(path: Path) -> Iterator[tuple[int, SourceExample | str]]:
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file; give the path of a dataset ftui reads")
    try:
        fmt = detect_format(path)
        for record in iter_records(path, exact_numbers=False):
            if record.finding is not None:
                yield record.line, record.finding.message
            else:
                yield record.line, _example(record.line, record.value, fmt)
    except DatasetError as exc:
        raise SourceError(
            f"{exc}; give a dataset ftui reads (chat JSONL, ShareGPT, Alpaca)"
        ) from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def _example(line: int, value: Any, fmt: DatasetFormat) -> SourceExample | str:
    chat, issues = to_chat_issues(value, fmt)
    if chat is None:
        return "; ".join(issue.message for issue in issues) or "not an example"
    raw = chat.get("messages")
    if not isinstance(raw, list) or not raw:
        return "the example has no messages"
    messages: list[dict[str, str]] = []
    for i, message in enumerate(raw, start=1):
        if not isinstance(message, dict):
            return f"message {i} is not an object"
        role, content = message.get("role"), message.get("content")
        if isinstance(content, list):
            parts = [p.get("text") for p in content if isinstance(p, dict)]
            content = "".join(p for p in parts if isinstance(p, str)) if parts else None
        if not isinstance(role, str) or not isinstance(content, str):
            return f"message {i} ({role}) has no text content; only text turns are generated from"
        messages.append({"role": role, "content": content})
    if not any(m["role"] == "user" and m["content"].strip() for m in messages):
        return "the example has no user turn with text"
    return SourceExample(line, tuple(messages))
