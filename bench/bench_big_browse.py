"""Browsing a 1 GB, 1,000,000-example dataset in the workbench, against the same app on a
1,000-example file and against one plain read of the big file, all measured in the same run.

    python bench/bench_big_browse.py [--examples 1000000] [--keys 25]

The big file is generated once under /tmp (bench/make_big_dataset.py when it is there, else a
built-in generator of the same shape) and reused. Each file is browsed in a fresh process running
the real app headless: time from launch to the first painted rows, then keypresses (End, Home,
PageDown, Down, Up), each timed from the key to the repainted screen, first while the file is
still being indexed and again after; then the peak memory. Targets: first rows within 1 s, every
keypress under 100 ms, memory bounded (not growing with what was scrolled past).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(tempfile.gettempdir()) / "ftui-bench"
WORDS = [
    "note",
    "vault",
    "sync",
    "server",
    "backup",
    "restore",
    "tag",
    "search",
    "export",
    "import",
    "markdown",
    "folder",
    "share",
    "version",
    "history",
    "plugin",
    "theme",
    "desktop",
    "mobile",
    "offline",
    "conflict",
    "password",
    "admin",
    "user",
    "team",
    "template",
    "reminder",
    "calendar",
    "attachment",
    "image",
    "table",
    "link",
    "graph",
    "archive",
    "trash",
    "encryption",
    "docker",
    "port",
    "proxy",
    "nginx",
    "upgrade",
    "database",
    "index",
    "cache",
    "memory",
    "disk",
    "network",
    "token",
    "api",
]


def generate(path: Path, examples: int, seed: int = 7) -> None:
    """OpenAI chat JSONL of about 1 KB per example, every example different."""
    maker = BENCH_DIR / "make_big_dataset.py"
    shared = Path(__file__).with_name("make_big_dataset.py")
    if shared.is_file() and maker != shared:
        spec = importlib.util.spec_from_file_location("make_big_dataset", shared)
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            make = getattr(module, "make_big_dataset", None)
            if callable(make):
                try:
                    make(path, examples=examples)
                    return
                except TypeError:
                    pass  # another signature: fall back to ours
    rng = random.Random(seed)
    system = "You are the support assistant for Inkwell, a self-hosted note-taking app."
    tmp = path.with_suffix(".partial")
    with open(tmp, "w", encoding="utf-8") as out:
        for i in range(examples):
            question = " ".join(rng.choices(WORDS, k=rng.randint(8, 30)))
            answer = " ".join(rng.choices(WORDS, k=rng.randint(60, 150)))
            messages = [
                {"role": "system", "content": system},
                {"role": "user", "content": f"Question {i}: {question}?"},
                {"role": "assistant", "content": answer.capitalize() + "."},
            ]
            if i % 4 == 0:
                messages.append({"role": "user", "content": "And " + question[:60] + "?"})
                messages.append({"role": "assistant", "content": answer[:300] + "."})
            out.write(json.dumps({"messages": messages}) + "\n")
    tmp.replace(path)


def dataset(examples: int) -> Path:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"chat_{examples}.jsonl"
    if not path.is_file():
        started = time.perf_counter()
        print(f"generating {path} ({examples:,} examples)…", file=sys.stderr)
        generate(path, examples)
        print(f"  done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


CHILD = r"""
import asyncio, json, os, resource, statistics, sys, time
from pathlib import Path

LAUNCH = time.perf_counter()
from textual import events
from ftui.config import Config
from ftui.tui.app import make_app
from ftui.tui.sections.data.files import DatasetFiles
from ftui.tui.sections.data.section import DataSection
from ftui.tui.widgets.example_list import ExampleList

# When the dataset starts opening (the app's first frame is painted just before), and when
# the whole file is indexed.
OPENED, INDEXED = [], []
start_open, indexing_done = DataSection.start_open, DatasetFiles.indexing_done
def _start_open(self, path):
    OPENED.append(time.perf_counter())
    start_open(self, path)
def _indexing_done(self):
    INDEXED.append(time.perf_counter())
    indexing_done(self)
DataSection.start_open, DatasetFiles.indexing_done = _start_open, _indexing_done

