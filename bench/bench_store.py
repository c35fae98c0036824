"""Run store benchmarks, each against a baseline measured in the same run.

1. Ingest: events/s and metric rows/s indexed from a real events.jsonl (written with EventWriter)
   by `RunStore.ingest_events`, against the naive way (json.loads per line, one INSERT and one
   commit per metric row, SQLite defaults).
2. Runs pane: time until the table shows its first rows in a headless `run_test`, with 10,000 runs
   and 1,000,000 metric rows in the store, against the same pane on an empty store; plus the time
   until all 10,000 are loaded and to jump to the oldest run.

Run: .venv/bin/python bench/bench_store.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

from ftui.core.runs.events import EventWriter
from ftui.services.store import RunStore


def median_of(values: list[float]) -> float:
    return statistics.median(values)


# -- 1. ingest throughput ----------------------------------------------------------------------


def write_log(path: Path, metric_events: int) -> tuple[int, int]:
    """A training-like log: metric events with 3 values, a log line every 100 steps."""
    events = rows = 0
    with EventWriter(path) as writer:
        writer.write({"ts": 0.0, "type": "status", "status": "running"})
        events += 1
        for step in range(1, metric_events + 1):
            writer.write(
                {
                    "ts": float(step),
                    "type": "metric",
                    "step": step,
                    "max_steps": metric_events,
                    "epoch": step / metric_events,
                    "values": {
                        "train_loss": 3.0 / (1 + step / 1000),
                        "learning_rate": 1e-4,
                        "grad_norm": 1.0 + (step % 7) / 10,
                    },
                }
            )
            events += 1
            rows += 3
            if step % 100 == 0:
                writer.write({"ts": float(step), "type": "log", "level": "info", "message": "ok"})
                events += 1
    return events, rows


def naive_ingest(db_path: Path, log_path: Path, max_seconds: float) -> tuple[int, float]:
    """The baseline: one INSERT and one commit per metric row, for at most `max_seconds` (each
    commit waits for the disk, so a full log would take hours). Returns (rows, seconds)."""
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE metrics (run_id TEXT, name TEXT, step INTEGER, value REAL)")
    conn.commit()
    rows = 0
    started = time.perf_counter()
    with log_path.open() as handle:
        for line in handle:
            event = json.loads(line)
            if event.get("type") != "metric":
                continue
            for name, value in event["values"].items():
                conn.execute(
                    "INSERT INTO metrics VALUES (?, ?, ?, ?)", ("run", name, event["step"], value)
                )
                conn.commit()
                rows += 1
            if time.perf_counter() - started >= max_seconds:
                break
    elapsed = time.perf_counter() - started
    conn.close()
    return rows, elapsed


def bench_ingest(root: Path, metric_events: int, repeats: int) -> None:
    print(f"\n== Ingest: {metric_events:,} metric events (3 values each) from events.jsonl")
    seconds: list[float] = []
    events = rows = 0
    for n in range(repeats):
        home = root / f"ingest-{n}"
        store = RunStore(home / "ftui.db", home / "runs")
        run = store.create_run(backend="local", base_model="bench", config={})
        events, rows = write_log(run.events_path, metric_events)
        started = time.perf_counter()
        indexed = store.ingest_events(run.id)
        seconds.append(time.perf_counter() - started)
        assert indexed == events, (indexed, events)
        assert len(store.metrics(run.id, ["train_loss"])["train_loss"]) == metric_events
        store.close()
    store_s = median_of(seconds)
    naive_rows, naive_s = naive_ingest(root / "naive.db", run.events_path, max_seconds=5.0)
    naive_rate = naive_rows / naive_s
    store_rate = rows / store_s
    print(f"  RunStore.ingest_events   median of {repeats}: {store_s:.2f} s")
    print(f"    events/s       {events / store_s:>12,.0f}")
    print(f"    metric rows/s  {store_rate:>12,.0f}")
    print(f"  baseline: one INSERT + commit per row ({naive_rows:,} rows, {naive_s:.2f} s)")
    print(f"    metric rows/s  {naive_rate:>12,.0f}")
    print(f"  ratio: {store_rate / naive_rate:,.0f}x the baseline's rows/s")


# -- 2. Runs pane open time ------------------------------------------------------------------


def fill_history(store: RunStore, runs: int, metric_rows: int) -> None:
    """10,000 runs' rows in bulk (create_run would spend minutes on fsyncs of config files)."""
    store.list_runs()  # creates the schema
    conn = sqlite3.connect(store.path)
    rng = random.Random(7)
    models = ["Qwen2.5-0.5B-Instruct", "gpt-4o-mini-2024-07-18", "Llama-3.2-1B-Instruct"]
    statuses = ["succeeded"] * 8 + ["failed", "cancelled"]
    conn.execute(
        "INSERT INTO datasets (id, path, sha256, format, examples, tokens, created_at)"
        " VALUES ('d', '/data/support.jsonl', ?, 'openai', 1200, 98000, 0)",
        ("0" * 64,),
    )
    per_run = metric_rows // runs // 2
    run_rows = []
    metric_batch = []
    for n in range(runs):
        run_id = f"{n:08x}"
        final = {"train_loss": rng.uniform(0.3, 1.5), "valid_loss": rng.uniform(0.5, 1.8)}
        run_rows.append(
            (
                run_id,
                "local" if n % 3 else "openai",
                statuses[n % len(statuses)],
                models[n % 3],
                "d",
                orjson.dumps({"epochs": 3, "learning_rate": 1e-4}).decode(),
                1_700_000_000 + n * 60,
                1_700_000_000 + n * 60 + 5,
                1_700_000_000 + n * 60 + 905,
                run_id,
                orjson.dumps(final).decode(),
                3,
                per_run,
            )
        )
        for step in range(1, per_run + 1):
            metric_batch.append((run_id, "train_loss", step, 2.0 / step, 0.0))
            metric_batch.append((run_id, "valid_loss", step, 2.2 / step, 0.0))
        if len(metric_batch) > 200_000:
            conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", metric_batch)
            metric_batch.clear()
    conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", metric_batch)
    conn.executemany(
        """INSERT INTO runs (id, backend, status, base_model, dataset_id, config, created_at,
           started_at, finished_at, run_dir, final_metrics, epochs, last_step)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        run_rows,
    )
    conn.commit()
    conn.close()


async def open_pane(store_path: Path, runs_dir: Path) -> tuple[float, float, float, int]:
    """Seconds to the first rows, to the full list, and to jump to the oldest run; rows shown."""
    from textual.app import App, ComposeResult

    from ftui.config import Config
    from ftui.services.root import Services
    from ftui.tui.sections.runs import RunsPane
    from ftui.tui.stylesheet import APP_CSS

    store = RunStore(store_path, runs_dir)
    services = Services(Config(home=runs_dir.parent), store=store)

    class PaneApp(App[None]):
        CSS_PATH = APP_CSS

        def compose(self) -> ComposeResult:
            yield RunsPane(services, refresh_interval=None)

    app = PaneApp()
    started = time.perf_counter()
    first = full = jump = 0.0
    async with app.run_test(size=(140, 40)) as pilot:
        pane = app.query_one(RunsPane)
        while not pane.loaded:
            await pilot.pause(0.001)
        first = time.perf_counter() - started
        await app.workers.wait_for_complete()
        await pilot.pause()
        full = time.perf_counter() - started
        before = time.perf_counter()
        await pilot.press("end")
        await pilot.pause()
        jump = time.perf_counter() - before
        shown = len(pane.table.runs)
    store.close()
    return first, full, jump, shown


def bench_pane(root: Path, runs: int, metric_rows: int, repeats: int) -> None:
    print(f"\n== Runs pane open: {runs:,} runs, {metric_rows:,} metric rows (headless run_test)")
    full_home = root / "pane-full"
    store = RunStore(full_home / "ftui.db", full_home / "runs")
    started = time.perf_counter()
    fill_history(store, runs, metric_rows)
    store.close()
    print(f"  (filled the store in {time.perf_counter() - started:.1f} s)")
    empty_home = root / "pane-empty"
    RunStore(empty_home / "ftui.db", empty_home / "runs").list_runs()

    def measure(home: Path) -> list[tuple[float, float, float, int]]:
        return [
            asyncio.run(open_pane(home / "ftui.db", home / "runs")) for _ in range(repeats + 1)
        ][1:]  # the first run pays one-time imports

    empty = measure(empty_home)
    full = measure(full_home)
    first_empty = median_of([r[0] for r in empty])
    first_full = median_of([r[0] for r in full])
    print(f"  median of {repeats}           first rows   all loaded   jump to oldest")
    print(
        f"  empty store (baseline)  {first_empty * 1000:>8.0f} ms  "
        f"{median_of([r[1] for r in empty]) * 1000:>8.0f} ms"
    )
    print(
        f"  {runs:,} runs            {first_full * 1000:>8.0f} ms  "
        f"{median_of([r[1] for r in full]) * 1000:>8.0f} ms  "
        f"{median_of([r[2] for r in full]) * 1000:>8.0f} ms  ({full[0][3]:,} rows)"
    )
    print(f"  first rows: {first_full / first_empty:.2f}x the empty store's open time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs, one repeat")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    metric_events = 20_000 if args.quick else 100_000
    runs, metric_rows = (2_000, 100_000) if args.quick else (10_000, 1_000_000)
    print(f"python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory(prefix="ftui-bench-") as tmp:
        bench_ingest(Path(tmp), metric_events, repeats)
        bench_pane(Path(tmp), runs, metric_rows, repeats)


if __name__ == "__main__":
    main()
