"""The virtual list on its own, fed by a plain row source: paints only what is visible, keeps the
cursor in view, marks, filters and highlights, and stays fast on a million rows."""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual.app import App, ComposeResult

from ftui.tui.widgets.example_list import ExampleList


@dataclass
class Row:
    number: int
    turns: int
    roles: str
    first_user: str
    tokens: int | None
    findings: tuple[tuple[str, str], ...] = ()
    edited: bool = False


class Rows:
    """A million rows that cost nothing until asked for; counts what was asked."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.reads: list[int] = []

    def __len__(self) -> int:
        return self.count

    def row(self, pos: int) -> Row:
        self.reads.append(pos)
        findings = (("duplicate_example", "warning"),) if pos % 10 == 3 else ()
        return Row(pos + 1, 3, "S U A", f"question {pos}", 100 + pos, findings)


class ListApp(App[None]):
    def __init__(self, rows: Rows) -> None:
        super().__init__()
        self.rows = rows
        self.highlighted: list[int | None] = []

    def compose(self) -> ComposeResult:
        yield ExampleList()

    def on_mount(self) -> None:
        example_list = self.query_one(ExampleList)
        example_list.set_source(self.rows)
        example_list.focus()

    def on_example_list_highlighted(self, event: ExampleList.Highlighted) -> None:
        self.highlighted.append(event.position)


def visible_text(example_list: ExampleList) -> list[str]:
    height = example_list.scrollable_content_region.height
    return [example_list.render_line(y).text for y in range(height)]


async def test_paints_only_the_visible_rows_of_a_million() -> None:
    rows = Rows(1_000_000)
    app = ListApp(rows)
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.pause()
        example_list = app.query_one(ExampleList)
        assert example_list.row_count == 1_000_000
        lines = visible_text(example_list)
        assert "first user message" in lines[0]
        assert "question 0" in lines[1]
        # Only what fits on screen was read: no pass over the million rows.
        assert max(rows.reads) < 40

        started = time.perf_counter()
        await pilot.press("end")
        elapsed = time.perf_counter() - started
        assert example_list.position == 999_999
        assert "question 999999" in visible_text(example_list)[-1]
        assert app.highlighted[-1] == 999_999
        assert elapsed < 1.0  # generous: the benchmark holds the real figure
        assert len(set(rows.reads)) < 100


async def test_cursor_keys_move_and_keep_the_cursor_in_view() -> None:
    app = ListApp(Rows(500))
    async with app.run_test(size=(100, 12)) as pilot:
        example_list = app.query_one(ExampleList)
        await pilot.press("j", "j", "down")
        assert example_list.position == 3
        await pilot.press("pagedown")
        page = example_list.position
        assert page is not None and page > 3
        assert f"question {page}" in "\n".join(visible_text(example_list))
        await pilot.press("G")
        assert example_list.position == 499
        await pilot.press("g")
        assert example_list.position == 0
        assert round(example_list.scroll_offset.y) == 0
        await pilot.press("k")  # already at the top: stays
        assert example_list.position == 0
        assert app.highlighted[:3] == [0, 1, 2]


async def test_space_marks_and_moves_on_and_shift_m_clears() -> None:
    app = ListApp(Rows(50))
    async with app.run_test(size=(100, 12)) as pilot:
        example_list = app.query_one(ExampleList)
        await pilot.press("space", "space", "j", "space")
        assert example_list.marks == {0, 1, 3}
        assert example_list.position == 4
        assert visible_text(example_list)[1].startswith("●")
        await pilot.press("M")
        assert example_list.marks == set()


async def test_a_view_shows_only_the_given_positions() -> None:
    app = ListApp(Rows(1000))
    async with app.run_test(size=(100, 12)) as pilot:
        example_list = app.query_one(ExampleList)
        example_list.set_view([5, 50, 500])
        await pilot.pause()
        assert example_list.row_count == 3
        assert example_list.filtered
        lines = visible_text(example_list)
        assert "question 5" in lines[1] and "question 500" in lines[3]
        assert example_list.go_to_position(500)
        assert example_list.position == 500
        assert not example_list.go_to_position(6)  # hidden by the view
        example_list.set_view(None)
        await pilot.pause()
        assert example_list.row_count == 1000
        assert example_list.position == 500  # the cursor stays on the same example


async def test_rows_show_findings_and_tokens() -> None:
    app = ListApp(Rows(20))
    async with app.run_test(size=(120, 12)) as pilot:
        await pilot.pause()
        line = visible_text(app.query_one(ExampleList))[4]  # position 3
        assert "▲ duplicate_example" in line
        assert "103" in line and "S U A" in line


async def test_an_unreadable_row_is_shown_not_fatal() -> None:
    class Broken(Rows):
        def row(self, pos: int) -> Row:
            if pos == 2:
                raise OSError("disk on fire")
            return super().row(pos)

    app = ListApp(Broken(5))
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        assert "unreadable: disk on fire" in visible_text(app.query_one(ExampleList))[3]
