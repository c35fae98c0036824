"""Search and filter over a dataset session: text or regex in message content, by role, by
finding code, by token count, by origin (where an imported or generated example came from).

`iter_matches` streams positions in order, so a thread worker can report the first hit at once
and stop when cancelled. On unedited records a plain-text search first looks for the text in the
record's raw bytes and parses only the records that may match: most of a big file is skipped at
the speed of `bytes.find`.

Origins live in the run history, which the core does not open: a search by origin is handed an
`OriginLookup` (keys to origins, asked a chunk of examples at a time) by whoever holds the store.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ftui.core.dataset.origin import Origin, example_key
from ftui.core.dataset.text import json_text
from ftui.core.editing.row_summary import content_text

if TYPE_CHECKING:
    from ftui.core.editing.reading import ExampleReader

# Characters JSON may write escaped: a needle holding one can't be looked for in raw bytes.
_ESCAPABLE = frozenset('"\\/') | frozenset(chr(c) for c in range(0x20)) | {"\x7f"}
# Examples whose origins are looked up at once by a search by origin.
ORIGIN_CHUNK = 500
ANY_ORIGIN = "any"

# example keys -> the origins of those that have one (RunStore.origins_by_key, in the app).
OriginLookup = Callable[[Sequence[str]], Mapping[str, Origin]]


def shown_example_key(messages: list[dict[str, Any]]) -> str:
    """The key of an example as the Data pane holds it (its messages, in OpenAI form)."""
    return example_key({"messages": messages})


def origin_matches(origin: Origin | None, wanted: str) -> bool:
    """`origin:any`, `origin:distill` (a kind), `origin:gpt-4o` (in the source), `origin:3f2a`
    (a batch): case-insensitive."""
    if origin is None:
        return False
    wanted = wanted.casefold()
    if wanted == ANY_ORIGIN:
        return True
    return (
        origin.kind == wanted
        or wanted in origin.source.casefold()
        or (bool(origin.batch) and origin.batch.casefold().startswith(wanted))
    )


@dataclass(frozen=True, slots=True)
class Query:
    """What to look for. Every given criterion must hold (they combine with AND)."""

    text: str = ""
    regex: bool = False
    case: bool = False
    role: str | None = None
    code: str | None = None
    min_tokens: int | None = None
    max_tokens: int | None = None
    origin: str | None = None  # see origin_matches

    @property
    def is_empty(self) -> bool:
        return (
            not self.text
            and not self.role
            and not self.code
            and not self._by_tokens
            and not self.origin
        )

    @property
    def _by_tokens(self) -> bool:
        return self.min_tokens is not None or self.max_tokens is not None

    def describe(self) -> str:
        """The filter in words, for the search bar ("text “refund” in assistant · ≥ 500 tokens")."""
        parts = []
        if self.text:
            what = "regex" if self.regex else "text"
            case = ", case-sensitive" if self.case else ""
            where = f" in {self.role} messages" if self.role else ""
            parts.append(f"{what} “{self.text}”{case}{where}")
        elif self.role:
            parts.append(f"has a {self.role} message")
        if self.code:
            parts.append(f"finding {self.code}")
        if self.origin:
            parts.append("any origin" if self.origin == ANY_ORIGIN else f"origin {self.origin}")
        if self.min_tokens is not None and self.max_tokens is not None:
            parts.append(f"{self.min_tokens:,}–{self.max_tokens:,} tokens")
        elif self.min_tokens is not None:
            parts.append(f"≥ {self.min_tokens:,} tokens")
        elif self.max_tokens is not None:
            parts.append(f"≤ {self.max_tokens:,} tokens")
        return " · ".join(parts) if parts else "everything"

    def text_matcher(self) -> Callable[[str], bool] | None:
        """A predicate over one message's text; ValueError (clear message) for a bad regex."""
        if not self.text:
            return None
        if self.regex:
            try:
                pattern = re.compile(self.text, 0 if self.case else re.IGNORECASE)
            except re.error as exc:
                where = f" at position {exc.pos}" if exc.pos is not None else ""
                raise ValueError(
                    f"invalid regular expression “{self.text}”: {exc.msg}{where}"
                ) from None
            return lambda text: pattern.search(text) is not None
        if self.case:
            needle = self.text
            return lambda text: needle in text
        folded = self.text.casefold()
        return lambda text: folded in text.casefold()

    def raw_needle(self) -> bytes | None:
        """Bytes that must appear in a record's raw JSON for it to match (None: no such test).

        Only for a plain ASCII needle without characters JSON escapes; the caller still parses
        records holding a \\u escape, which could spell the needle differently."""
        if not self.text or self.regex or not self.text.isascii():
            return None
        if any(ch in _ESCAPABLE for ch in self.text):
            return None
        needle = self.text.encode("ascii")
        return needle if self.case else needle.lower()


