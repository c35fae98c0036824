"""The live monitor under a flood: keypress latency, repaint rate and memory while a writer process
appends to a run's log as fast as it can.

    python bench/bench_monitor_flood.py [--lines 100000] [--metrics 10000] [--presses 50]
    python bench/bench_monitor_flood.py --against /path/to/other/checkout [--rounds 2]

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
every event once the writer was done. Per key, for both phases: presses, median, p95, worst, and
how many took over 100 ms.

`--against DIR` measures another checkout of ftui (its `ftui` package, this script) the same way:
the two run in turn, each in its own process, `--rounds` times, and the figures are printed side
by side with their ratio, so that a loaded machine weighs on both alike. `--code DIR` runs one
measurement against the checkout in DIR (what `--against` does for each round).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
SLOW_MS = 100.0  # a key press answered later than this is felt as lag

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
        f"worst {max(values):6.1f} ms · over {SLOW_MS:.0f} ms: {slow(values)}"
    )


def slow(values: list[float]) -> int:
    return sum(value > SLOW_MS for value in values)


Latencies = dict[str, list[float]]  # by key


def key_table(phases: dict[str, tuple[Latencies, Latencies]]) -> list[str]:
    """One row per key and phase: presses, median, p95, worst, how many took over 100 ms, and
    the UI thread's CPU time during the press (median, worst), which a loaded machine inflates
    less than the wall time."""
    rows = [
        f"    {'key':<7} {'phase':<6} {'presses':>7} {'median':>7} {'p95':>7} {'worst':>7} "
        f"{'>100ms':>6} {'cpu med':>8} {'cpu max':>8}"
    ]
    keys = sorted({key for wall, _ in phases.values() for key in wall})
    for key in keys:
        for phase, (wall, cpu) in phases.items():
            values, cpu_values = wall.get(key, []), cpu.get(key, [0.0])
            if not values:
                continue
            rows.append(
                f"    {key:<7} {phase:<6} {len(values):>7} {statistics.median(values):>7.1f} "
                f"{percentile(values, 0.95):>7.1f} {max(values):>7.1f} {slow(values):>6} "
                f"{statistics.median(cpu_values):>8.1f} {max(cpu_values):>8.1f}"
            )
    return rows


class KeyTimer:
    """Sends keys through the app's driver and waits for the page to have answered each."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.answered = asyncio.Event()
        self.by_key: Latencies = {}
        self.cpu_by_key: Latencies = {}  # the UI thread's CPU time during each press
        self.count = 0
        self._cpu_start = 0.0
        self._cpu = 0.0

    def answer(self) -> None:
        self._cpu = (time.thread_time() - self._cpu_start) * 1000
        self.answered.set()

    async def press(self, key: str, timeout: float = 10.0) -> float:
        from textual import events

        self.answered.clear()
        self._cpu_start = time.thread_time()  # the app runs on this thread (run_test)
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
            self.cpu_by_key.setdefault(key, []).append(self._cpu)
            latencies.append(latency)
            await asyncio.sleep(gap)
        return latencies


async def bench(args: argparse.Namespace) -> dict[str, Any]:
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
    freeze = _start_up_freeze()
    async with app.run_test(size=(160, 48)) as pilot:
        page = RunScreen(services, run.id)
        await app.push_screen(page)
        while page.monitor is None:
            await pilot.pause(0.05)
        await pilot.pause(0.5)
        freeze()
        page.query_one("#run-output").log_view.focus()  # type: ignore[attr-defined]
        await pilot.pause(0.2)
        quiet = await timer.presses(args.presses, args.gap)
        quiet_by_key, quiet_cpu_by_key = timer.by_key, timer.cpu_by_key
        rss_before = rss_mb()
        timer.by_key, timer.cpu_by_key = {}, {}  # from here on: the flood's
        repaints_before = page.repaints
        env = {**os.environ, "PYTHONPATH": str(args.code)}
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
            cwd=HERE,  # the writer is this checkout's, whichever ftui is measured
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
    load = os.getloadavg()
    result = {
        "code": str(args.code),
        "load": load,
        "quiet": quiet,
        "flood": flood,
        "quiet_by_key": quiet_by_key,
        "flood_by_key": timer.by_key,
        "quiet_cpu_by_key": quiet_cpu_by_key,
        "flood_cpu_by_key": timer.cpu_by_key,
        "written_s": written,
        "caught_up_s": caught_up,
        "repaints": repaints,
        "events_kept": shown,
        "peak_rss_mb": rss_mb(),
        "rss_growth_mb": rss_mb() - rss_before,
    }
    store.close()
    return result


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    quiet, flood = result["quiet"], result["flood"]
    load = result["load"]
    print(f"monitor under a flood: {args.lines:,} log lines + {args.metrics:,} metric events")
    print(f"  code: {result['code']}")
    print(
        f"  machine load (1, 5, 15 min): {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} "
        f"on {os.cpu_count()} cores"
    )
    print(f"  quiet log  ({len(quiet)} presses): {describe(quiet)}")
    print(f"  flood      ({len(flood)} presses): {describe(flood)}")
    print(
        f"  ratio flood/quiet: median {statistics.median(flood) / statistics.median(quiet):.2f}× · "
        f"p95 {percentile(flood, 0.95) / percentile(quiet, 0.95):.2f}× · "
        f"worst {max(flood) / max(quiet):.2f}×"
    )
    print("  by key (ms):")
    phases = {
        phase: (result[f"{phase}_by_key"], result[f"{phase}_cpu_by_key"])
        for phase in ("quiet", "flood")
    }
    for row in key_table(phases):
        print(row)
    caught_up = result["caught_up_s"]
    print(f"  writer done in {result['written_s']:.1f} s; page caught up after {caught_up:.1f} s")
    repaints = result["repaints"]
    print(f"  repaints: {repaints} in {caught_up:.1f} s = {repaints / caught_up:.1f} per second")
    print(
        f"  events log lines kept: {result['events_kept']:,}; "
        f"peak RSS {result['peak_rss_mb']:.0f} MB"
    )
    print(f"  (+{result['rss_growth_mb']:.0f} MB over the flood)")


