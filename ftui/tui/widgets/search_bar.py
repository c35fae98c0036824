"""The search bar, and the little query language typed into it.

refund                 text anywhere in the messages (case-insensitive unless it has capitals)
"late refund"          a phrase
/ref(und|unds)/        a regular expression
role:assistant         only in messages of that role (alone: examples that have such a message)
code:duplicate_example examples with that finding
tokens>2000 tokens<50  by token count (>=, <= and tokens:100-500 work too)
origin:distill         where the example came from: a kind (import, synth, paraphrase, distill),
                       a model or file named in its source (origin:gpt-4o), a batch, or any
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from ftui.core.editing.search import Query

TOKENS = re.compile(r"^tokens\s*(>=|<=|>|<|:|=)\s*(\d[\d_,]*)(?:\s*-\s*(\d[\d_,]*))?$")
PLACEHOLDER = (
    'search: words, "a phrase", /regex/, role:user, code:empty_assistant, tokens>2000, '
    "origin:import"
)


def _int(text: str) -> int:
    return int(text.replace(",", "").replace("_", ""))


def parse_query(text: str) -> Query:
    """Parse the search bar's text; ValueError with a message the bar can show."""
    try:
        words = shlex.split(text)
    except ValueError:
        raise ValueError("a quote is not closed: close it or remove it") from None
    terms: list[str] = []
    regex: str | None = None
    role = code = origin = None
    min_tokens = max_tokens = None
    for word in words:
        lowered = word.lower()
        if lowered.startswith("role:"):
            role = word[5:].strip().lower() or None
            if role is None:
                raise ValueError("role: needs a role, e.g. role:assistant")
        elif lowered.startswith("code:"):
            code = word[5:].strip() or None
            if code is None:
                raise ValueError("code: needs a finding code, e.g. code:duplicate_example")
        elif lowered.startswith("origin:"):
            origin = word[7:].strip() or None
            if origin is None:
                raise ValueError(
                    "origin: needs a kind or a source, e.g. origin:import, origin:distill, "
                    "origin:gpt-4o or origin:any"
                )
        elif lowered.startswith("tokens"):
            match = TOKENS.match(lowered)
            if match is None:
                raise ValueError(
                    f"cannot read {word!r}: write tokens>2000, tokens<50 or tokens:100-500"
                )
            op, low, high = match.groups()
            if high is not None:
                min_tokens, max_tokens = _int(low), _int(high)
            elif op in (">", ">="):
                min_tokens = _int(low) + (1 if op == ">" else 0)
            elif op in ("<", "<="):
                max_tokens = _int(low) - (1 if op == "<" else 0)
            else:
                min_tokens = max_tokens = _int(low)
        elif len(word) >= 2 and word.startswith("/") and word.endswith("/"):
            regex = word[1:-1]
        else:
            terms.append(word)
    if regex is not None and terms:
        raise ValueError("search for either a /regex/ or words, not both")
    needle = regex if regex is not None else " ".join(terms)
    query = Query(
        text=needle,
        regex=regex is not None,
        # Smart case, as in vim and ripgrep: capitals mean "match case".
        case=needle != needle.lower(),
        role=role,
        code=code,
        min_tokens=min_tokens,
        max_tokens=max_tokens,
        origin=origin,
    )
    query.text_matcher()  # a bad regex fails here, with its position
    return query


class SearchBar(Horizontal):
    """An input and a status line; the Data section runs the search and sets the status."""

    COMMAND_GROUP = "Search"
    BINDINGS: ClassVar = [Binding("escape", "close", "Close search", show=False)]

    @dataclass
    class Submitted(Message):
        text: str

    @dataclass
    class Closed(Message):
        pass

    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER, id="search-input", compact=True)
        yield Static("", id="search-status")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    def open(self) -> None:
        self.display = True
        self.input.display = True
        self.input.focus()

    def show_status(self, text: str) -> None:
        self.query_one("#search-status", Static).update(text)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(event.value))

    def action_close(self) -> None:
        self.post_message(self.Closed())
