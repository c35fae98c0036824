"""Bulk fixes offered by the validation pane. Each returns one `Compound` edit (one undo step) for
the session to apply, or None when there is nothing to fix; none of them changes the session."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ftui.core.editing.edits import Compound, DeleteExamples, InsertMessage

if TYPE_CHECKING:
    from ftui.core.editing.reading import ExampleReader

Progress = Callable[[int, int], None]


def drop_exact_duplicates(
    session: ExampleReader, progress: Progress | None = None
) -> Compound | None:
    """Delete every example whose content equals an earlier one's (the first is kept)."""
    session.ensure_indexed()
    seen: set[int] = set()
    doomed: list[int] = []
    total = len(session)
    for pos in range(total):
        key = session.content_key(pos)
        if key is None:
            continue  # an unparsable record is nobody's duplicate
        if key in seen:
            doomed.append(pos)
        else:
            seen.add(key)
        _report(progress, pos, total)
    if not doomed:
        return None
    noun = "duplicate" if len(doomed) == 1 else "duplicates"
    return Compound(
        f"drop {len(doomed):,} exact {noun} (kept the first of each)", [DeleteExamples(doomed)]
    )


def drop_over_token_limit(
    session: ExampleReader, limit: int | None = None, progress: Progress | None = None
) -> Compound | None:
    """Delete the examples longer than `limit` tokens (default: the target model's limit)."""
    session.ensure_indexed()
    limit = limit if limit is not None else session.token_limit()
    doomed = []
    total = len(session)
    for pos in range(total):
        tokens = session.tokens(pos)
        if tokens is not None and tokens > limit:
            doomed.append(pos)
        _report(progress, pos, total)
    if not doomed:
        return None
    noun = "example" if len(doomed) == 1 else "examples"
    return Compound(f"drop {len(doomed):,} {noun} over {limit:,} tokens", [DeleteExamples(doomed)])


def add_system_prompt(
    session: ExampleReader, text: str, progress: Progress | None = None
) -> Compound | None:
    """Put a system message holding `text` first in every example that has none."""
    if not text.strip():
        raise ValueError("the system prompt is empty; type the prompt to add")
    session.ensure_indexed()
    edits = []
    total = len(session)
    for pos in range(total):
        messages = session.messages(pos, copy=False)
        if not messages:
            continue  # unparsable or empty: nothing to put a system prompt in front of
        if not any(
            isinstance(m, dict) and m.get("role") in ("system", "developer") for m in messages
        ):
            edits.append(InsertMessage(pos, 0, {"role": "system", "content": text}))
        _report(progress, pos, total)
    if not edits:
        return None
    noun = "example" if len(edits) == 1 else "examples"
    return Compound(f"add a system prompt to {len(edits):,} {noun}", edits)


def _report(progress: Progress | None, pos: int, total: int) -> None:
    if progress is not None and (pos % 2000 == 0 or pos == total - 1):
        progress(pos + 1, total)
