"""Exact and near duplicates of generated text against a pool (existing examples and the new).

    index = DedupeIndex(method="rougeL")          # or "minhash"
    index.add("How do I reset my password?", "out line 3")
    index.check("how do i reset my password")     # Duplicate("exact", "out line 3", 1.0)

- Exact: the same words (casefolded, NFKC, punctuation and spacing ignored), as the judge's
  metrics tokenize them (every script).
- ROUGE-L, as Self-Instruct does: near when the ROUGE-L F-measure with any text of the pool is
  above the threshold (0.7). The LCS is the judge's bit-parallel `lcs_length`. Candidates are cut
  down first, without changing the answer (prefix filtering): F = 2·LCS/(|a|+|b|) > t needs
  the texts to share more than t·|a|/(2−t) words (with multiplicity), so they share at least
  one of the |a| − that + 1 rarest words of `a`: only the pool entries in those words' postings
  are measured, and of those only the ones whose length allows F > t.
- MinHash, as distilabel does: character 5-gram shingles of the normalised words (word 3-grams
  are too coarse for one-line questions: one changed word in ten takes a third of them), 128
  hash permutations (universal hashing mod 2^31−1, in numpy), LSH with 16 bands of 8 rows (pairs
  of Jaccard similarity near 0.7 and above collide in some band); a candidate is near when its
  estimated Jaccard similarity is at least the threshold.

Everything stays in memory: a pool of 10,000 questions is a few MB.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from ftui.core.judge.metrics import lcs_length, words

DedupeMethod = Literal["rougeL", "minhash"]
DEDUPE_METHODS: tuple[DedupeMethod, ...] = ("rougeL", "minhash")
DEFAULT_THRESHOLD = 0.7  # Self-Instruct's ROUGE-L cut-off

NUM_PERM = 128
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE = 5  # characters
_PRIME = (1 << 31) - 1


@dataclass(frozen=True)
class Duplicate:
    kind: Literal["exact", "near"]
    of: str  # the pool entry it repeats, as it was added ("out line 3", "source row 12")
    score: float  # ROUGE-L F or estimated Jaccard similarity; 1.0 for an exact duplicate


def exact_form(text: str) -> tuple[str, ...]:
    return tuple(words(text))


class DedupeIndex:
    def __init__(
        self, method: DedupeMethod = "rougeL", threshold: float = DEFAULT_THRESHOLD
    ) -> None:
        if method not in DEDUPE_METHODS:
            raise ValueError(f"unknown dedupe method {method!r}; use one of {DEDUPE_METHODS}")
        if not 0 < threshold <= 1:
            raise ValueError(f"the dedupe threshold must be above 0 and at most 1 ({threshold})")
        self.method = method
        self.threshold = threshold
        self._exact: dict[tuple[str, ...], str] = {}
        self._refs: list[str] = []
        self._tokens: list[tuple[str, ...]] = []
        # ROUGE-L: (word, its n-th occurrence in the text) -> entries holding it that often
        self._postings: dict[tuple[str, int], list[int]] = defaultdict(list)
        # MinHash: (band, band's values) -> entries
        self._buckets: dict[tuple[int, tuple[int, ...]], list[int]] = defaultdict(list)
        self._signatures: list[tuple[int, ...]] = []
        self.compared = 0  # LCS or signature comparisons made (a figure for the benchmark)

    def __len__(self) -> int:
        return len(self._refs)

    def add(self, text: str, ref: str) -> None:
        tokens = exact_form(text)
        if not tokens:
            return
        self._exact.setdefault(tokens, ref)
        entry = len(self._refs)
        self._refs.append(ref)
        self._tokens.append(tokens)
        if self.method == "rougeL":
            for element in _elements(tokens):
                self._postings[element].append(entry)
        else:
            signature = minhash(tokens)
            self._signatures.append(signature)
            for band in range(BANDS):
                self._buckets[(band, signature[band * ROWS : (band + 1) * ROWS])].append(entry)

    def check(self, text: str) -> Duplicate | None:
        """The first pool entry `text` repeats, exactly or nearly; None when it is new."""
        tokens = exact_form(text)
        if not tokens:
            return None
        same = self._exact.get(tokens)
        if same is not None:
            return Duplicate("exact", same, 1.0)
        if self.method == "rougeL":
            return self._near_rouge(tokens)
        return self._near_minhash(tokens)

    def _near_rouge(self, tokens: tuple[str, ...]) -> Duplicate | None:
        n = len(tokens)
        t = self.threshold
        # LCS > t·n/(2−t) for F > t, whatever the other text's length; the small slack keeps
        # a rounding error from ever raising the bound.
        least_shared = math.floor(t * n / (2 - t) - 1e-9) + 1
        elements = sorted(_elements(tokens), key=lambda e: len(self._postings.get(e, ())))
        prefix = elements[: max(0, n - least_shared + 1)]
        candidates = {entry for element in prefix for entry in self._postings.get(element, ())}
        best: tuple[float, int] | None = None
        candidate = list(tokens)
        for entry in candidates:
            other = self._tokens[entry]
            m = len(other)
            if 2 * min(n, m) / (n + m) <= t:  # the F-measure can be no higher than this
                continue
            self.compared += 1
            score = 2 * lcs_length(list(other), candidate) / (n + m)
            if score > t and (best is None or (score, -entry) > (best[0], -best[1])):
                best = (score, entry)
        if best is None:
            return None
        return Duplicate("near", self._refs[best[1]], round(best[0], 4))

    def _near_minhash(self, tokens: tuple[str, ...]) -> Duplicate | None:
        signature = minhash(tokens)
        seen: set[int] = set()
        best: tuple[float, int] | None = None
        for band in range(BANDS):
            for entry in self._buckets.get((band, signature[band * ROWS : (band + 1) * ROWS]), ()):
                if entry in seen:
                    continue
                seen.add(entry)
                self.compared += 1
                other = self._signatures[entry]
                score = sum(a == b for a, b in zip(signature, other, strict=True)) / NUM_PERM
                if score >= self.threshold and (
                    best is None or (score, -entry) > (best[0], -best[1])
                ):
                    best = (score, entry)
        if best is None:
            return None
        return Duplicate("near", self._refs[best[1]], round(best[0], 4))


def shingles(tokens: tuple[str, ...]) -> set[str]:
    text = " ".join(tokens)
    if len(text) <= SHINGLE:
        return {text}
    return {text[i : i + SHINGLE] for i in range(len(text) - SHINGLE + 1)}


def _elements(tokens: tuple[str, ...]) -> list[tuple[str, int]]:
    """The words of a text as a set: a repeated word is (word, 1), (word, 2)..."""
    seen: Counter[str] = Counter()
    out = []
    for token in tokens:
        seen[token] += 1
        out.append((token, seen[token]))
    return out


@lru_cache(maxsize=1)
def _permutations() -> tuple[object, object]:
    # Fixed (a, b) pairs from a hash of their index: the same signatures in every process.
    import numpy as np

    a, b = [], []
    for i in range(NUM_PERM):
        digest = hashlib.blake2b(f"ftui-minhash-{i}".encode(), digest_size=8).digest()
        a.append(int.from_bytes(digest[:4], "little") % (_PRIME - 1) + 1)
        b.append(int.from_bytes(digest[4:], "little") % _PRIME)
    return np.array(a, dtype=np.uint64)[:, None], np.array(b, dtype=np.uint64)[:, None]


def minhash(tokens: tuple[str, ...]) -> tuple[int, ...]:
    """The MinHash signature of a text's shingles: for each permutation, the least value."""
    import numpy as np

    a, b = _permutations()
    hashes = np.array(
        [zlib.crc32(s.encode()) % _PRIME for s in shingles(tokens)],
        dtype=np.uint64,
    )
    # a < 2^31 and h < 2^31: a·h + b stays inside 64 bits.
    values = (a * hashes[None, :] + b) % np.uint64(_PRIME)  # type: ignore[operator]
    return tuple(values.min(axis=1).tolist())
