"""Benchmark `ftui validate` against the floor: plain `json` + `encode_ordinary`, serially.

    .venv/bin/python bench/bench_validate.py [--reps 5] [--input FILE] [--big] [--big-mb 1024]

Both are whole processes (interpreter start, imports, BPE load included), run alternately in the
same session so machine load hits both alike; the table gives medians and the ratio. With `--big`
a ~1 GB JSONL is generated under /tmp (bench/make_big_dataset.py) and `ftui validate` runs on it
once, to report its peak memory (ru_maxrss of the process and its workers).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
DEFAULT_INPUT = SHARED / "openai-chat" / "sgd_dialogues.jsonl"
BUNDLED_TIKTOKEN = ROOT / "ftui" / "data" / "tiktoken"
TARGET_RATIO = 1.3
MEMORY_LIMIT_MB = 300

# The floor: what any validator must at least do, written as plainly as possible.
FLOOR = """
import json, os, sys
os.environ.setdefault("TIKTOKEN_CACHE_DIR", sys.argv[2])
import tiktoken
enc = tiktoken.get_encoding("cl100k_base")
total = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        if not line.strip():
            continue
        example = json.loads(line)
        for message in example["messages"]:
            for value in message.values():
                if isinstance(value, str):
                    total += len(enc.encode_ordinary(value))
print(total)
"""


def run_measured(argv: list[str]) -> tuple[float, float, int, bytes]:
    """(wall seconds, peak RSS in MB of the process and its children, exit code, stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    # Linux reports the max of the process and the children it waited for, in KiB.
    return wall, usage.ru_maxrss / 1024, process.returncode, out


def ftui_argv(path: Path, workers: int | None) -> list[str]:
    argv = [sys.executable, "-m", "ftui", "validate", str(path), "--encoding", "cl100k_base"]
    argv.append("--json")
    if workers:
        argv += ["--workers", str(workers)]
    return argv


def compare(path: Path, reps: int, workers: int | None) -> bool:
    floor_argv = [sys.executable, "-c", FLOOR, str(path), str(BUNDLED_TIKTOKEN)]
    candidate = ftui_argv(path, workers)
    floor_times: list[float] = []
    ftui_times: list[float] = []
    floor_rss: list[float] = []
    ftui_rss: list[float] = []
    floor_total = ftui_total = None
    load_before = os.getloadavg()[0]
    run_measured(candidate)  # warm the page cache and the bytecode caches for both
    run_measured(floor_argv)
    for rep in range(reps):
        order = [("floor", floor_argv), ("ftui", candidate)]
        if rep % 2:
            order.reverse()
        for name, argv in order:
            wall, rss, code, out = run_measured(argv)
            if name == "floor":
                floor_times.append(wall)
                floor_rss.append(rss)
                floor_total = int(out.strip() or 0)
            else:
                ftui_times.append(wall)
                ftui_rss.append(rss)
                if code not in (0, 1):
                    raise SystemExit(f"ftui validate failed with exit code {code}")
                import json

                ftui_total = json.loads(out)["tokens"]["total"]
        print(
            f"  rep {rep + 1}/{reps}: floor {floor_times[-1]:.2f} s · ftui {ftui_times[-1]:.2f} s",
            file=sys.stderr,
        )
    floor_median = statistics.median(floor_times)
    ftui_median = statistics.median(ftui_times)
    ratio = ftui_median / floor_median
    print()
    print(f"input: {path} ({path.stat().st_size / 1e6:,.1f} MB), {reps} interleaved repetitions,")
    print(
        f"{os.cpu_count()} CPUs, workers: {workers or 'auto'}, load average (1 min) "
        f"{load_before:.1f} before / {os.getloadavg()[0]:.1f} after (other jobs share the CPUs)"
    )
    print()
    print(f"{'':28}{'median s':>10}{'min s':>9}{'max s':>9}{'peak MB':>10}")
    print(
        f"{'floor (json + encode)':28}{floor_median:>10.2f}{min(floor_times):>9.2f}"
        f"{max(floor_times):>9.2f}{max(floor_rss):>10.0f}"
    )
    print(
        f"{'ftui validate --json':28}{ftui_median:>10.2f}{min(ftui_times):>9.2f}"
        f"{max(ftui_times):>9.2f}{max(ftui_rss):>10.0f}"
    )
    verdict = "OK" if ratio <= TARGET_RATIO else "OVER TARGET"
    print(f"\nratio ftui / floor (medians): {ratio:.2f}  (target ≤ {TARGET_RATIO}) {verdict}")
    print(
        f"token totals: floor counts string values only = {floor_total:,}; "
        f"ftui cookbook total (+3/message, +3/example) = {ftui_total:,}"
    )
    return ratio <= TARGET_RATIO


def big(size_mb: int, workers: int | None) -> bool:
    sys.path.insert(0, str(ROOT / "bench"))
    from make_big_dataset import DEFAULT_OUT, DEFAULT_SEED, generate

    path = DEFAULT_OUT
    if not path.exists() or abs(path.stat().st_size - (size_mb << 20)) > (8 << 20):
        print(f"generating {path} ({size_mb} MiB)...", file=sys.stderr)
        generate(path, size_mb << 20, DEFAULT_SEED)
    wall, rss, code, out = run_measured(ftui_argv(path, workers))
    if code not in (0, 1):
        raise SystemExit(f"ftui validate failed on {path} with exit code {code}")
    import json

    report = json.loads(out)
    ok = rss < MEMORY_LIMIT_MB
    print()
    print(
        f"big file: {path} ({path.stat().st_size / 1e9:,.2f} GB, {report['examples']:,} examples)"
    )
    print(f"  ftui validate: {wall:,.1f} s wall, {path.stat().st_size / 1e6 / wall:,.1f} MB/s")
    print(
        f"  peak memory (ru_maxrss, largest of the process and its workers): {rss:,.0f} MB "
        f"(limit {MEMORY_LIMIT_MB} MB) {'OK' if ok else 'OVER LIMIT'}"
    )
    print(f"  tokens: {report['tokens']['total']:,}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--workers", type=int, default=None, help="pass --workers to ftui")
    parser.add_argument("--big", action="store_true", help="also measure memory on ~1 GB")
    parser.add_argument("--big-mb", type=int, default=1024)
    parser.add_argument("--skip-compare", action="store_true")
    args = parser.parse_args()
    if not args.input.is_file():
        raise SystemExit(f"{args.input} is missing (it comes from ../shared/datasets)")
    ok = True
    if not args.skip_compare:
        ok &= compare(args.input, args.reps, args.workers)
    if args.big:
        ok &= big(args.big_mb, args.workers)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
