"""Cold start of the workbench against a bare Textual "hello" app, measured in the same run.

Each sample is a fresh Python process that builds the app and runs it headless; the figure is
the time from spawning the process to its first painted frame (interpreter start, imports,
compose, first paint), so both sides pay the same fixed costs. Runs are interleaved and the
medians compared:

    python bench/bench_startup.py [--runs 15] [--against CHECKOUT]

`--against` times the same ftui cases from another checkout too (say, the commit before a change,
from `git worktree add`), interleaved with the rest, and prints this checkout's medians over its;
it may be given more than once.

Targets: ftui's first screen within 1.5x the hello app's time, and no worse than `--against`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELLO_CASE = "bare Textual hello app (baseline)"
NO_DATASET = "ftui, no dataset"
ON_DATASET = "ftui on the demo dataset"
FIRST_ROWS = "ftui, until the first rows show"

# Each child gets the parent's clock reading taken just before it was spawned, and writes how long
# after that its first frame was painted (straight to fd 1: Textual captures print()).
REPORT = """
import os, sys, time
T0 = float(sys.argv[1])

def report(app):
    os.write(1, f"{time.time() - T0:.6f}\\n".encode())
    app.exit()
"""

HELLO = (
    REPORT
    + """
from textual.app import App
from textual.widgets import Static

class Hello(App):
    def compose(self):
        yield Static("hello")

async def first_frame(pilot):
    pilot.app.call_after_refresh(report, pilot.app)

Hello().run(headless=True, auto_pilot=first_frame)
"""
)

FTUI = (
    REPORT
    + """
from pathlib import Path
from ftui.config import Config
from ftui.tui.app import make_app

home, dataset = Path(sys.argv[2]), (Path(sys.argv[3]) if len(sys.argv) > 3 else None)

async def first_frame(pilot):
    pilot.app.call_after_refresh(report, pilot.app)

make_app(Config(home=home), dataset).run(headless=True, auto_pilot=first_frame)
"""
)

# Until the first rows of the dataset are painted. Polled with asyncio.sleep: each Pilot.pause
# also waits on every widget's queue and repaints the whole screen, which delays what it polls.
FTUI_ROWS = (
    REPORT
    + """
import asyncio
from pathlib import Path
from ftui.config import Config
from ftui.tui.app import make_app
from ftui.tui.widgets.example_list import ExampleList

home, dataset = Path(sys.argv[2]), Path(sys.argv[3])

async def first_rows(pilot):
    app = pilot.app
    while not app.screen.query(ExampleList) or not app.screen.query_one(ExampleList).row_count:
        await asyncio.sleep(0.005)
    app.call_after_refresh(report, app)

make_app(Config(home=home), dataset).run(headless=True, auto_pilot=first_rows)
"""
)


def child_env(pycache: Path, tree: Path) -> dict[str, str]:
    """As an installed app runs: bytecode cached (in a private folder, not the source tree),
    and the ftui of `tree` imported."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["PYTHONPATH"] = str(tree)
    return env


def timed(env: dict[str, str], code: str, *args: str) -> float:
    """Seconds from spawning the child to its first frame (its exit is not counted).

    Not run in a checkout: `python -c` puts the working directory first on sys.path, ahead of
    PYTHONPATH, and would import that checkout's ftui whatever the series."""
    command = [sys.executable, "-c", code, str(time.time()), *args]
    done = subprocess.run(
        command,
        check=True,
        capture_output=True,
        env=env,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    return float(done.stdout.split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--against",
        type=Path,
        action="append",
        default=[],
        help="another checkout of ftui to time too (may be given more than once)",
    )
    args = parser.parse_args()

    from ftui.core.dataset.demo import create_demo_workspace

    trees = {"": ROOT}
    for other in args.against:
        trees[f" [{other.name}]"] = other.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        dataset = create_demo_workspace(Path(tmp) / "ws")
        pycache = Path(tmp) / "pycache"
        cases: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
            HELLO_CASE: (child_env(pycache, ROOT), (HELLO,))
        }
        for suffix, tree in trees.items():
            env = child_env(pycache, tree)
            cases[NO_DATASET + suffix] = (env, (FTUI, str(home)))
            cases[ON_DATASET + suffix] = (env, (FTUI, str(home), str(dataset)))
            cases[FIRST_ROWS + suffix] = (env, (FTUI_ROWS, str(home), str(dataset)))
        for env, code_and_args in cases.values():  # warm the OS file cache and .pyc files once
            timed(env, *code_and_args)
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, (env, code_and_args) in cases.items():
                samples[name].append(timed(env, *code_and_args))

    medians = {name: statistics.median(values) for name, values in samples.items()}
    baseline = medians[HELLO_CASE]
    width = max(len(name) for name in cases) + 1
    print(f"Cold start: process spawn to first frame, {args.runs} interleaved runs each")
    print(f"{'case':<{width}} {'median':>9} {'min':>9} {'max':>9} {'vs hello':>9}")
    for name, values in samples.items():
        print(
            f"{name:<{width}} {medians[name] * 1000:>7.0f}ms {min(values) * 1000:>7.0f}ms "
            f"{max(values) * 1000:>7.0f}ms {medians[name] / baseline:>8.2f}x"
        )
    ratio = medians[ON_DATASET] / baseline
    verdict = "within" if ratio <= 1.5 else "OVER"
    print(f"ftui on a dataset: {ratio:.2f}x the hello app ({verdict} the 1.5x target)")
    for suffix in list(trees)[1:]:
        for case in (NO_DATASET, ON_DATASET, FIRST_ROWS):
            ratio = medians[case] / medians[case + suffix]
            verdict = "no worse" if ratio <= 1.0 else "WORSE"
            print(f"{case}: {ratio:.2f}x{suffix} ({verdict} than it; target ≤ 1.00x)")
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
