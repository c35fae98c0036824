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


class Conversations(list[dict[str, Any]]):
    """The examples to train on, and how many the file held that supervised training must not
    learn from (a KTO example labelled undesirable), by reason."""

    def __init__(self) -> None:
        super().__init__()
        self.left_out: dict[str, int] = {}


class TrainingDataError(ValueError):
    """The dataset cannot be trained on; the message names the file, the lines and the fix."""


def _clean_message(message: dict[str, Any]) -> dict[str, Any]:
    # Chat templates expect plain string content; typed parts (text + images) keep their text.
    return {"role": str(message.get("role", "")), "content": content_text(message.get("content"))}


def load_conversations(path: str | os.PathLike[str]) -> Conversations:
    """Every example of the file as `{"messages": [...]}`; raises TrainingDataError otherwise.

    Preference data trains on its preferred answers only, as `ftui convert --to openai` does: the
    rejected answer of a pair, and a KTO example labelled undesirable, are never targets."""
    from ftui.core.dataset.formats import DatasetFormat, convert_example, detect_format
    from ftui.core.dataset.reader import DatasetError, iter_records

    source = Path(path)
    try:
        fmt = detect_format(source)
        records = list(iter_records(source, fmt=fmt))
    except DatasetError as exc:
        raise TrainingDataError(str(exc)) from None
    except OSError as exc:
        raise TrainingDataError(f"{source}: cannot read ({exc.strerror or exc})") from None

    examples = Conversations()
    problems: list[str] = []
    for record in records:
        if record.finding is not None:
            problems.append(f"line {record.line}: {record.finding.message}")
            continue
        conversion = convert_example(record.value, fmt, DatasetFormat.OPENAI)
        if conversion.left_out is not None:
            examples.left_out[conversion.left_out] = (
                examples.left_out.get(conversion.left_out, 0) + 1
            )
            continue
        chat = conversion.record
        messages = chat.get("messages") if isinstance(chat, dict) else None
        if not messages:
            reasons = "; ".join(conversion.notes) or "no messages"
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
    if not examples and examples.left_out:
        raise TrainingDataError(
            f"{source} has no examples to learn from: all {sum(examples.left_out.values())} are "
            "labelled undesirable (KTO label: false), which supervised training must not learn."
        )
    if not examples:
        raise TrainingDataError(f"{source} has no examples.")
    return examples
