"""Origins in the Data pane: the origin: filter (kind, source text, batch, any) and the origin
line of the selected example, against a real run history."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from ftui.core.dataset.origin import Origin
from ftui.core.editing.search import Query, iter_matches, origin_matches, shown_example_key
from ftui.core.editing.session import DatasetSession
from ftui.tui.widgets.search_bar import parse_query
from tests.tui.conftest import SIZE, data_section, press, settle


def examples(count: int) -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "user", "content": f"question {n}"},
                {"role": "assistant", "content": f"answer {n}"},
            ]
        }
        for n in range(count)
    ]


def write(path: Path, items: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def test_parse_origin_queries() -> None:
    assert parse_query("origin:distill") == Query(origin="distill")
    assert parse_query("refund origin:gpt-4o") == Query(text="refund", origin="gpt-4o")
    with pytest.raises(ValueError, match="origin: needs a kind or a source"):
        parse_query("origin:")
    assert Query(origin="any").describe() == "any origin"


def test_origin_matches_kind_source_batch_any() -> None:
    origin = Origin("distill", "openai:gpt-4o", 1.0, batch="3f2a9c01")
    assert all(origin_matches(origin, w) for w in ("distill", "GPT-4o", "3f2a", "any"))
    assert not any(origin_matches(origin, w) for w in ("import", "claude", "9c01"))
    assert not origin_matches(None, "any")


def test_the_core_search_asks_for_origins_a_chunk_at_a_time(tmp_path: Path) -> None:
    items = examples(1200)
    path = write(tmp_path / "data.jsonl", items)
    tagged = {shown_example_key(items[n]["messages"]) for n in (3, 700, 1199)}
    asked: list[int] = []

    def lookup(keys: Any) -> dict[str, Origin]:
        asked.append(len(keys))
        return {k: Origin("synth", "openai:gpt-4o-mini", 1.0) for k in keys if k in tagged}

    session = DatasetSession.open(path, journal_dir=tmp_path / "journal")
    try:
        session.ensure_indexed()
        found = list(iter_matches(session, Query(origin="synth"), origins=lookup))
        assert found == [3, 700, 1199]
        assert asked == [500, 500, 200]
        with pytest.raises(ValueError, match="needs the run history"):
            list(iter_matches(session, Query(origin="synth")))
    finally:
        session.close()


async def test_the_origin_filter_and_the_origin_line(app_factory: Any, tmp_path: Path) -> None:
    items = examples(6)
    path = write(tmp_path / "mixed.jsonl", items)
    app = app_factory(path)
    store = app.services.store
    now = time.time()
    store.record_origins(
        path,
        [
            (shown_example_key(items[1]["messages"]), Origin("distill", "openai:gpt-4o", now)),
            (shown_example_key(items[4]["messages"]), Origin("distill", "openai:gpt-4o", now)),
            (
                shown_example_key(items[5]["messages"]),
                Origin("import", str(tmp_path / "t.csv"), now, batch="ab12cd34"),
            ),
        ],
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)

        async def search(text: str) -> list[int]:
            await press(pilot, "slash")
            await pilot.pause()
            data.search.bar().input.value = text
            await press(pilot, "enter")
            await settle(pilot)
            return list(data.matches)

        assert await search("origin:distill") == [1, 4]
        assert await search("origin:gpt-4o") == [1, 4]
        assert await search("origin:import") == [5]
        assert await search("origin:ab12") == [5]
        assert await search("origin:any") == [1, 4, 5]
        assert await search("answer origin:distill") == [1, 4]
        assert await search("origin:paraphrase") == []
        # The filter view shows only the matches; the cursor is on the first one.
        await search("origin:distill")
        await press(pilot, "f")
        await settle(pilot)
        assert data.example_list.row_count == 2
        shown = data.conversation.shown
        assert shown is not None and shown.position == 1
        assert shown.origin == "distill · openai:gpt-4o"
        # An example without an origin shows none.
        await press(pilot, "escape")
        await settle(pilot)
        data.example_list.go_to_position(0)
        await settle(pilot)
        shown = data.conversation.shown
        assert shown is not None and shown.position == 0 and shown.origin is None


async def test_the_origin_recorded_for_the_open_file_wins(app_factory: Any, tmp_path: Path) -> None:
    # The same rows imported into two files: the pane on the first shows its own batch, though
    # the other file's was recorded later; an example only elsewhere shows that origin.
    items = examples(3)
    path = write(tmp_path / "mix.jsonl", items)
    app = app_factory(path)
    store = app.services.store
    source = str(tmp_path / "t.csv")
    keys = [shown_example_key(item["messages"]) for item in items]
    store.record_origins(
        path.resolve(), [(keys[0], Origin("import", source, 100.0, batch="aaaa0001"))]
    )
    store.record_origins(
        tmp_path / "x.sg.json",
        [
            (keys[0], Origin("import", source, 200.0, batch="bbbb0002")),
            (keys[1], Origin("import", source, 200.0, batch="bbbb0002")),
        ],
    )
    assert store.origins_by_key(keys[:2], path.resolve())[keys[0]].batch == "aaaa0001"
    assert store.origins_by_key(keys[:2], path.resolve())[keys[1]].batch == "bbbb0002"
    assert store.origins_by_key(keys[:1])[keys[0]].batch == "bbbb0002"  # no dataset: latest
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        data.example_list.go_to_position(0)
        await settle(pilot)
        shown = data.conversation.shown
        assert shown is not None and shown.position == 0
        assert shown.origin is not None and "aaaa0001" in shown.origin
        await press(pilot, "slash")
        await pilot.pause()
        data.search.bar().input.value = "origin:aaaa"
        await press(pilot, "enter")
        await settle(pilot)
        assert list(data.matches) == [0]
