"""Generate a large OpenAI chat JSONL file for memory and throughput benchmarks.

    .venv/bin/python bench/make_big_dataset.py [--size-mb 1024] [--out /tmp/ftui-bench/big.jsonl]

Lines are taken round-robin from a seed dataset (by default the SGD dialogues in ../shared), each
made unique by a counter in its first message so the file isn't one giant duplicate; with no seed
file, short synthetic conversations are written instead. The same arguments give the same bytes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import orjson

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
DEFAULT_SEED = SHARED / "openai-chat" / "sgd_dialogues.jsonl"
DEFAULT_OUT = Path("/tmp/ftui-bench/big.jsonl")


def seed_lines(seed: Path) -> list[bytes]:
    if seed.is_file():
        return [line.rstrip(b"\n") for line in seed.open("rb") if line.strip()]
    synthetic = []
    for i in range(2_000):
        example = {
            "messages": [
                {"role": "system", "content": "You are a helpful travel assistant."},
                {"role": "user", "content": f"Find me a hotel in city number {i} for two nights."},
                {"role": "assistant", "content": "Sure. Which dates and what budget per night?"},
                {"role": "user", "content": "Next weekend, under 150 dollars."},
                {"role": "assistant", "content": f"Hotel {i} has a room at 120 dollars a night."},
            ]
        }
        synthetic.append(orjson.dumps(example))
    return synthetic


def generate(out: Path, size_bytes: int, seed: Path) -> tuple[int, int]:
    """Write `out` (atomically) up to `size_bytes`; returns (examples, bytes)."""
    lines = seed_lines(seed)
    marker = b'"content": "' if b'"content": "' in lines[0] else b'"content":"'
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    written = examples = 0
    with tmp.open("wb") as handle:
        while written < size_bytes:
            line = lines[examples % len(lines)]
            unique = line.replace(marker, marker + b"[%d] " % examples, 1) + b"\n"
            handle.write(unique)
            written += len(unique)
            examples += 1
    os.replace(tmp, out)
    return examples, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="target size in MiB")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed-file", type=Path, default=DEFAULT_SEED)
    args = parser.parse_args()
    started = time.perf_counter()
    examples, size = generate(args.out, args.size_mb << 20, args.seed_file)
    print(
        f"wrote {args.out}: {examples:,} examples, {size / (1 << 20):,.0f} MiB "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
