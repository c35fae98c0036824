"""The example under the cursor: shown in the conversation once per frame however fast the
cursor moves, its messages' token counts worked out in a thread (the tokenizer may still be
loading) and reported as `MessageTokensCounted`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from ftui.tui.sections.data.part import FIRST_PAINT_WAIT, DataPart, WorkerReport
from ftui.tui.shared_session import SharedSession
from ftui.tui.widgets.conversation_view import ExampleShown


@dataclass
class MessageTokensCounted(WorkerReport):
    position: int
    version: int
    counts: list[int | None]


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
