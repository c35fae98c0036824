"""The log panel under a flood, beside Textual's own `Log` fed the same lines.

    python bench/bench_log_view.py [--lines 100000] [--batch 500] [--rounds 3]

For each widget, in a headless app (80x24): how fast `append` (`write_lines` for `Log`) takes
lines in, and, while a thread posts the flood batch after batch as fast as it can (the way a
tailing worker does), how long a keypress takes to be handled and painted, and how often the view
repaints. Prints medians over the rounds and the ratios LogView / Log.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from dataclasses import dataclass, field

from textual import events
from textual.app import App, ComposeResult
from textual.message import Message
from textual.widgets import Log

from ftui.core.runs.log_lines import LogLine, classify
from ftui.tui.widgets.log_view import LogPanel, LogView

SIZE = (80, 24)
MAX_LINES = 20_000
# Away from the bottom, back to it: each key changes where the view is (and whether it is at the
# bottom) wherever the flood left it, so its effect can be waited for.
KEYS = ["pageup", "end", "up", "end", "home", "end"]


def make_lines(count: int) -> list[LogLine]:
    texts = [
        f"{{'loss': {2.5 - number * 1e-5:.4f}, 'grad_norm': 1.03, 'epoch': {number / 1e4:.3f}}}"
        if number % 7
        else f" {number % 100:3d}%|{'#' * (number % 10):<10}| {number}/100000 [00:12<00:30]"
        for number in range(count)
    ]
    return [LogLine(text, classify(text)) for text in texts]


class Batch(Message):
    def __init__(self, lines: list[LogLine], texts: list[str]) -> None:
        super().__init__()
        self.lines = lines
        self.texts = texts


class BenchApp(App[None]):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.received = 0

    def compose(self) -> ComposeResult:
        if self.kind == "LogView":
            yield LogPanel(max_lines=MAX_LINES, id="log")
        else:
            yield Log(max_lines=MAX_LINES, id="log")

    def on_mount(self) -> None:
        self.view.focus()

    @property
    def view(self) -> LogView | Log:
        if self.kind == "LogView":
            return self.query_one(LogPanel).log_view
        return self.query_one(Log)

    def take(self, lines: list[LogLine], texts: list[str]) -> None:
        view = self.view
        if isinstance(view, LogView):
            view.append(lines)
        else:
            view.write_lines(texts)
        self.received += len(lines)

    def on_batch(self, message: Batch) -> None:
        self.take(message.lines, message.texts)


@dataclass
class Result:
    append_rate: float = 0.0  # lines per second taken in by append / write_lines
    key_ms: list[float] = field(default_factory=list)
    keys_without_effect: int = 0
    flood_s: float = 0.0  # from the first batch posted to the last taken in
    repaints_per_s: float | None = None


def _position(view: LogView | Log) -> tuple[float, bool]:
    following = view.following if isinstance(view, LogView) else view.is_vertical_scroll_end
    return (view.scroll_y, following)


async def _key(app: BenchApp, key: str) -> float | None:
    """Seconds from posting a key to its effect on the view, painted (None: no effect in 2 s)."""
    view = app.view
    before = _position(view)
    started = time.perf_counter()
    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)
    app.post_message(event)
    while _position(view) == before:
        if time.perf_counter() - started > 2:
            return None
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    app.screen._on_timer_update()  # paint now, as a pilot pause does
    return time.perf_counter() - started


async def one_round(kind: str, lines: list[LogLine], batch: int) -> Result:
    result = Result()
    texts = [line.text for line in lines]
    batches = [(lines[i : i + batch], texts[i : i + batch]) for i in range(0, len(lines), batch)]
    # Append throughput, in a running app (nothing painted in between: the cost of taking in).
    app = BenchApp(kind)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        started = time.perf_counter()
        for part, part_texts in batches:
            app.take(part, part_texts)
        result.append_rate = len(lines) / (time.perf_counter() - started)
    # The flood, with keys pressed while it pours in.
    app = BenchApp(kind)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        view = app.view
        repaints_before = view.repaints if isinstance(view, LogView) else 0
        done = threading.Event()

        def flood() -> None:
            for part, part_texts in batches:
                app.post_message(Batch(part, part_texts))
                time.sleep(0.001)
            done.set()

        started = time.perf_counter()
        thread = threading.Thread(target=flood, daemon=True)
        thread.start()
        keys, number = KEYS, 0
        while not done.is_set() or app.received < len(lines):
            seconds = await _key(app, keys[number % len(keys)])
            if seconds is None:
                result.keys_without_effect += 1
            else:
                result.key_ms.append(seconds * 1000)
            number += 1
            await asyncio.sleep(0.03)
        result.flood_s = time.perf_counter() - started
        thread.join()
        if isinstance(view, LogView):
            result.repaints_per_s = (view.repaints - repaints_before) / result.flood_s
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    lines = make_lines(args.lines)
    results: dict[str, list[Result]] = {"LogView": [], "Log": []}
    for _ in range(args.rounds):
        for kind in results:  # interleaved, so that a busy moment hits both
            results[kind].append(asyncio.run(one_round(kind, lines, args.batch)))
    print(
        f"{args.lines:,} lines in batches of {args.batch}, {args.rounds} rounds, "
        f"{SIZE[0]}x{SIZE[1]}"
    )
    summary: dict[str, dict[str, float]] = {}
    for kind, rounds in results.items():
        keys = [ms for result in rounds for ms in result.key_ms]
        summary[kind] = {
            "append": statistics.median(result.append_rate for result in rounds),
            "key_median": statistics.median(keys),
            "key_p90": statistics.quantiles(keys, n=10)[-1],
            "key_max": max(keys),
            "flood": statistics.median(result.flood_s for result in rounds),
        }
        row = summary[kind]
        line = (
            f"{kind:8s} append {row['append']:>12,.0f} lines/s   keys (n={len(keys)}) median "
            f"{row['key_median']:6.1f} ms  p90 {row['key_p90']:6.1f} ms  "
            f"max {row['key_max']:6.1f} ms"
            f"   flood taken in {row['flood']:.2f} s"
        )
        missed = sum(result.keys_without_effect for result in rounds)
        if missed:
            line += f"   {missed} keys without effect in 2 s"
        repaints = [r.repaints_per_s for r in rounds if r.repaints_per_s is not None]
        if repaints:
            line += f"   repaints {statistics.median(repaints):.1f}/s"
        print(line)
    ours, theirs = summary["LogView"], summary["Log"]
    print(
        f"ratios LogView/Log: append {ours['append'] / theirs['append']:.2f}x faster, "
        f"key median {ours['key_median'] / theirs['key_median']:.2f}x, "
        f"key p90 {ours['key_p90'] / theirs['key_p90']:.2f}x, "
        f"flood time {ours['flood'] / theirs['flood']:.2f}x"
    )


if __name__ == "__main__":
    main()