def message_text(message: Any) -> str:
    """The searchable text of a message: its content, plus tool-call names and arguments."""
    if not isinstance(message, dict):
        return ""
    text = content_text(message.get("content"))
    calls = message.get("tool_calls") or message.get("function_call")
    if calls:
        text += "\n" + json_text(calls)  # integers beyond 64 bits, too
    return text


def matches(
    session: ExampleReader, pos: int, query: Query, *, origins: OriginLookup | None = None
) -> bool:
    """Whether the example at `pos` satisfies `query` (see iter_matches for streaming)."""
    matcher = _Matcher(session, query, origins)
    matcher.load_origins([pos])
    return matcher.check(pos)


def iter_matches(
    session: ExampleReader,
    query: Query,
    start: int = 0,
    *,
    reverse: bool = False,
    origins: OriginLookup | None = None,
) -> Iterator[int]:
    """Positions of the examples matching `query`, from `start` on (or down from it when
    `reverse`), in order. Raises ValueError at once for an invalid regex, or for a search by
    origin without `origins`."""
    matcher = _Matcher(session, query, origins)  # a bad regex raises here, not at first next()
    total = len(session)
    positions = range(min(start, total - 1), -1, -1) if reverse else range(max(start, 0), total)
    return _walk(session, matcher, positions)


def _walk(session: ExampleReader, matcher: _Matcher, positions: range) -> Iterator[int]:
    chunk = ORIGIN_CHUNK if matcher.origins is not None else len(positions) or 1
    for begin in range(0, len(positions), chunk):
        batch = positions[begin : begin + chunk]
        if matcher.origins is not None:
            matcher.load_origins([pos for pos in batch if pos < len(session)])
        for pos in batch:
            if pos >= len(session):  # the dataset shrank under a running search
                return
            if matcher.check(pos):
                yield pos


def count_matches(
    session: ExampleReader, query: Query, *, origins: OriginLookup | None = None
) -> int:
    return sum(1 for _ in iter_matches(session, query, origins=origins))


class _Matcher:
    def __init__(
        self, session: ExampleReader, query: Query, origins: OriginLookup | None = None
    ) -> None:
        self.session = session
        self.query = query
        self.text = query.text_matcher()  # raises ValueError first, before any work
        self.needle = query.raw_needle()
        if query.origin and origins is None:
            raise ValueError("origin: needs the run history, which is not open here")
        self.origins = origins if query.origin else None
        self._origin_at: dict[int, Origin | None] = {}

    def load_origins(self, positions: list[int]) -> None:
        """Look up the origins of `positions` at once (one query for a chunk of examples)."""
        if self.origins is None:
            return
        keys = {pos: shown_example_key(self.session.messages(pos, copy=False)) for pos in positions}
        found = self.origins(list(keys.values()))
        self._origin_at = {pos: found.get(key) for pos, key in keys.items()}

    def check(self, pos: int) -> bool:
        query, session = self.query, self.session
        if query.origin and not origin_matches(self._origin_at.get(pos), query.origin):
            return False
        if query.code and not any(f.code == query.code for f in session.findings_for(pos)):
            return False
        if self.needle is not None:
            raw = session.raw_bytes(pos)
            if raw is not None and b"\\u" not in raw:
                hay = raw if query.case else raw.lower()
                if self.needle not in hay:
                    return False
        if query.min_tokens is not None or query.max_tokens is not None:
            tokens = session.tokens(pos)
            if tokens is None:
                return False
            if query.min_tokens is not None and tokens < query.min_tokens:
                return False
            if query.max_tokens is not None and tokens > query.max_tokens:
                return False
        if self.text is None and not query.role:
            return True
        for message in session.messages(pos, copy=False):
            if query.role and (not isinstance(message, dict) or message.get("role") != query.role):
                continue
            if self.text is None or self.text(message_text(message)):
                return True
        return False
