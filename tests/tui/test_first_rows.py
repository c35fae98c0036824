"""A dataset's first rows are painted before any tokenizer is loaded; the counts fill in after.

Loading `o200k_base` takes most of a second and holds the GIL the first paint needs, though
nothing on the first screen needs a token count.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import ftui.core.pricing.tokens as tokens
import ftui.core.validation.validator as validator
from ftui.tui.widgets.example_list import ExampleList
from tests.tui.conftest import SIZE, data_section, settle


async def test_first_rows_are_painted_before_the_tokenizer_loads(
    app_factory: Any, demo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    painted_rows = 0
    rows_painted_when_loading: list[int] = []
    render_row = ExampleList.render_row
    get_encoding = tokens.get_encoding

    def counting_render_row(self: ExampleList, *args: Any, **kwargs: Any) -> Any:
        nonlocal painted_rows
        painted_rows += 1
        return render_row(self, *args, **kwargs)

    # Thread workers of earlier tests' apps may still be finishing in this process: only this
    # test's threads count.
    earlier_threads = {thread.ident for thread in threading.enumerate()}

    def noting_get_encoding(name: str) -> Any:
        if threading.get_ident() not in earlier_threads:
            rows_painted_when_loading.append(painted_rows)
        return get_encoding(name)

    monkeypatch.setattr(ExampleList, "render_row", counting_render_row)
    monkeypatch.setattr(tokens, "get_encoding", noting_get_encoding)
    monkeypatch.setattr(validator, "get_encoding", noting_get_encoding)
    tokens._encodings.clear()  # as in a fresh process: the first call loads it

    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        assert rows_painted_when_loading, "the token counts were never computed"
        assert rows_painted_when_loading[0] > 0, "the tokenizer loaded before any row was painted"
        # ... and every count filled in afterwards: the list column, the conversation, the pane.
        assert data.session is not None and data.session.row(0).tokens is not None
        shown = data.conversation.shown
        assert shown is not None and all(count is not None for count in shown.message_tokens)
        report = data.session.report
        assert report is not None and len(report.tokens_per_example) == len(data.session)
        assert min(report.tokens_per_example) > 0
