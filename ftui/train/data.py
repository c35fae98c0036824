"""Training examples from a dataset file: any format ftui reads, turned into chat `messages`.

The training process reads the same formats as the rest of ftui (OpenAI chat, ShareGPT, Alpaca,
...) through the core's reader and format conversions, so what was validated is what is trained on.
A record that cannot become a conversation stops the run before the model loads, naming the file
and line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ftui.core.dataset.text import content_text

MAX_REPORTED = 5


class TrainingDataError(ValueError):
    """The dataset cannot be trained on; the message names the file, the lines and the fix."""


def _clean_message(message: dict[str, Any]) -> dict[str, Any]:
    # Chat templates expect plain string content; typed parts (text + images) keep their text.
    return {"role": str(message.get("role", "")), "content": content_text(message.get("content"))}


def load_conversations(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every example of the file as `{"messages": [...]}`; raises TrainingDataError otherwise."""
    from ftui.core.dataset.formats import detect_format, to_chat
    from ftui.core.dataset.reader import DatasetError, iter_records

    source = Path(path)
    try:
        fmt = detect_format(source)
        records = list(iter_records(source, fmt=fmt))
    except DatasetError as exc:
        raise TrainingDataError(str(exc)) from None
    except OSError as exc:
        raise TrainingDataError(f"{source}: cannot read ({exc.strerror or exc})") from None

    examples: list[dict[str, Any]] = []
    problems: list[str] = []
    for record in records:
        if record.finding is not None:
            problems.append(f"line {record.line}: {record.finding.message}")
            continue
        chat, issues = to_chat(record.value, fmt)
        messages = chat.get("messages") if isinstance(chat, dict) else None
        if not messages:
            reasons = "; ".join(str(getattr(i, "message", i)) for i in issues) or "no messages"
            problems.append(f"line {record.line}: {reasons}")
            continue
        cleaned = [_clean_message(m) for m in messages if isinstance(m, dict)]
        if not any(m["role"] == "assistant" and m["content"] for m in cleaned):
            problems.append(f"line {record.line}: no assistant message with content to learn from")
            continue
        examples.append({"messages": cleaned})
    if problems:
        shown = "; ".join(problems[:MAX_REPORTED])
        more = f" (and {len(problems) - MAX_REPORTED} more)" if len(problems) > MAX_REPORTED else ""
        raise TrainingDataError(
            f"{source}: {len(problems)} example(s) cannot be trained on: {shown}{more}. "
            f"Fix them (`ftui validate {source}` lists every problem) and launch again."
        )
    if not examples:
        raise TrainingDataError(f"{source} has no examples.")
    return examples
