"""An eval set: the prompts to send both models, each with its reference answer when it has one.

Any dataset file ftui reads (OpenAI chat JSONL, ShareGPT, Alpaca, OpenAI DPO; JSONL or JSON) is
read through the same reader and converted to chat messages. For each example:

- the prompt is every turn before the final assistant turn (the whole conversation when the
  example ends with a user turn, which then has no reference);
- the reference is that final assistant turn's text;
- the key is a stable hash of the prompt messages (role and content), the same in every run, so
  caches and votes survive a re-read and a reordering of the file. Keys are unique within a set:
  a prompt asked again (real eval sets hold repeats, with different references) gets the same
  hash with "-2", "-3"... appended, in file order.

A line that can't serve as an eval example raises `EvalSetError` with the file, the line, what
is wrong and what to do: an eval set is small and hand-made, and a silently skipped question
would change the result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ftui.core.dataset.formats import DatasetFormat, detect_format, to_chat_issues
from ftui.core.dataset.reader import DatasetError, iter_records
from ftui.core.judge.prompts import render_conversation

KEY_LENGTH = 16
_PROMPT_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


class EvalSetError(ValueError):
    """One line (or the whole file, when `line` is None) can't be read as an eval example."""

    def __init__(self, path: Path, line: int | None, what: str, fix: str) -> None:
        self.path = Path(path)
        self.line = line
        self.what = what
        self.fix = fix
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {what}; {fix}")


@dataclass(frozen=True)
class EvalExample:
    key: str
    messages: tuple[dict[str, str], ...]  # the prompt: every turn before the answer
    reference: str | None

    @property
    def question(self) -> str:
        """The prompt as one text, as the judge reads it."""
        return render_conversation(self.messages)


def prompt_key(messages: tuple[dict[str, str], ...] | list[dict[str, str]]) -> str:
    """A stable hash of the prompt messages' roles and contents."""
    canonical = [{"role": m["role"], "content": m["content"]} for m in messages]
    data = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:KEY_LENGTH]


def read_eval_set(path: Path, *, limit: int | None = None) -> list[EvalExample]:
    """The first `limit` examples of `path` (all when None), in file order."""
    path = Path(path)
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1 (got {limit}); leave it out to read them all")
    if not path.is_file():
        raise EvalSetError(
            path, None, "no such file", "give the path of a chat JSONL file (or another dataset)"
        )
    try:
        fmt = detect_format(path)
    except DatasetError as exc:
        if "is empty" in str(exc):
            raise _no_examples(path) from exc
        raise EvalSetError(
            path, None, _without_path(str(exc), path), "convert it to OpenAI chat JSONL"
        ) from exc
    examples: list[EvalExample] = []
    seen: dict[str, int] = {}
    try:
        for record in iter_records(path, exact_numbers=False):
            if record.finding is not None:
                raise EvalSetError(
                    path, record.line, record.finding.message, "fix or remove that line"
                )
            example = _example(path, record.line, record.value, fmt)
            repeats = seen.get(example.key, 0) + 1
            seen[example.key] = repeats
            if repeats > 1:
                example = replace(example, key=f"{example.key}-{repeats}")
            examples.append(example)
            if limit is not None and len(examples) >= limit:
                break
    except DatasetError as exc:
        raise EvalSetError(
            path, None, _without_path(str(exc), path), "check that it is a dataset file"
        ) from exc
    if not examples:
        raise _no_examples(path)
    return examples


def _no_examples(path: Path) -> EvalSetError:
    return EvalSetError(
        path,
        None,
        "the file holds no examples",
        'add one example per line, like {"messages": [{"role": "user", "content": "..."}]}',
    )


def _without_path(message: str, path: Path) -> str:
    for prefix in (f"{path}: ", f"{path} "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def _example(path: Path, line: int, value: Any, fmt: DatasetFormat) -> EvalExample:
    chat, issues = to_chat_issues(value, fmt)
    if chat is None:
        what = "; ".join(issue.message for issue in issues) or "not an example"
        raise EvalSetError(path, line, what, f"write it as {fmt.value} data or remove the line")
    raw = chat.get("messages")
    if not isinstance(raw, list) or not raw:
        raise EvalSetError(
            path, line, "the example has no messages", "give it at least one user message"
        )
    messages = [_message(path, line, i, m) for i, m in enumerate(raw)]
    reference: str | None = None
    if messages[-1]["role"] == "assistant":
        reference = messages.pop()["content"]
    elif messages[-1]["role"] != "user":
        raise EvalSetError(
            path,
            line,
            f"the example ends with a {messages[-1]['role']!r} turn",
            "end it with the user's question, or with the assistant's reference answer",
        )
    if not any(m["role"] == "user" for m in messages):
        raise EvalSetError(
            path,
            line,
            "the prompt has no user turn",
            "put the question in a user message before the assistant's answer",
        )
    prompt = tuple(messages)
    return EvalExample(key=prompt_key(prompt), messages=prompt, reference=reference)


def _message(path: Path, line: int, i: int, message: Any) -> dict[str, str]:
    if not isinstance(message, dict):
        raise EvalSetError(
            path,
            line,
            f"message {i + 1} is not an object",
            'write it as {"role": ..., "content": ...}',
        )
    role = message.get("role")
    if role == "function":
        role = "tool"
    if role not in _PROMPT_ROLES:
        raise EvalSetError(
            path,
            line,
            f"message {i + 1} has role {role!r}",
            "use one of system, developer, user, assistant, tool",
        )
    raw = message.get("content")
    content = _text_parts(raw) if isinstance(raw, list) else raw
    if not isinstance(content, str):
        what = (
            f"message {i + 1} ({role}) has no text content"
            if raw is None
            else f"message {i + 1} ({role}) has content that is not text"
        )
        raise EvalSetError(
            path,
            line,
            what,
            "the judge compares text answers: give every turn a string 'content' "
            "(tool calls and images are not judged)",
        )
    return {"role": str(role), "content": content}


def _text_parts(parts: list[Any]) -> str | None:
    """OpenAI's content parts joined, when they are all text; None otherwise."""
    texts = []
    for part in parts:
        if not isinstance(part, dict) or part.get("type") != "text":
            return None
        text = part.get("text")
        if not isinstance(text, str):
            return None
        texts.append(text)
    return "".join(texts)


def with_system_prompt(
    messages: tuple[dict[str, str], ...], system: str | None
) -> tuple[dict[str, str], ...]:
    """The prompt both models get: the example's own, or with `system` in place of its system
    turns (the same system prompt for A and B, as the comparison needs)."""
    if not system:
        return messages
    rest = tuple(message for message in messages if message.get("role") != "system")
    return ({"role": "system", "content": system}, *rest)
