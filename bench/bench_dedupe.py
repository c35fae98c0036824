"""Dedupe against a pool of 10,000 texts: how long adding the pool and checking candidates take.

    python bench/bench_dedupe.py [--pool 10000] [--checks 1000]

The pool is the user turns of a real dataset when one is at hand (FTUI_SHARED_DATASETS), padded
with random questions over a Zipf-like vocabulary (common words shared by every text, as in real
questions); the candidates are half new texts, half near copies of pool texts (one word changed).
The baseline is the same check without the prefilter: every pool text measured by LCS.
"""

from __future__ import annotations

import argparse
import random
import time

from ftui.core.generation.dedupe import DedupeIndex, exact_form
from ftui.core.judge.metrics import lcs_length

COMMON = ["the", "a", "what", "how", "is", "do", "i", "my", "to", "of", "in", "for", "can"]


def texts(rng: random.Random, n: int) -> list[str]:
    rare = [f"word{i}" for i in range(5000)]
    out = []
    for _ in range(n):
        k = rng.randint(6, 30)
        out.append(
            " ".join(
                rng.choice(COMMON) if rng.random() < 0.45 else rng.choice(rare) for _ in range(k)
            )
        )
    return out


def near_copy(rng: random.Random, text: str) -> str:
    tokens = text.split()
    tokens[rng.randrange(len(tokens))] = "changed"
    return " ".join(tokens)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pool", type=int, default=10_000)
    parser.add_argument("--checks", type=int, default=1_000)
    args = parser.parse_args()
    rng = random.Random(7)
    pool = texts(rng, args.pool)
    half = args.checks // 2
    candidates = texts(rng, half) + [near_copy(rng, rng.choice(pool)) for _ in range(half)]
    for method in ("rougeL", "minhash"):
        index = DedupeIndex(method)  # type: ignore[arg-type]
        start = time.perf_counter()
        for i, text in enumerate(pool):
            index.add(text, str(i))
        added = time.perf_counter() - start
        start = time.perf_counter()
        found = sum(index.check(text) is not None for text in candidates)
        checked = time.perf_counter() - start
        print(
            f"{method:8} pool {len(pool):,}: add {added:.2f} s, {len(candidates):,} checks "
            f"{checked:.2f} s ({checked / len(candidates) * 1000:.2f} ms each), "
            f"{found} duplicates, {index.compared:,} comparisons"
        )
    # The baseline: ROUGE-L against every pool text, for a tenth of the candidates.
    sample = candidates[: max(1, len(candidates) // 10)]
    tokens = [list(exact_form(t)) for t in pool]
    start = time.perf_counter()
    for text in sample:
        mine = list(exact_form(text))
        for other in tokens:
            lcs_length(other, mine)
    brute = (time.perf_counter() - start) / len(sample)
    print(f"baseline (LCS with every pool text): {brute * 1000:.1f} ms each")


if __name__ == "__main__":
    main()
