"""The streamed log panel, driven by Pilot in a tiny app: following, pausing, the ring's cap,
search, level colours, carriage-return collapsing, a real tailed file, and a flood."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App, ComposeResult
from textual.message import Message
from textual.pilot import Pilot
from textual.strip import Strip

from ftui.core.runs.log_lines import LogLine, split_output
from ftui.services.output_log import OutputTailer
from ftui.tui.keymap import collect_commands
from ftui.tui.widgets.log_view import LogPanel, LogView
from tests.tui.conftest import press

SIZE = (80, 24)


class Lines(Message):
    def __init__(self, lines: list[LogLine]) -> None:
        super().__init__()
        self.lines = lines


class LogApp(App[None]):
    def __init__(self, max_lines: int = 20_000) -> None:
        super().__init__()
        self.max_lines = max_lines

    def compose(self) -> ComposeResult:
        yield LogPanel(max_lines=self.max_lines, id="log")

    def on_mount(self) -> None:
        self.panel.log_view.focus()

    @property
    def panel(self) -> LogPanel:
        return self.query_one("#log", LogPanel)

    def on_lines(self, message: Lines) -> None:
        # What the run page does with the lines its tailing worker posts.
        self.panel.append(message.lines)


def numbered(count: int, start: int = 0, level: str = "info") -> list[LogLine]:
    return [LogLine(f"line {number}", level) for number in range(start, start + count)]  # type: ignore[arg-type]


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run (its 10 Hz repaint timer among it) until `condition` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        await pilot.pause(0.02)


async def next_tick(pilot: Pilot[Any], view: LogView) -> None:
    """Wait until the view has taken in what was appended (and its status bar has said so)."""
    await until(pilot, lambda: not view.repaint_pending)
    for _ in range(3):
        await pilot.pause(0)


def key_effect(view: LogView, key: str) -> Callable[[], bool]:
    """What the view looks like once `key` has been handled: a state no repaint tick can put it
    in by itself (a tick moves a paused view along with its lines and never follows or pauses),
    so a key still queued behind a tick is never taken for answered."""
    if key in ("end", "f"):
        return lambda: view.following and view.scroll_y == view.max_scroll_y
    if key in ("home", "g"):
        return lambda: not view.following and view.scroll_y == 0
    return lambda: not view.following  # a move up pauses a following view


async def answer_time(pilot: Pilot[Any], view: LogView, key: str) -> float:
    """Seconds from a key's press to its effect on the view, painted. Each key used changes the
    view from where the one before left it, so its effect cannot already be there."""
    handled = key_effect(view, key)
    before = (view.scroll_y, view.following)
    assert not handled(), f"{key!r} pressed where its effect already shows: {before}"
    started = time.perf_counter()
    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(pilot.app)
    pilot.app.post_message(event)
    while not handled():
        if time.perf_counter() - started > 5:
            raise AssertionError(f"{key!r} had no effect at {before}, {view.line_count} lines")
        await asyncio.sleep(0)  # let the app handle it (a pause would repaint each time)
    await pilot.pause(0)  # and the screen painted with it
    return time.perf_counter() - started


def shown(view: LogView) -> list[str]:
    """The text of each painted line of the view, top to bottom."""
    height = view.scrollable_content_region.height
    return [view.render_line(y).text.rstrip() for y in range(height)]


def status_text(app: LogApp) -> str:
    return str(app.panel.status_bar.render())


async def test_follows_new_lines_at_the_bottom() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        view = app.panel.log_view
        app.panel.append(numbered(100))
        await next_tick(pilot, view)
        assert view.following
        assert view.scroll_y == view.max_scroll_y > 0
        assert shown(view)[-1] == "line 99"
        app.panel.append(numbered(50, start=100))
        await next_tick(pilot, view)
        assert shown(view)[-1] == "line 149"
        assert "following · 150 lines" in status_text(app)


async def test_scrolling_up_pauses_and_counts_new_lines_and_end_or_f_resumes() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        view = app.panel.log_view
        app.panel.append(numbered(100))
        await next_tick(pilot, view)
        await press(pilot, "up")
        assert not view.following
        top = shown(view)[0]
        app.panel.append(numbered(1, start=100))
        await next_tick(pilot, view)
        assert "paused · 1 new line · End to follow" in status_text(app)
        app.panel.append(numbered(29, start=101))
        await next_tick(pilot, view)
        assert shown(view)[0] == top  # paused: the view stays on what was being read
        assert view.new_lines == 30
        assert "paused · 30 new lines · End to follow" in status_text(app)
        await press(pilot, "end")
        assert view.following and view.new_lines == 0
        assert shown(view)[-1] == "line 129"
        # The mouse wheel pauses too; `f` follows again.
        view.post_message(events.MouseScrollUp(view, 1, 1, 0, -1, 0, False, False, False))
        await until(pilot, lambda: not view.following)
        app.panel.append(numbered(5, start=130))
        await next_tick(pilot, view)
        assert shown(view)[-1] != "line 134"
        await press(pilot, "f")
        await next_tick(pilot, view)
        assert view.following and shown(view)[-1] == "line 134"
        assert "following · 135 lines" in status_text(app)
        # Scrolling back down to the bottom follows again, as being at the bottom means.
        await press(pilot, "pageup", "pagedown")
        assert view.following


async def test_the_ring_drops_the_oldest_lines_and_says_how_many() -> None:
    app = LogApp(max_lines=100)
    async with app.run_test(size=SIZE) as pilot:
        view = app.panel.log_view
        app.panel.append(numbered(250))
        await next_tick(pilot, view)
        assert view.line_count == 100 and view.dropped == 150
        assert view.line(0).text == "line 150"
        assert len(view._ring) == 100
        await press(pilot, "home")
        assert shown(view)[0] == "line 150"
        assert "150 older dropped" in status_text(app)
        # Paused in the middle while more is dropped: the lines on screen stay put.
        await press(pilot, "pagedown")
        top = shown(view)[0]
        app.panel.append(numbered(10, start=250))
        await next_tick(pilot, view)
        assert shown(view)[0] == top
        # One batch bigger than the ring keeps its newest lines only.
        app.panel.append(numbered(1_000, start=260))
        await press(pilot, "end")
        await next_tick(pilot, view)
        assert view.line(0).text == "line 1160" and shown(view)[-1] == "line 1259"
        app.panel.clear()
        await next_tick(pilot, view)
        assert view.line_count == 0 and shown(view)[0] == ""


async def test_search_next_previous_and_highlight() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        view = app.panel.log_view
        lines = numbered(300)
        for number in (10, 150, 290):
            lines[number] = LogLine(f"step {number}: loss is NaN")
        app.panel.append(lines)
        await next_tick(pilot, view)
        await press(pilot, "slash")
        assert app.panel.search_input.has_focus
        await press(pilot, *"nan", "enter")  # "n" typed into the field is not "next match"
        assert view.search_pattern == "nan" and view.match_count == 3
        # Following, the search starts at the newest match.
        assert view.current_match == 290
        assert view.has_focus
        await next_tick(pilot, view)
        assert "search 'nan': 3/3" in status_text(app)
        await press(pilot, "n")  # past the last: round to the first
        assert view.current_match == 10
        assert not view.following
        row = 10 - round(view.scroll_y)
        strip = view.render_line(row)
        assert "step 10: loss is NaN" in strip.text
        await press(pilot, "n")
        assert view.current_match == 150
        await press(pilot, "N", "N")
        assert view.current_match == 290
        await pilot.pause(0.15)
        assert "search 'nan': 3/3" in status_text(app)
        # The current match's text is painted in the current-match style, the others in the
        # match style, the rest of the line in the line's own.
        current = view.get_component_rich_style("log-view--match-current")
        other = view.get_component_rich_style("log-view--match")
        strip = view.render_line(290 - round(view.scroll_y))
        marked = [segment for segment in strip if segment.text == "NaN"]
        assert marked and marked[0].style is not None
        assert marked[0].style.bgcolor == current.bgcolor
        await press(pilot, "N")
        strip = view.render_line(290 - round(view.scroll_y))
        marked = [segment for segment in strip if segment.text == "NaN"]
        assert marked[0].style is not None and marked[0].style.bgcolor == other.bgcolor
        # New lines that match are found as they arrive.
        app.panel.append([LogLine("nan again")])
        await next_tick(pilot, view)
        assert view.match_count == 4
        # Escape closes the field without searching; the search stays.
        await press(pilot, "slash", "x", "escape")
        assert not app.panel.has_class("-searching") and view.search_pattern == "nan"
        assert view.search("nothing like it") == 0
        await pilot.pause(0)
        assert "search 'nothing like it': none" in status_text(app)
        assert view.search("") == 0 and view.search_pattern == ""


def _colour_of(strip: Strip) -> Any:
    styled = [segment.style for segment in strip if segment.text.strip() and segment.style]
    assert styled
    return styled[0].color


async def test_levels_are_painted_in_their_component_styles() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        view = app.panel.log_view
        app.panel.append(
            [
                LogLine("plain", "info"),
                LogLine("RuntimeError: boom", "error"),
                LogLine("UserWarning: careful", "warning"),
                LogLine("DEBUG details", "debug"),
            ]
        )
        await next_tick(pilot, view)
        strips = {line.level: view.render_line(row) for row, line in enumerate(view.lines)}
        for level in ("error", "warning", "debug"):
            expected = view.get_component_rich_style(f"log-view--{level}").color
            assert expected is not None
            assert _colour_of(strips[level]) == expected
        colours = {level: _colour_of(strip) for level, strip in strips.items()}
        assert len(set(colours.values())) == 4  # each level looks different
        first = next(iter(strips["error"]))
        assert first.style is not None and first.style.bold


async def test_long_lines_are_cut_and_scroll_sideways() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        view = app.panel.log_view
        app.panel.append([LogLine("x" * 200 + "END")])
        await next_tick(pilot, view)
        width = view.scrollable_content_region.width
        assert view.render_line(0).cell_length == width
        assert "END" not in view.render_line(0).text
        for _ in range(30):
            await press(pilot, "right")
        assert view.render_line(0).text.rstrip().endswith("END")
        await press(pilot, "left")
        assert view.render_line(0).text.startswith("x")


async def test_carriage_return_rewrites_show_as_their_last_state() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        view = app.panel.log_view
        pending = ""
        for chunk in ["loading\n\r  0%|", "     |\r 50%|##   |", "\r100%|#####|", "\n", "ok\n"]:
            lines, pending = split_output(chunk, pending)
            app.panel.append(lines)
        await next_tick(pilot, view)
        assert [line.text for line in view.lines] == ["loading", "100%|#####|", "ok"]


async def test_a_tailed_file_written_by_a_real_process_and_truncated(tmp_path: Path) -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        view = app.panel.log_view
        path = tmp_path / "train.log"
        script = textwrap.dedent(
            """
            import sys
            with open(sys.argv[1], "w") as out:
                for step in range(2000):
                    out.write(f"step {step}\\r{step}%\\n" if step % 100 == 0 else f"step {step}\\n")
                out.write("Traceback (most recent call last):\\n")
            """
        )
        subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)
        tailer = OutputTailer(path)
        while True:  # what the run page's worker does, in slices
            app.panel.append(tailer.read_available(max_bytes=4096))
            if tailer.at_end:
                break
        await next_tick(pilot, view)
        assert view.line_count == 2001
        assert view.line(100).text == "100%"
        assert view.line(2000).level == "error"
        path.write_text("a new run\n")
        app.panel.append(tailer.read_available())
        await next_tick(pilot, view)
        assert tailer.restarts == 1 and shown(view)[-1] == "a new run"
        tailer.close()


async def test_a_thousand_appends_between_two_ticks_cost_one_repaint() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        view = app.panel.log_view
        await pilot.pause(0.15)
        before = view.repaints
        for number in range(1_000):
            view.append([LogLine(f"line {number}")])
        assert view.repaint_pending and view.repaints == before
        await next_tick(pilot, view)
        assert view.repaints == before + 1
        assert shown(view)[-1] == "line 999"
        await pilot.pause(0.35)  # nothing new: no more repaints
        assert view.repaints == before + 1


async def test_keys_are_declared_as_commands() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0)
        labels = {entry.label for entry in collect_commands(app.screen)}
        assert {"Follow", "Search", "Next match", "Previous match"} <= labels


async def test_flood_keys_answer_fast_repaints_stay_near_ten_a_second_memory_bounded() -> None:
    app = LogApp()
    total, batch_size = 100_000, 500
    async with app.run_test(size=SIZE) as pilot:
        view = app.panel.log_view
        await pilot.pause(0.15)
        repaints_before = view.repaints
        done = threading.Event()
        batches = [numbered(batch_size, start) for start in range(0, total, batch_size)]

        def flood() -> None:
            # A tailing worker on its thread, as fast as it can go (a batch per millisecond).
            for batch in batches:
                app.post_message(Lines(batch))
                time.sleep(0.001)
            done.set()

        started = time.perf_counter()
        thread = threading.Thread(target=flood, daemon=True)
        thread.start()
        await until(pilot, lambda: view.max_scroll_y > 0)  # a page to scroll up from
        latencies: list[float] = []
        # Away from the bottom, then back: each key changes the view wherever the flood (which
        # drops the lines a paused view was on) left it.
        keys = ["pageup", "end", "k", "f", "home", "end", "up", "f", "g", "end"]
        number = 0
        while not done.is_set() or number < 20:
            key = keys[number % len(keys)]
            number += 1
            latencies.append(await answer_time(pilot, view, key))
            await asyncio.sleep(0.03)
        thread.join(timeout=30)
        await until(pilot, lambda: view._total == total, timeout=30)
        elapsed = time.perf_counter() - started
        repaints = view.repaints - repaints_before
        await press(pilot, "end")
        await pilot.pause(0.15)
        figures = (
            f"keys: median {statistics.median(latencies) * 1000:.1f} ms, slowest "
            f"{max(latencies) * 1000:.1f} ms; {repaints} repaints in {elapsed:.2f} s"
        )
        # Under 100 ms, as the monitor promises; the slowest is allowed a scheduler hiccup (the
        # CI machine runs other suites beside this one), not a repaint that blocks the loop.
        assert statistics.quantiles(latencies, n=10)[-1] < 0.1, figures
        assert statistics.median(latencies) < 0.05, figures
        assert max(latencies) < 0.3, figures
        rate = repaints / elapsed
        assert 4 <= rate <= 12, figures
        assert repaints < total // batch_size  # batched: fewer repaints than appends
        # Bounded: the ring holds max_lines, the strip cache its size, whatever came in.
        assert view.line_count == 20_000 and len(view._ring) == 20_000
        assert view.dropped == total - 20_000
        assert len(view._strips) <= view.STRIP_CACHE_SIZE
        assert shown(view)[-1] == f"line {total - 1}"
