"""Benchmark `ftui validate` against the floor: plain `json` + `encode_ordinary`, serially.

    .venv/bin/python bench/bench_validate.py [--reps 5] [--input FILE] [--baseline CHECKOUT]
        [--big] [--big-mb 1024]

Both are whole processes (interpreter start, imports, BPE load included), run alternately in the
same session so machine load hits both alike; the table gives medians and the ratio. With `--big`
a ~1 GB JSONL is generated under /tmp (bench/make_big_dataset.py) and `ftui validate` runs on it
once, to report its peak memory (ru_maxrss of the process and its workers).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FTUI_SHARED_DATASETS") or ROOT.parent / "shared" / "datasets")
DEFAULT_INPUT = SHARED / "openai-chat" / "sgd_dialogues.jsonl"
BUNDLED_TIKTOKEN = ROOT / "ftui" / "data" / "tiktoken"
TARGET_RATIO = 0.8  # issue 9: at most 0.8x the floor on a quiet machine (aim 0.6x)
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


def run_measured(
    argv: list[str], env: dict[str, str] | None = None
) -> tuple[float, float, int, bytes]:
    """(wall seconds, peak RSS in MB of the process and its children, exit code, stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT, env=env
    )
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


def checkout_env(checkout: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(checkout)}


def compare(path: Path, reps: int, workers: int | None, baseline: Path | None) -> bool:
    """Floor, this checkout and (optionally) a baseline checkout, interleaved rep by rep."""
    runs: dict[str, tuple[list[str], dict[str, str] | None]] = {
        "floor (json + encode)": (
            [sys.executable, "-c", FLOOR, str(path), str(BUNDLED_TIKTOKEN)],
            None,
        ),
        "ftui validate --json": (ftui_argv(path, workers), checkout_env(ROOT)),
    }
    if baseline is not None:
        runs["baseline ftui validate"] = (ftui_argv(path, workers), checkout_env(baseline))
    times: dict[str, list[float]] = {name: [] for name in runs}
    rss: dict[str, list[float]] = {name: [] for name in runs}
    totals: dict[str, int] = {}
    load_before = os.getloadavg()[0]
    for argv, env in runs.values():
        run_measured(argv, env)  # warm the page cache and the bytecode caches for all
    names = list(runs)
    for rep in range(reps):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            argv, env = runs[name]
            wall, peak, code, out = run_measured(argv, env)
            times[name].append(wall)
            rss[name].append(peak)
            if name.startswith("floor"):
                totals[name] = int(out.strip() or 0)
            else:
                if code not in (0, 1):
                    raise SystemExit(f"{name} failed with exit code {code}")
                totals[name] = json.loads(out)["tokens"]["total"]
        shown = " · ".join(f"{name.split()[0]} {times[name][-1]:.2f} s" for name in names)
        print(f"  rep {rep + 1}/{reps}: {shown}", file=sys.stderr)
    floor_median = statistics.median(times[names[0]])
    print()
    print(f"input: {path} ({path.stat().st_size / 1e6:,.1f} MB), {reps} interleaved repetitions,")
    print(
        f"{os.cpu_count()} CPUs, workers: {workers or 'auto'}, load average (1 min) "
        f"{load_before:.1f} before / {os.getloadavg()[0]:.1f} after (other jobs share the CPUs)"
    )
    print(f"ftui checkout: {ROOT}" + (f"; baseline: {baseline}" if baseline else ""))
    print()
    print(f"{'':28}{'median s':>10}{'min s':>9}{'max s':>9}{'peak MB':>10}{'/ floor':>9}")
    for name in names:
        median = statistics.median(times[name])
        print(
            f"{name:28}{median:>10.2f}{min(times[name]):>9.2f}{max(times[name]):>9.2f}"
            f"{max(rss[name]):>10.0f}{median / floor_median:>9.2f}"
        )
    ratio = statistics.median(times[names[1]]) / floor_median
    verdict = "OK" if ratio <= TARGET_RATIO else "OVER TARGET"
    print(f"\nratio ftui / floor (medians): {ratio:.2f}  (target ≤ {TARGET_RATIO}) {verdict}")
    print(
        f"token totals: floor counts string values only = {totals[names[0]]:,}; ftui cookbook "
        f"total (+3/message, +3/example) = {totals[names[1]]:,}"
    )
    return ratio <= TARGET_RATIO


def big(size_mb: int, workers: int | None, seed: Path) -> bool:
    sys.path.insert(0, str(ROOT / "bench"))
    from make_big_dataset import DEFAULT_OUT, generate

    path = DEFAULT_OUT
    if not path.exists() or abs(path.stat().st_size - (size_mb << 20)) > (8 << 20):
        print(f"generating {path} ({size_mb} MiB)...", file=sys.stderr)
        generate(path, size_mb << 20, seed)
    wall, rss, code, out = run_measured(ftui_argv(path, workers), checkout_env(ROOT))
    if code not in (0, 1):
        raise SystemExit(f"ftui validate failed on {path} with exit code {code}")
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
    parser.add_argument(
        "--baseline", type=Path, help="another ftui checkout to time in the same interleaving"
    )
    args = parser.parse_args()
    if not args.input.is_file():
        raise SystemExit(f"{args.input} is missing (it comes from ../shared/datasets)")
    ok = True
    if not args.skip_compare:
        ok &= compare(args.input, args.reps, args.workers, args.baseline)
    if args.big:
        ok &= big(args.big_mb, args.workers, args.input)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
