"""Search and filter, and the query language of the search bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ftui.core.editing.search import Query, iter_matches
from ftui.tui.sections.data.search import SearchProgress
from ftui.tui.widgets.search_bar import SearchBar, parse_query
from tests.tui.conftest import SIZE, Recorder, data_section, press, settle


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("docker", Query(text="docker")),
        ("Docker", Query(text="Docker", case=True)),
        ('"named volume"', Query(text="named volume")),
        ("/ref(und|unds)/", Query(text="ref(und|unds)", regex=True)),
        ("role:tool", Query(role="tool")),
        ("backup role:assistant", Query(text="backup", role="assistant")),
        ("code:duplicate_example", Query(code="duplicate_example")),
        ("tokens>2,000", Query(min_tokens=2001)),
        ("tokens<=50", Query(max_tokens=50)),
        ("tokens:100-500", Query(min_tokens=100, max_tokens=500)),
    ],
)
def test_parse_query(text: str, expected: Query) -> None:
    assert parse_query(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/[unclosed/", "invalid regular expression"),
        ('"open quote', "quote is not closed"),
        ("tokens>lots", "tokens>2000"),
        ("role:", "needs a role"),
        ("/a/ words", "either a /regex/ or words"),
    ],
)
def test_parse_query_explains_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_query(text)


async def search(pilot: Any, text: str) -> None:
    await press(pilot, "slash")
    await pilot.pause()
    bar = pilot.app.screen.query_one(SearchBar)
    bar.input.value = text
    await press(pilot, "enter")
    await settle(pilot)


async def test_search_finds_walks_filters_and_clears(
    app_factory: Any, demo_path: Path, recorder: Recorder
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE, message_hook=recorder) as pilot:
        await settle(pilot)
        data = data_section(app)
        assert data.session is not None
        await search(pilot, "docker")
        expected = list(iter_matches(data.session.unlocked, Query(text="docker")))
        assert list(data.matches) == expected and len(expected) > 2
        progress = recorder.of(SearchProgress)  # streamed from the worker, the last one final
        assert progress and progress[-1].done
        assert sum(len(p.positions) for p in progress) == len(expected)
        example_list = data.example_list
        assert example_list.position == expected[0]  # jumped to the first match
        assert app.focused is example_list
        await press(pilot, "n")
        assert example_list.position == expected[1]
        await press(pilot, "N", "N")
        assert example_list.position == expected[-1]  # wraps around
        status = str(app.screen.query_one("#search-status").render())
        assert f"{len(expected)} matches" in status

        await press(pilot, "f")  # only the matches
        await pilot.pause()
        assert example_list.filtered and example_list.row_count == len(expected)
        assert f"{len(expected)} matching" in str(example_list.border_title)
        await press(pilot, "f")
        assert not example_list.filtered

        await press(pilot, "escape")
        await pilot.pause()
        assert data.search_query is None and not list(data.matches)
        assert not app.screen.query_one(SearchBar).display


async def test_search_by_role_code_and_tokens(app_factory: Any, demo_path: Path) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        await search(pilot, "role:tool")
        assert list(data.matches) == [6, 21, 36, 51]  # the four tool-call examples
        await search(pilot, "code:duplicate_example")
        assert list(data.matches) == [22]
        await search(pilot, "tokens>500")
        session = data.session
        assert session is not None
        assert list(data.matches) == [p for p in range(len(session)) if session.tokens(p) > 500]


async def test_a_bad_query_says_why_and_searches_nothing(app_factory: Any, demo_path: Path) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await search(pilot, "/[oops/")
        assert data_section(app).search_query is None
        assert "invalid regular expression" in str(app.screen.query_one("#search-status").render())


async def test_matches_follow_edits(app_factory: Any, demo_path: Path) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        await search(pilot, "role:tool")
        await press(pilot, "g", "y")  # a duplicate of example 1 shifts every later match down
        await settle(pilot)
        assert list(data.matches) == [7, 22, 37, 52]
