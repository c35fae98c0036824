"""The tokens a dataset stands for: per example for training, and one mean request for inference.

Counted exactly as `ftui validate` counts (the same `TokenCounter`, the cookbook's formula, the
same reading of every format through `rules.chat_messages`, a DPO pair's second answer
included), so the training tokens billed here are those `ftui validate` bills. For inference, an
example is one request: its prompt is everything before the last assistant turn (system prompt,
tools, the conversation so far), counted as the API counts a prompt, and its output is that last
assistant turn.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ftui.core.dataset.formats import REJECTED_KEY, DatasetFormat, detect_format
from ftui.core.dataset.reader import detect_layout, iter_records
from ftui.core.pricing.costs import billed_tokens
from ftui.core.pricing.roi import Workload
from ftui.core.pricing.tokens import TOKENS_PER_EXAMPLE, TokenCounter, get_encoding
from ftui.core.validation.rules import chat_messages

PROGRESS_EVERY = 1000


def _ignore(code: str, message: str, index: int | None) -> None:
    """Findings are `ftui validate`'s business; counting only needs the messages."""


@dataclass
class _RequestTally:
    counter: TokenCounter
    prompt_total: int = 0
    output_total: int = 0


@dataclass
class DatasetTokens:
    """What `count_values` learned. Means are over the examples with an assistant reply."""

    encoding: str
    examples: int = 0  # records seen
    unreadable: int = 0  # records with no countable conversation (bad JSON, wrong shape)
    requests: int = 0  # examples with an assistant reply: the requests the means are over
    token_counts: array[int] = field(default_factory=lambda: array("q"))
    prompt_totals: dict[str, int] = field(default_factory=dict)  # by encoding
    output_totals: dict[str, int] = field(default_factory=dict)

    @property
    def counted(self) -> int:
        return len(self.token_counts)

    def billed_tokens(self, limit: int | None, epochs: int) -> int:
        """Σ min(limit, tokens) × epochs, as OpenAI bills training."""
        return billed_tokens(self.token_counts, limit, epochs)

    def workload(self, encoding: str | None = None) -> Workload:
        """The mean request in `encoding` (default: the training encoding)."""
        name = encoding or self.encoding
        if not self.requests:
            return Workload(0.0, 0.0)
        return Workload(
            self.prompt_totals[name] / self.requests, self.output_totals[name] / self.requests
        )


def _last_assistant(messages: list[Any]) -> int | None:
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, dict) and message.get("role") == "assistant":
            return index
    return None


def _reply_tokens(counter: TokenCounter, message: dict[str, Any]) -> int:
    """The tokens of an assistant turn as a completion: its content and tool calls."""
    reply = {key: value for key, value in message.items() if key != "weight"}
    return counter.count_example([reply])[1]


def count_values(
    values: Iterable[Any],
    fmt: DatasetFormat,
    encoding: str,
    *,
    also: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> DatasetTokens:
    """Count every example's training tokens in `encoding`, and the mean request in `encoding`
    (and in `also`, another model family's encoding, when given and different).

    `progress(done)` is called every `PROGRESS_EVERY` examples (a caller may raise from it to
    stop)."""
    trainer = TokenCounter(get_encoding(encoding))
    tallies = {encoding: _RequestTally(trainer)}
    if also and also != encoding:
        tallies[also] = _RequestTally(TokenCounter(get_encoding(also)))
    result = DatasetTokens(encoding)
    for value in values:
        result.examples += 1
        if progress is not None and result.examples % PROGRESS_EVERY == 0:
            progress(result.examples)
        preference: dict[str, Any] = {}
        messages, tools = chat_messages(value, fmt, _ignore, preference)
        if messages is None:
            result.unreadable += 1
            continue
        total = trainer.count_example(messages, tools)[0]
        rejected = preference.get(REJECTED_KEY)
        if rejected:  # a DPO pair trains on both of its answers, as `ftui validate` counts it
            total += trainer.count_example(rejected)[0] - TOKENS_PER_EXAMPLE
        result.token_counts.append(total)
        last = _last_assistant(messages)
        if last is None:
            continue
        result.requests += 1
        for tally in tallies.values():
            tally.prompt_total += tally.counter.count_example(messages[:last], tools)[0]
            tally.output_total += _reply_tokens(tally.counter, messages[last])
    result.prompt_totals = {name: t.prompt_total for name, t in tallies.items()}
    result.output_totals = {name: t.output_total for name, t in tallies.items()}
    return result


def count_file(
    path: str | os.PathLike[str],
    encoding: str,
    *,
    fmt: DatasetFormat | None = None,
    also: str | None = None,
) -> DatasetTokens:
    """`count_values` over a dataset file (format detected unless given); raises DatasetError
    when the file cannot be read at all."""
    detect_layout(path)
    fmt = fmt or detect_format(path)
    values = (record.value for record in iter_records(path))
    return count_values(values, fmt, encoding, also=also)
