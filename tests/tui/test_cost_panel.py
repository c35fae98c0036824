"""The cost panel ($ in the Data section): it counts the open dataset in a worker, shows the same
training tokens as the validation pane's billing, recomputes as the inputs change (a model of
another tokenizer family is counted again), says what is wrong with an input, and Escape closes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import events
from textual.widgets import Input, Label, Static

from ftui.tui.screens.cost import CostScreen, TokensCounted
from tests.tui.conftest import SIZE, Recorder, data_section, press, settle


def text_of(screen: CostScreen, id: str) -> str:
    return str(screen.query_one(f"#{id}", Static).render())


async def set_input(pilot: Any, screen: CostScreen, id: str, value: str) -> None:
    field = screen.query_one(f"#{id}", Input)
    field.value = value
    await settle(pilot)


async def burst(pilot: Any, *keys: str) -> None:
    """Post keys all at once, as a terminal delivers a fast typist's keys in one read."""
    app = pilot.app
    for key in keys:
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(app)
        app.post_message(event)
    await settle(pilot)


async def test_a_burst_of_backspaces_and_digits_keeps_its_order(
    app_factory: Any, demo_path: Path
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "$")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CostScreen)
        await burst(pilot, "tab", "end", "backspace", "tab", "end", "backspace")
        assert screen.query_one("#cost-model", Input).value.startswith("gpt-4o-mini")
        assert screen.query_one("#cost-compare", Input).value == ""
        field = screen.query_one("#cost-requests", Input)
        assert app.focused is field and field.value == "100"
        await burst(pilot, "0")

        await burst(pilot, "end", *["backspace"] * 4, "1", "2", "3", "4")
        assert field.value == "1234"
        assert "Requests     1,234 a day" in text_of(screen, "cost-result")
        await burst(pilot, "backspace", "backspace", "7", "7")
        assert field.value == "1277"
        await burst(pilot, "left", "left", "delete", "9", "home", "delete", "5")
        assert field.value == "5297"
        assert "Requests     5,297 a day" in text_of(screen, "cost-result")


async def test_an_emptied_number_asks_for_one_and_is_never_priced_as_zero(
    app_factory: Any, demo_path: Path
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "$")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CostScreen)
        note = screen.query_one("#cost-requests-note", Label)
        assert str(note.render()) == ""
        await set_input(pilot, screen, "cost-requests", "  ")
        assert str(note.render()) == "· give a number"
        assert "requests a day is empty: give a number" in text_of(screen, "cost-status")
        assert screen.query_one("#cost-status").has_class("dialog-error")
        assert text_of(screen, "cost-result") == ""
        await set_input(pilot, screen, "cost-saved", "")
        assert str(screen.query_one("#cost-saved-note", Label).render()) == "· give a number"
        await set_input(pilot, screen, "cost-requests", "0")
        assert str(note.render()) == ""
        assert "prompt tokens saved is empty" in text_of(screen, "cost-status")
        await set_input(pilot, screen, "cost-saved", "0")
        assert "Requests     0 a day" in text_of(screen, "cost-result")


async def test_the_panel_estimates_recomputes_and_closes(
    app_factory: Any, demo_path: Path, recorder: Recorder
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE, message_hook=recorder) as pilot:
        await settle(pilot)
        section = data_section(app)
        assert section.session is not None and section.session.report is not None
        billed = section.session.report.billing.billed_tokens

        await press(pilot, "$")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CostScreen)
        counted = recorder.of(TokensCounted)
        assert [event.key for event in counted] == [("o200k_base", None)]
        assert f"for {billed:,} tokens" in text_of(screen, "cost-result")
        assert "Break-even   never" in text_of(screen, "cost-result")
        assert "examples counted" in text_of(screen, "cost-status")
        status = screen.query_one("#cost-status")
        assert not status.has_class("dialog-error")  # news, not shown as a fault

        # A dearer model to compare with, of the same tokenizer: no second count.
        await set_input(pilot, screen, "cost-compare", "gpt-4o")
        await set_input(pilot, screen, "cost-saved", "30")
        result = text_of(screen, "cost-result")
        assert "gpt-4o (compared)" in result and "Break-even   day " in result
        assert len(recorder.of(TokensCounted)) == 1

        # gpt-3.5-turbo counts with cl100k_base: counted again, in a worker.
        await set_input(pilot, screen, "cost-model", "gpt-3.5-turbo")
        assert recorder.of(TokensCounted)[-1].key == ("cl100k_base", "o200k_base")
        assert "ft:gpt-3.5-turbo" in text_of(screen, "cost-result")

        await set_input(pilot, screen, "cost-saved", "100000")
        assert "cannot exceed the prompt itself" in text_of(screen, "cost-status")
        assert text_of(screen, "cost-result") == ""
        await set_input(pilot, screen, "cost-requests", "lots")
        assert "requests a day must be a number, not 'lots'" in text_of(screen, "cost-status")
        await set_input(pilot, screen, "cost-requests", "1000")
        await set_input(pilot, screen, "cost-model", "o4-mini")
        assert "no per-token training price" in text_of(screen, "cost-status")

        await press(pilot, "escape")
        await settle(pilot)
        assert not isinstance(app.screen, CostScreen)


async def test_the_panel_fits_a_small_terminal(app_factory: Any, demo_path: Path) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "$")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CostScreen)
        dialog = screen.query_one(".cost-dialog")
        assert dialog.region.right <= 80 and dialog.region.bottom <= 24
        # The keys stay in view under a table taller than the room left for it.
        hint = screen.query_one(".dialog-hint", Static)
        scroll = screen.query_one("#cost-scroll")
        assert "esc: close" in str(hint.render())
        assert dialog.content_region.contains_region(hint.region)
        assert scroll.region.bottom <= hint.region.y
        assert screen.query_one("#cost-result").region.height > scroll.region.height
        result = screen.query_one("#cost-result", Static)
        # No line of the table is wrapped: the result is as wide as its longest line.
        longest = max(len(line) for line in str(result.render()).splitlines())
        assert longest <= result.content_region.width
