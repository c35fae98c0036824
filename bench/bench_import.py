"""`ftui import` speed against plain reads of the same files, measured in the same run.

    python bench/bench_import.py [--rows 200000]

A tickets CSV of `--rows` rows (quoted cells with commas and newlines) is generated once under
/tmp; the baseline is one pass of Python's csv module over it, each row dumped with orjson (the
least an import can do). Then: the import with a --where filter, written atomically; a preview
(the app's, 20 examples); and on a real conversation file, sgd_dialogues.jsonl (messages shape),
the import against `convert_file` to OpenAI chat (the same read and write, no mapping). Figures
are CPU seconds of this process, best of three.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ftui.core.dataset.convert import convert_file
from ftui.core.importing import ImportOptions, preview_import, write_import

BENCH_DIR = Path(tempfile.gettempdir()) / "ftui-bench"


def tickets(rows: int) -> Path:
    path = BENCH_DIR / f"tickets-{rows}.csv"
    if path.exists():
        return path
    BENCH_DIR.mkdir(exist_ok=True)
    rng = random.Random(7)
    words = [
        "order",
        "refund",
        "parcel",
        "late",
        "card",
        "charged",
        "twice",
        "password",
        "reset",
        "account",
        "email",
    ]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ticket_id", "question", "answer", "satisfaction", "status"])
        for number in range(rows):
            question = " ".join(rng.choices(words, k=12)) + ", please?"
            answer = " ".join(rng.choices(words, k=30)) + ".\nThanks, the team"
            status = rng.choice(["resolved", "resolved", "open"])
            writer.writerow([number, question, answer, rng.randint(1, 5), status])
    return path


def best(work: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()  # CPU time: steadier than the wall clock on a shared box
        work()
        times.append(time.process_time() - start)
    return min(times)


def plain_csv(path: Path, out: Path) -> None:
    with path.open(newline="") as handle, out.open("wb") as sink:
        reader = csv.reader(handle)
        next(reader)
        for cells in reader:
            sink.write(orjson.dumps({"messages": [cells[1], cells[2]]}) + b"\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    source = tickets(args.rows)
    out = BENCH_DIR / "imported.jsonl"
    size = source.stat().st_size / 1e6
    where = ImportOptions(where='satisfaction >= 4 and status == "resolved"')
    print(f"tickets CSV: {args.rows:,} rows, {size:.1f} MB; load {os.getloadavg()[0]:.2f}")
    base = best(lambda: plain_csv(source, out))
    full = best(lambda: write_import(source, out, ImportOptions()))
    filtered = best(lambda: write_import(source, out, where))
    preview = best(lambda: preview_import(source, where))
    print(f"  baseline csv.reader + orjson   {base:7.3f} s")
    print(f"  ftui import                    {full:7.3f} s  ({full / base:.1f}× the baseline)")
    print(f"  ftui import --where            {filtered:7.3f} s")
    print(f"  preview (20 examples)          {preview * 1000:7.1f} ms")
    shared = Path(os.environ.get("FTUI_SHARED_DATASETS", "/work/shared/datasets"))
    dialogues = shared / "openai-chat/sgd_dialogues.jsonl"
    if dialogues.exists():
        convert = best(lambda: convert_file(dialogues, out, "openai"), runs=1)
        imported = best(lambda: write_import(dialogues, out, ImportOptions()), runs=1)
        per_reply = best(
            lambda: write_import(dialogues, out, ImportOptions(per_reply=True)), runs=1
        )
        print(f"sgd_dialogues.jsonl ({dialogues.stat().st_size / 1e6:.1f} MB, messages shape)")
        print(f"  baseline convert_file → openai {convert:7.3f} s")
        print(f"  ftui import                    {imported:7.3f} s")
        print(f"  ftui import --per-reply        {per_reply:7.3f} s")
    out.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