path, home, keys_per_kind = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
KINDS = ("end", "home", "pagedown", "down", "up")


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def main():
    app = make_app(Config(home=home), path)
    result = {}
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        while not any(w.row_count for w in screen.query(ExampleList)):
            await asyncio.sleep(0.002)
        example_list = screen.query_one(ExampleList)
        screen._on_timer_update()  # paint them
        result["first_rows_s"] = time.perf_counter() - LAUNCH
        result["first_rows_from_open_s"] = time.perf_counter() - OPENED[0]
        data = app.workbench.data

        async def timed_keys(label):
            # As from a terminal: the key goes through the driver's queue; the time runs until
            # every message it caused is handled and the list is repainted, then until the
            # conversation of the new example is shown too (it follows the list's frame).
            # Pilot.press is not used: it waits for the CPU to go idle, which a background
            # indexer never lets happen.
            times = {kind: [] for kind in KINDS}
            shown = {kind: [] for kind in KINDS}
            for _ in range(keys_per_kind):
                for kind in KINDS:
                    await asyncio.sleep(0.05)  # a human's pace; lets workers post
                    started = time.perf_counter()
                    app._driver.send_message(events.Key(kind, None))
                    await pilot._wait_for_screen()
                    screen._on_timer_update()
                    times[kind].append(time.perf_counter() - started)
                    await pilot._wait_for_screen()
                    screen._on_timer_update()
                    shown[kind].append(time.perf_counter() - started)
            def figures(values):
                ordered = sorted(values)
                p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
                return {"median": statistics.median(ordered), "p95": p95, "max": ordered[-1]}

            result[label] = {kind: figures(v) for kind, v in times.items()}
            result[label + "_shown"] = {kind: figures(v) for kind, v in shown.items()}
            result[label + "_validating"] = data.validating
            result[label + "_rows"] = example_list.row_count

        result["indexing_when_keys_started"] = data.indexing
        await timed_keys("keys_while_indexing")
        while data.indexing:
            await asyncio.sleep(0.05)
        result["indexed_s"] = INDEXED[0] - LAUNCH
        result["examples"] = len(data.session)
        result["rss_after_index_mb"] = rss_mb()
        await timed_keys("keys_after_indexing")
        result["rss_after_browsing_mb"] = rss_mb()
        result["validating"] = data.validating
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    os.write(1, json.dumps(result).encode())
    os._exit(0)  # a big validation pass may still be winding down: do not wait for it

asyncio.run(main())
"""


def browse(path: Path, keys: int) -> dict:
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(BENCH_DIR / "pycache")
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), home, str(keys)],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )
    if done.returncode != 0:
        raise SystemExit(f"the browsing process failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)


def full_read_s(path: Path) -> float:
    """The floor for anything that reads the whole file: one pass in 8 MB blocks."""
    started = time.perf_counter()
    lines = 0
    with open(path, "rb", buffering=0) as handle:
        while block := handle.read(8 << 20):
            lines += block.count(b"\n")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--keys", type=int, default=25, help="presses of each key per phase")
    args = parser.parse_args()

    big, small = dataset(args.examples), dataset(args.small)
    browse(small, 2)  # warm bytecode and the OS cache of the program files
    read_s = full_read_s(big)
    results = {"small": browse(small, args.keys), "big": browse(big, args.keys)}

    size_gb = big.stat().st_size / 1e9
    print(f"Browsing {big.name}: {args.examples:,} examples, {size_gb:.2f} GB")
    print(f"baseline: one plain read of the whole file takes {read_s:.2f} s")
    print(f"{'':38}{'small file':>14}{'big file':>14}")
    print(f"{'examples':38}{args.small:>14,}{results['big']['examples']:>14,}")
    for label, key in (
        ("first rows painted, s after opening", "first_rows_from_open_s"),
        ("first rows painted, s after launch", "first_rows_s"),
        ("whole file indexed, s after launch", "indexed_s"),
    ):
        print(f"{label:38}{results['small'][key]:>14.2f}{results['big'][key]:>14.2f}")
    worst = 0.0
    for phase in ("keys_while_indexing", "keys_after_indexing"):
        still = results["big"]["indexing_when_keys_started"] or phase != "keys_while_indexing"
        note = "" if still else " (the big file was indexed already)"
        if phase == "keys_after_indexing" and results["big"][phase + "_validating"]:
            note = " (the big file still being validated in the background)"
        print(f"{phase.replace('_', ' ')}{note}: ms median / p95 / max")
        for kind in ("end", "home", "pagedown", "down", "up"):
            for suffix, what in (("", "list repainted"), ("_shown", "+ conversation")):
                cells = []
                for name in ("small", "big"):
                    figures = results[name][phase + suffix][kind]
                    cells.append(
                        f"{figures['median'] * 1000:.0f} / {figures['p95'] * 1000:.0f} / "
                        f"{figures['max'] * 1000:.0f}"
                    )
                if not suffix:
                    worst = max(worst, results["big"][phase][kind]["p95"])
                label = f"  {kind}: {what}" if not suffix else f"  {'':{len(kind)}}  {what}"
                print(f"{label:38}{cells[0]:>17}{cells[1]:>17}")
    for label, key in (
        ("RSS after indexing, MB", "rss_after_index_mb"),
        ("RSS after browsing, MB", "rss_after_browsing_mb"),
        ("peak RSS, MB", "peak_rss_mb"),
    ):
        print(f"{label:38}{results['small'][key]:>14.0f}{results['big'][key]:>14.0f}")
    first = results["big"]["first_rows_from_open_s"]
    print(
        f"targets: first rows {first:.2f} s after opening (<1 s: {'yes' if first < 1 else 'NO'}); "
        f"worst p95 keypress to repainted list {worst * 1000:.0f} ms "
        f"(<100 ms: {'yes' if worst < 0.1 else 'NO'}); load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
