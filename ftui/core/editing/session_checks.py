"""What validation knows about each example of a session, kept compact enough for 1M rows."""

from __future__ import annotations

from array import array
from dataclasses import replace
from typing import Any

from ftui.core.dataset.formats import DatasetFormat
from ftui.core.dataset.text import json_text
from ftui.core.findings import Finding


def at_position(finding: Finding, pos: int) -> Finding:
    """The finding, re-addressed to the example's current position."""
    return finding if finding.example == pos else replace(finding, example=pos)


def ignore_issue(*_args: Any) -> None:
    """An `emit` for the validator's helpers that discards what they report."""


def exact_key(value: Any, fmt: DatasetFormat) -> int:
    """The validator's exact-duplicate signature of an example (whitespace-normalised)."""
    from ftui.core.dataset.signatures import example_signatures
    from ftui.core.validation.rules import chat_messages

    messages, tools = chat_messages(value, fmt, ignore_issue)
    if messages is None:
        return hash(json_text(value, sort_keys=True)) or 1  # integers beyond 64 bits, too
    return example_signatures(messages, tools)[0] or 1


class ExampleFacts:
    """What validation learned per example id: findings, content keys, token counts.

    Original records (ids >= 0) keep keys and tokens in arrays of 8 bytes per example, so a
    million validated examples cost 16 MB, not a million dict entries; inserted examples and
    counts made before any full validation go in small dicts."""

    LAZY_TOKENS_CAP = 200_000

    def __init__(self) -> None:
        self.findings: dict[int, list[Finding]] = {}
        self.file_findings: list[Finding] = []
        self.base_keys: array[int] | None = None  # 0: unknown
        self.base_tokens: array[int] | None = None  # -1: unknown
        self.keys: dict[int, int] = {}
        self.tokens: dict[int, int] = {}

    @classmethod
    def for_base(cls, count: int) -> ExampleFacts:
        derived = cls()
        derived.base_keys = array("q", bytes(8 * count))
        derived.base_tokens = array("q", [-1]) * count
        return derived

    def _in_base(self, example_id: int, table: array[int] | None) -> bool:
        return table is not None and 0 <= example_id < len(table)

    def key(self, example_id: int) -> int:
        if self._in_base(example_id, self.base_keys):
            assert self.base_keys is not None
            return self.base_keys[example_id]
        return self.keys.get(example_id, 0)

    def set_key(self, example_id: int, key: int) -> None:
        if self._in_base(example_id, self.base_keys):
            assert self.base_keys is not None
            self.base_keys[example_id] = key
        elif key:
            self.keys[example_id] = key
        else:
            self.keys.pop(example_id, None)

    def owners(self, key: int) -> list[int]:
        """Every id holding `key` (deleted ones included: the caller checks)."""
        found = [i for i, k in self.keys.items() if k == key]
        table = self.base_keys
        if table is not None:
            start = 0
            while True:  # array.index runs in C: a scan of a million keys takes ~1 ms
                try:
                    start = table.index(key, start) + 1
                except ValueError:
                    break
                found.append(start - 1)
        return found

    def token(self, example_id: int) -> int | None:
        value = self.tokens.get(example_id)
        if value is None and self._in_base(example_id, self.base_tokens):
            assert self.base_tokens is not None
            value = self.base_tokens[example_id]
        return value if value is not None and value >= 0 else None

    def remember_token(self, example_id: int, tokens: int) -> None:
        if self._in_base(example_id, self.base_tokens):
            assert self.base_tokens is not None
            self.base_tokens[example_id] = tokens
            return
        if len(self.tokens) >= self.LAZY_TOKENS_CAP:
            self.tokens.clear()  # counts made while browsing: cheap to make again
        self.tokens[example_id] = tokens

    def forget_token(self, example_id: int) -> None:
        self.tokens.pop(example_id, None)
        if self._in_base(example_id, self.base_tokens):
            assert self.base_tokens is not None
            self.base_tokens[example_id] = -1

    def renumbered(self, id_of: range | array[int]) -> ExampleFacts:
        """The same knowledge keyed by position in `id_of` (after a save re-binds the file)."""
        out = ExampleFacts.for_base(len(id_of)) if self.base_keys is not None else ExampleFacts()
        out.file_findings = list(self.file_findings)
        for pos, example_id in enumerate(id_of):
            found = self.findings.get(example_id)
            if found:
                out.findings[pos] = [at_position(f, pos) for f in found]
            key = self.key(example_id)
            if key:
                out.set_key(pos, key)
            tokens = self.token(example_id)
            if tokens is not None:
                out.remember_token(pos, tokens)
        return out
