"""Where an example came from: an import's source row, or the model and prompt that wrote it.

The dataset files ftui writes stay in the trainer's format (OpenAI rejects keys it does not
know), so an example's origin is kept beside it, in the store, under `example_key`: the sha256 of
the example's messages (canonical JSON), which is all the Data pane holds of every format. The
Data pane hashes the examples it shows and looks them up; an example edited since it was
written no longer matches, which is right: it is no longer what the model or the source gave.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

OriginKind = Literal["import", "synth", "paraphrase", "distill"]
ORIGIN_KINDS: tuple[OriginKind, ...] = ("import", "synth", "paraphrase", "distill")


@dataclass(frozen=True, slots=True)
class Origin:
    kind: OriginKind
    # The file an import read, or the model spec that wrote the example ("openai:gpt-4o").
    source: str
    created_at: float
    # Job or import id: every example one job wrote shares it, so a whole batch can be reviewed.
    batch: str = ""
    # What else tells the story: source row numbers, prompt name and hash, temperature...
    detail: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for the Data pane: "distill · openai:gpt-4o · batch 3f2a…"."""
        parts = [self.kind, self.source]
        rows = self.detail.get("rows")
        if isinstance(rows, list) and rows:
            first, last = rows[0], rows[-1]
            parts.append(f"row {first}" if first == last else f"rows {first}–{last}")
        if self.batch:
            parts.append(f"batch {self.batch}")
        return " · ".join(str(part) for part in parts)


def example_key(example: Mapping[str, Any]) -> str:
    """The hex sha256 naming an example's messages, whatever else its record holds (tools,
    labels, a rejected answer)."""
    payload = {"messages": example.get("messages", [])}
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
