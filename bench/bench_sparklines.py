"""The runs list's sparkline query: `RunStore.recent_series` for many runs at once.

A store with 10,000 runs, each with 1,000 train_loss points and 200 valid_loss points (12 million
metric rows), filled in bulk. Measured: the 24-point series of every run in one call (what the
Runs pane asks once the whole history is listed), of the first page (200 runs) and of a few
running runs (what the refresh timer asks every few seconds); against the baseline of reading
each run's series with `RunStore.metrics(run_id, names, max_points=24)`, one query per run
(timed on 1,000 runs).

Run: .venv/bin/python bench/bench_sparklines.py [--quick]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ftui.services.store import RunStore

NAMES = ("train_loss", "valid_loss")
POINTS = 24


def fill(store: RunStore, runs: int, steps: int) -> list[str]:
    """`runs` runs with `steps` train_loss points and one valid_loss every 5 steps, in bulk."""
    store.list_runs()  # creates the schema
    conn = sqlite3.connect(store.path)
    ids = [f"{n:08x}" for n in range(runs)]
    conn.executemany(
        "INSERT INTO runs (id, backend, status, base_model, config, created_at, run_dir)"
        " VALUES (?, 'local', 'succeeded', 'm', '{}', ?, ?)",
        [(run_id, 1_700_000_000 + n, run_id) for n, run_id in enumerate(ids)],
    )
    batch: list[tuple[str, str, int, float]] = []
    for run_id in ids:
        for step in range(1, steps + 1):
            batch.append((run_id, "train_loss", step, 2.0 / step + 0.3))
            if step % 5 == 0:
                batch.append((run_id, "valid_loss", step, 2.2 / step + 0.5))
        if len(batch) > 500_000:
            conn.executemany(
                "INSERT INTO metrics (run_id, name, step, value) VALUES (?, ?, ?, ?)", batch
            )
            batch.clear()
    conn.executemany("INSERT INTO metrics (run_id, name, step, value) VALUES (?, ?, ?, ?)", batch)
    conn.commit()
    conn.close()
    return ids


def timed(call: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    seconds = []
    result = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 runs, one repeat")
    args = parser.parse_args()
    runs, steps, repeats = (1_000, 1_000, 1) if args.quick else (10_000, 1_000, 3)
    print(f"python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory(prefix="ftui-bench-") as tmp:
        home = Path(tmp)
        store = RunStore(home / "ftui.db", home / "runs")
        started = time.perf_counter()
        ids = fill(store, runs, steps)
        rows = runs * (steps + steps // 5)
        print(
            f"filled {runs:,} runs, {rows:,} metric rows in {time.perf_counter() - started:.1f} s"
        )
        store.recent_series(ids[:10], NAMES, POINTS)  # opens the file
        print(f"\n== recent_series, {POINTS} points of {', '.join(NAMES)} (median of {repeats})")
        for label, asked in (
            (f"all {runs:,} runs", ids),
            ("first page, 200 runs", ids[:200]),
            ("5 running runs", ids[-5:]),
        ):
            seconds, series = timed(
                lambda asked=asked: store.recent_series(asked, NAMES, POINTS), repeats
            )
            sample = series[asked[0]]
            assert len(series) == len(asked)
            assert len(sample["train_loss"]) == POINTS and len(sample["valid_loss"]) == POINTS
            print(
                f"  {label:<24} {seconds * 1000:>9.1f} ms"
                f"  ({seconds / len(asked) * 1e6:.0f} µs a run)"
            )

        print("\n== baseline: RunStore.metrics(run, names, max_points) once per run")
        # (1,000 runs at most: the baseline's cost is per run, so it scales linearly)
        for label, asked in (("1,000 runs", ids[:1_000]), ("first page, 200 runs", ids[:200])):
            seconds, _ = timed(
                lambda asked=asked: {r: store.metrics(r, NAMES, max_points=POINTS) for r in asked},
                1,
            )
            print(
                f"  {label:<24} {seconds * 1000:>9.1f} ms"
                f"  ({seconds / len(asked) * 1e6:.0f} µs a run)"
            )
        store.close()


if __name__ == "__main__":
    main()