def measure_in_process(code: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One measurement of the checkout in `code`, in a fresh process (its own imports)."""
    command = [
        sys.executable,
        __file__,
        "--code",
        str(code),
        "--json",
        *("--lines", str(args.lines), "--metrics", str(args.metrics)),
        *("--presses", str(args.presses), "--gap", str(args.gap)),
    ]
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def compare(args: argparse.Namespace) -> None:
    """This checkout and `--against`, in turn, `--rounds` times; figures side by side."""
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    for round_number in range(args.rounds):
        for code, results in ((HERE, ours), (args.against.resolve(), theirs)):
            result = measure_in_process(code, args)
            results.append(result)
            print(f"round {round_number + 1}, {code}: load {result['load'][0]:.2f}")
            report(result, args)
            print()

    def pooled(results: list[dict[str, Any]], name: str, key: str | None = None) -> list[float]:
        if key is None:
            return [value for result in results for value in result[name]]
        return [value for result in results for value in result[name].get(key, [])]

    print(f"this checkout ({HERE}) against {args.against}, {args.rounds} rounds pooled:")
    print(
        f"    {'':<13} {'median':>16} {'p95':>16} {'worst':>16} {'>100ms':>9} {'UI CPU worst':>16}"
    )
    for phase in ("quiet", "flood"):
        a, b = pooled(ours, phase), pooled(theirs, phase)
        print(
            f"    {phase:<13} {pair(a, b, statistics.median)} {pair(a, b, p95)} "
            f"{pair(a, b, max)} {slow(a):>4}/{slow(b):<4}"
        )
        keys = sorted({key for result in ours + theirs for key in result[f"{phase}_by_key"]})
        for key in keys:
            a, b = pooled(ours, f"{phase}_by_key", key), pooled(theirs, f"{phase}_by_key", key)
            cpu_a = pooled(ours, f"{phase}_cpu_by_key", key)
            cpu_b = pooled(theirs, f"{phase}_cpu_by_key", key)
            if a and b:
                print(
                    f"      {key:<11} {pair(a, b, statistics.median)} {pair(a, b, p95)} "
                    f"{pair(a, b, max)} {slow(a):>4}/{slow(b):<4} {pair(cpu_a, cpu_b, max)}"
                )
    print("    (each cell: this / against = ratio; ms)")


def p95(values: list[float]) -> float:
    return percentile(values, 0.95)


def pair(ours: list[float], theirs: list[float], figure) -> str:  # type: ignore[no-untyped-def]
    if not ours or not theirs:
        return f"{'-':>16}"
    a, b = figure(ours), figure(theirs)
    return f"{a:5.0f}/{b:<5.0f}={a / b if b else float('nan'):5.2f}"


def _start_up_freeze() -> Any:
    """What `ftui` does with the collector around its start (pause, then freeze the start-up
    heap once painted), for code that has it; a no-op for a checkout from before it."""
    try:
        from ftui.tui import collector
    except ImportError:
        return lambda: None
    if "freeze_after" not in collector.pause.__code__.co_varnames:
        return lambda: None
    collector.pause(freeze_after=True)
    return collector.resume


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--metrics", type=int, default=10_000)
    parser.add_argument("--presses", type=int, default=50)
    parser.add_argument("--gap", type=float, default=0.15, help="seconds between presses")
    parser.add_argument("--profile", action="store_true", help="profile the UI thread")
    parser.add_argument("--code", type=Path, default=HERE, help="the checkout whose ftui to run")
    parser.add_argument("--against", type=Path, help="another checkout to measure in turn")
    parser.add_argument("--rounds", type=int, default=2, help="turns each, with --against")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.against is not None:
        compare(args)
        return
    sys.path.insert(0, str(args.code.resolve()))
    result = asyncio.run(bench(args))
    if args.json:
        print(json.dumps(result))
    else:
        report(result, args)


if __name__ == "__main__":
    main()
