"""Drawing the run page's metric chart under a live run: 5 series of 10,000 points each.

    python bench/bench_chart.py [--points 10000] [--series 5] [--size 120x30] [--repeat 15]

Measured in a headless app, each figure the best and the median of `--repeat` tries, in ms:
- cold: `set_series` with nothing cached (every series smoothed from its first point), then the
  plotext build that the next paint runs (`render`);
- live: 100 new points appended to each series, `set_series` with the grown series (the run page's
  way), then the build;
- zoomed: the same with `zoom_last(200)`.
Target: cold set_series + build well under 50 ms on the 2-core dev machine.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import time
from collections.abc import Callable

from textual.app import App, ComposeResult

from ftui.tui.widgets.loss_chart import LossChart


class ChartApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LossChart()


def make_series(points: int, count: int) -> dict[str, list[tuple[int, float]]]:
    rng = random.Random(7)
    return {
        f"metric_{k}": [
            (step, k + 3 * math.exp(-step / (points / 3)) + rng.random() * 0.3)
            for step in range(points)
        ]
        for k in range(count)
    }


def timed(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times)


async def main(points: int, count: int, width: int, height: int, repeat: int) -> None:
    app = ChartApp()
    async with app.run_test(size=(width, height)) as pilot:
        await pilot.pause()
        chart = app.query_one(LossChart)
        series = make_series(points, count)

        def cold() -> None:
            chart.set_series({})
            chart.set_series(series, title="loss")

        def build() -> None:
            chart.plt.build()

        state = {"step": points}

        def live() -> None:
            step = state["step"]
            for values in series.values():
                values.extend((s, 1.0 + random.random()) for s in range(step, step + 100))
            state["step"] = step + 100
            chart.set_series(series, title="loss")

        rows = [("cold set_series", timed(cold, repeat)), ("build (paint)", timed(build, repeat))]
        rows.append(("live set_series", timed(live, repeat)))
        rows.append(("build (paint)", timed(build, repeat)))
        chart.zoom_last(200)
        rows.append(("zoomed set_series", timed(live, repeat)))
        rows.append(("build (paint)", timed(build, repeat)))
        print(
            f"{count} series x {points:,} points, chart {width}x{height}, best / median of {repeat}"
        )
        for name, (best, median) in rows:
            print(f"  {name:<18} {best:6.1f} ms / {median:6.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--series", type=int, default=5)
    parser.add_argument("--size", default="120x30")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    asyncio.run(main(args.points, args.series, width, height, args.repeat))
