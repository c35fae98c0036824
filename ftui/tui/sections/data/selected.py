"""The example under the cursor: shown in the conversation once per frame however fast the
cursor moves, its messages' token counts worked out in a thread (the tokenizer may still be
loading) and reported as `MessageTokensCounted`, and where it came from (an import, a
generation job) looked up in the run history in another and reported as `OriginFound`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from ftui.tui.sections.data.part import FIRST_PAINT_WAIT, DataPart, WorkerReport
from ftui.tui.shared_session import SharedSession
from ftui.tui.widgets.conversation_view import ExampleShown

if TYPE_CHECKING:
    from ftui.core.editing.search import OriginLookup


@dataclass
class MessageTokensCounted(WorkerReport):
    position: int
    version: int
    counts: list[int | None]


@dataclass
class OriginFound(WorkerReport):
    position: int
    version: int
    origin: str  # Origin.describe()


class SelectedExample(DataPart):
    """Shows the selected example in the conversation."""

    _pending = False

    def highlighted(self) -> None:
        # The list repaints first; the conversation follows after that frame, once for however
        # many cursor moves arrived meanwhile (holding a key down skips what flew by).
        if not self._pending:
            self._pending = True
            self.section.call_after_refresh(self._show_pending)

    def _show_pending(self) -> None:
        self._pending = False
        self.show()

    def show(self, *, select: int | None = None) -> None:
        section = self.section
        position = section.example_list.position
        session = self.session
        if session is None or position is None:
            section.conversation.show_example(None)
            return
        messages = session.messages(position)
        shown = ExampleShown(
            position=position,
            number=position + 1,
            source_line=session.source_line(position),
            messages=messages,
            message_tokens=[None] * len(messages),
            findings=session.findings_for(position),
            raw_text=session.raw_text(position) if not messages else None,
        )
        section.conversation.show_example(shown, select=select)
        if messages:
            work = partial(self._count_tokens, session, position, session.version, messages)
            self.run_thread(work, "tokens")
            lookup = section.origin_lookup()
            if lookup is not None:
                find = partial(self._find_origin, lookup, position, session.version, messages)
                self.run_thread(find, "origin")

    def _find_origin(
        self,
        lookup: OriginLookup,
        position: int,
        version: int,
        messages: list[dict[str, Any]],
    ) -> None:
        """The example's origin, from the run history (SQLite: not on the UI thread)."""
        self.section.files.first_paint.wait(FIRST_PAINT_WAIT)  # SQLite's import slows it
        from ftui.core.editing.search import shown_example_key

        key = shown_example_key(messages)
        try:
            origin = lookup([key]).get(key)
        except Exception:  # an unreadable history shows no origin; the search reports why
            return
        if origin is not None:
            self.post(OriginFound(position, version, origin.describe()))

    def _count_tokens(
        self, session: SharedSession, position: int, version: int, messages: list[dict[str, Any]]
    ) -> None:
        """Tokens of each message (the tokenizer may still be loading: not on the UI thread)."""
        self.section.files.first_paint.wait(FIRST_PAINT_WAIT)  # the tokenizer slows the paint
        from ftui.core.pricing.models import DEFAULT_OPENAI_MODEL, is_local_model
        from ftui.core.pricing.tokens import (
            TOKENS_PER_EXAMPLE,
            count_example_tokens,
            encoding_for_model,
            get_encoding,
        )

        options = session.options
        model = getattr(options, "model", None) or DEFAULT_OPENAI_MODEL
        if is_local_model(model):
            return  # counted with the model's own template: only whole examples make sense
        encoding = get_encoding(getattr(options, "encoding", None) or encoding_for_model(model))
        counts: list[int | None] = []
        for message in messages:
            try:
                counts.append(count_example_tokens([message], encoding)[0] - TOKENS_PER_EXAMPLE)
            except Exception:  # a malformed message just shows no count
                counts.append(None)
        self.post(MessageTokensCounted(position, version, counts))
