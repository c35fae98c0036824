"""At 80x24 (many SSH terminals) the lists keep most of the height and nothing is cut mid-word;
on a big terminal everything is as it was. How it looks is in tests/snapshots (the 80x24 ones)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Static

from ftui.tui.widgets.runs_table import COLUMNS, column_widths
from tests.tui.conftest import SIZE, data_section, settle

SMALL = (80, 24)


def test_a_narrow_runs_table_leaves_out_whole_columns_rather_than_cutting_them() -> None:
    names = [name for name, _, _ in COLUMNS]
    everything = column_widths(130)
    assert all(everything), "a wide table shows every column"
    widths = column_widths(78)  # the runs table at 80 columns, less its scrollbar gutter
    shown = [name for name, w in zip(names, widths, strict=True) if w]
    assert shown == ["status", "id", "base_model", "dataset", "loss", "eval"]
    # What is shown fits exactly: columns, one space between each, and the mark.
    assert sum(w for w in widths if w) + len(shown) - 1 + 2 == 78
    # The model and the dataset keep a readable width; each loss column has room for a
    # sparkline of 7 cells before its number ("0.4120").
    by_name = dict(zip(names, widths, strict=True))
    assert by_name["base_model"] >= 12 and by_name["dataset"] >= 12
    assert by_name["loss"] == by_name["eval"] == 14


def test_a_wide_runs_table_gives_its_room_to_the_step_and_the_sparklines() -> None:
    names = [name for name, _, _ in COLUMNS]
    wide = dict(zip(names, column_widths(198), strict=True))
    assert all(wide.values())
    assert wide["status"] == 17  # "running 1200/4000"
    assert wide["loss"] == wide["eval"] == 31  # 24-cell sparklines
    assert wide["base_model"] <= 31 and wide["dataset"] <= 31
    assert sum(wide.values()) + len(wide) - 1 + 2 == 198


async def test_at_80x24_the_example_list_gets_most_of_the_data_section(
    app_factory: Any, demo_path: Path
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        data = data_section(app)
        example_list, pane = data.example_list, data.pane
        assert example_list.size.height >= 12  # it had 5 rows
        assert example_list.outer_size.height > 2 * pane.outer_size.height
        # The summary stays, the distributions fold away, and the summary wraps at words.
        summary = app.screen.query_one("#validation-summary", Static)
        assert summary.display and summary.size.width > 0
        assert not app.screen.query_one("#tokens-distribution").display
        assert summary.region.right <= pane.content_region.right
        # The first user message keeps a readable width (the role letters give way).
        header = example_list.render_line(0).text
        assert "roles" not in header and "first user message" in header


async def test_on_a_big_terminal_nothing_folds_away(app_factory: Any, demo_path: Path) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#tokens-distribution").display
        header = data_section(app).example_list.render_line(0).text
        assert "roles" in header


def test_the_first_screen_starts_with_the_classes_of_its_size() -> None:
    # Given before the first resize, they do not restyle every widget a second time; they must
    # be the ones Textual's breakpoints give, or the first resize would change them anyway.
    from textual.screen import Screen

    from ftui.tui.stylesheet import (
        HORIZONTAL_BREAKPOINTS,
        VERTICAL_BREAKPOINTS,
        breakpoint_classes,
    )

    screen = Screen()
    for width in (1, 79, 109, 110, 111, 300):
        for height in (1, 24, 31, 32, 80):
            textual_says = screen._get_breakpoint_classes(
                width, HORIZONTAL_BREAKPOINTS
            ) | screen._get_breakpoint_classes(height, VERTICAL_BREAKPOINTS)
            assert breakpoint_classes(width, height) == textual_says


async def test_a_long_confirmation_keeps_its_buttons_in_view_at_80x24() -> None:
    # A plan with its warnings is longer than the screen: the body scrolls, the choices stay.
    from textual.app import App
    from textual.widgets import Button

    from ftui.tui.screens.confirm import CANCEL, Choice, ConfirmScreen
    from ftui.tui.stylesheet import APP_CSS

    class Host(App[None]):
        CSS_PATH = str(APP_CSS)

    body = "\n".join(f"line {n} of a long plan and its warnings" for n in range(40))
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(
            ConfirmScreen("Start?", body, [Choice("y", "yes", "Start", "primary"), CANCEL])
        )
        await pilot.pause()
        buttons = list(app.screen.query(Button))
        assert len(buttons) == 2
        assert all(b.region.y >= 0 and b.region.bottom <= 24 and b.region.height for b in buttons)
