"""The live monitor under a flood: keypress latency, repaint rate and memory while a writer process
appends to a run's log as fast as it can.

    python bench/bench_monitor_flood.py [--lines 100000] [--metrics 10000] [--presses 60]

A run's page is opened (the real app screen, headless) on a running run; then, in the same run of
this script:

- baseline: keys are pressed while the log is quiet;
- flood: a separate writer process appends `--lines` log events and `--metrics` metric events to
  the run's events.jsonl (and as many lines to its train.log) as fast as it can, while the same
  keys are pressed.

A keypress's latency is the time from the key reaching the app (sent through its driver, as a
terminal's would be) to the screen having handled it and painted the result (the first refresh
after the page's action ran). Prints medians, p95 and the
worst of each phase and their ratio, the page's repaints per second during the flood (the
monitor's batches), the process's peak RSS growth, and how long the page took to have shown
every event once the writer was done.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# What a person watching does: scroll the log back and follow it again, smooth and zoom the chart,
# switch metrics, switch logs and back, hide the details and bring them back.
KEYS = ("up", "s", "pageup", "z", "end", "m", "l", "l", "i", "i")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def describe(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):6.1f} ms · p95 {percentile(values, 0.95):6.1f} ms · "
        f"worst {max(values):6.1f} ms"
    )


class KeyTimer:
    """Sends keys through the app's driver and waits for the page to have answered each."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.answered = asyncio.Event()
        self.by_key: dict[str, list[float]] = {}
        self.count = 0

    def answer(self) -> None:
        self.answered.set()

    async def press(self, key: str, timeout: float = 10.0) -> float:
        from textual import events

        self.answered.clear()
        start = time.perf_counter()
        event = events.Key(key, key)
        event.set_sender(self.app)
        self.app._driver.send_message(event)
        await asyncio.wait_for(self.answered.wait(), timeout)
        return (time.perf_counter() - start) * 1000

    async def presses(self, count: int, gap: float) -> list[float]:
        latencies = []
        for _ in range(count):
            key = KEYS[self.count % len(KEYS)]
            self.count += 1
            latency = await self.press(key)
            self.by_key.setdefault(key, []).append(latency)
            latencies.append(latency)
            await asyncio.sleep(gap)
        return latencies


async def bench(args: argparse.Namespace) -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    from ftui.config import Config
    from ftui.core.runs.events import EventWriter
    from ftui.services.launcher import LOG_FILE
    from ftui.services.root import Services
    from ftui.services.store import RunStore
    from ftui.tui import stylesheet
    from ftui.tui.screens.run_page import RunScreen

    root = Path(tempfile.mkdtemp(prefix="ftui-bench-flood-"))
    store = RunStore(root / "ftui.db", root / "runs")
    run = store.create_run(backend="local", base_model="tiny-llama", config={"epochs": 1})
    with EventWriter(run.events_path) as writer:
        writer.status("running")
        for step in range(1, 51):
            writer.metric(step, {"train_loss": 2.5 - step / 100}, max_steps=args.metrics)
    store.ingest_events(run.id)
    output_path = run.run_dir / LOG_FILE
    output_path.write_text("trainer starting\n")

    class FloodApp(App[None]):
        CSS_PATH = stylesheet.APP_CSS
        HORIZONTAL_BREAKPOINTS = stylesheet.HORIZONTAL_BREAKPOINTS
        VERTICAL_BREAKPOINTS = stylesheet.VERTICAL_BREAKPOINTS

        timer: KeyTimer

        def compose(self) -> ComposeResult:
            yield Static("")

        async def run_action(self, action, default_namespace=None):  # type: ignore[no-untyped-def]
            # A key's binding runs here: once its action ran, the next refresh paints it.
            result = await super().run_action(action, default_namespace)
            self.call_after_refresh(self.timer.answer)
            return result

    app = FloodApp()
    services = Services(Config(home=root), store=store)
    timer = app.timer = KeyTimer(app)
    async with app.run_test(size=(160, 48)) as pilot:
        page = RunScreen(services, run.id)
        await app.push_screen(page)
        while page.monitor is None:
            await pilot.pause(0.05)
        await pilot.pause(0.5)
        page.query_one("#run-output").log_view.focus()  # type: ignore[attr-defined]
        await pilot.pause(0.2)
        quiet = await timer.presses(args.presses, args.gap)
        rss_before = rss_mb()
        timer.by_key = {}  # from here on: the flood's
        repaints_before = page.repaints
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        started = time.perf_counter()
        writer = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.flood_writer",
                str(run.events_path),
                str(output_path),
                str(args.lines),
                str(args.metrics),
            ],
            env=env,
            cwd=Path(__file__).resolve().parents[1],
        )
        flood: list[float] = []
        profile = None
        if args.profile:
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        while writer.poll() is None:
            flood.extend(await timer.presses(1, args.gap))
        written = time.perf_counter() - started
        # On until the page has shown every metric the writer wrote.
        while page.data is None or len(page.data.series.get("train_loss", [])) < 50 + args.metrics:
            flood.extend(await timer.presses(1, args.gap))
            if time.perf_counter() - started > 600:
                break
        caught_up = time.perf_counter() - started
        if profile is not None:
            import pstats

            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        repaints = page.repaints - repaints_before
        shown = page.query_one("#run-events").log_view.line_count  # type: ignore[attr-defined]
    load = os.getloadavg()[0]
    print(f"monitor under a flood: {args.lines:,} log lines + {args.metrics:,} metric events")
    print(f"  machine load (1 min): {load:.2f} on {os.cpu_count()} cores")
    print(f"  quiet log  ({len(quiet)} presses): {describe(quiet)}")
    print(f"  flood      ({len(flood)} presses): {describe(flood)}")
    print(
        f"  ratio flood/quiet: median {statistics.median(flood) / statistics.median(quiet):.2f}× · "
        f"p95 {percentile(flood, 0.95) / percentile(quiet, 0.95):.2f}×"
    )
    per_key = ", ".join(
        f"{key} {statistics.median(values):.0f}/{percentile(values, 0.95):.0f}"
        for key, values in sorted(timer.by_key.items())
    )
    print(f"  under the flood, by key (median/p95 ms): {per_key}")
    print(f"  presses over 100 ms under the flood: {sum(v > 100 for v in flood)} of {len(flood)}")
    print(f"  writer done in {written:.1f} s; page caught up after {caught_up:.1f} s")
    print(f"  repaints: {repaints} in {caught_up:.1f} s = {repaints / caught_up:.1f} per second")
    print(f"  events log lines kept: {shown:,}; peak RSS {rss_mb():.0f} MB")
    print(f"  (+{rss_mb() - rss_before:.0f} MB over the flood)")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--metrics", type=int, default=10_000)
    parser.add_argument("--presses", type=int, default=50)
    parser.add_argument("--gap", type=float, default=0.15, help="seconds between presses")
    parser.add_argument("--profile", action="store_true", help="profile the UI thread")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
