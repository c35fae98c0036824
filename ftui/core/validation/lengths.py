"""Reply lengths judged against the dataset's own distribution, in tokens.

A reply is worth a look when it is an outlier of *this* file: far outside the file's own spread
of reply lengths, measured in log-tokens with Tukey's outer fences (3 × the interquartile range
beyond the quartiles). So "You too!" in a chit-chat corpus and a 600-token essay in AlpacaEval
pass, and a 3-token reply in a file of 300-token answers, or an 8,000-token one among 10-token
ones, is flagged. Tokens rather than characters judge scripts that pack more meaning per
character fairly. A file whose replies are mostly terse gets one summary line instead.
"""

from __future__ import annotations

import math
from collections import Counter

from ftui.core.findings import Finding, Severity
from ftui.core.validation.analysis import ExampleAnalysis

FENCE_IQRS = 3.0
# A file whose replies are all about as long still tolerates replies 8x shorter (2**3) and
# 3.4x longer (1.5**3) than its quartiles.
MIN_LOG_SPREAD_SHORT = math.log(2)
MIN_LOG_SPREAD_LONG = math.log(1.5)
MIN_REPLIES_FOR_FENCES = 20  # fewer replies say nothing about a distribution
SHORT_MAX_TOKENS = 3  # a reply longer than this is never "too short" to look at
LONG_MIN_TOKENS = 256  # a reply of a few paragraphs is never "too long" to look at
SMALL_FILE_LONG_TOKENS = 2_048  # the bar when a file has too few replies for fences
TERSE_TOKENS = 5
TERSE_SHARE = 0.10
CANDIDATES_KEPT = 100_000


class ReplyLengths:
    """Accumulates reply lengths example by example; `findings()` judges them at the end."""

    def __init__(self) -> None:
        self.histogram: Counter[int] = Counter()
        # (index, line, tokens, message index) of examples that may be flagged, whatever the
        # fences turn out to be; bounded, since a file can only have so many outliers.
        self.short: list[tuple[int, int, int, int]] = []
        self.long: list[tuple[int, int, int, int]] = []

    def add(self, result: ExampleAnalysis) -> None:
        replies = result.reply_tokens
        if not replies:
            return
        self.histogram.update(replies)
        shortest, longest = min(replies), max(replies)
        if shortest <= SHORT_MAX_TOKENS and len(self.short) < CANDIDATES_KEPT:
            self.short.append((result.index, result.line, shortest, result.shortest_at))
        if longest >= LONG_MIN_TOKENS and len(self.long) < CANDIDATES_KEPT:
            self.long.append((result.index, result.line, longest, result.longest_at))

    def fences(self) -> tuple[float, float] | None:
        """(low, high) reply-token fences of this file, or None with too few replies."""
        total = sum(self.histogram.values())
        if total < MIN_REPLIES_FOR_FENCES:
            return None
        q1, q3 = _quantile(self.histogram, total, 0.25), _quantile(self.histogram, total, 0.75)
        spread = math.log(max(q3, 1)) - math.log(max(q1, 1))
        low = math.exp(math.log(max(q1, 1)) - FENCE_IQRS * max(spread, MIN_LOG_SPREAD_SHORT))
        high = math.exp(math.log(max(q3, 1)) + FENCE_IQRS * max(spread, MIN_LOG_SPREAD_LONG))
        return low, high

    def findings(self, severity_of: dict[str, Severity]) -> list[Finding]:
        total = sum(self.histogram.values())
        out: list[Finding] = []
        fences = self.fences()
        low, high = fences if fences is not None else (0.0, float(SMALL_FILE_LONG_TOKENS))
        median = _quantile(self.histogram, total, 0.5) if total else 0
        short = [(line, tokens) for _, line, tokens, _ in self.short if 1 <= tokens < low]
        if short:
            # One line: a few-token answer is as often right ("Positive", "Canberra") as cut
            # off, so the file gets the count and where to look, not a finding per reply.
            lines = ", ".join(str(line) for line, _ in short[:5])
            out.append(
                Finding(
                    "short_assistant_reply",
                    severity_of["short_assistant_reply"],
                    0,
                    -1,
                    f"{len(short):,} example(s) have a reply of {max(t for _, t in short)} "
                    f"tokens or fewer where this file's replies run to {median:,} (median), "
                    f"e.g. lines {lines}; check they are whole answers",
                )
            )
        for index, line, tokens, at in self.long:
            if tokens > max(high, LONG_MIN_TOKENS):
                out.append(
                    Finding(
                        "long_assistant_reply",
                        severity_of["long_assistant_reply"],
                        line,
                        index,
                        f"message {at + 1} is a {tokens:,}-token reply, far beyond this file's "
                        f"(median {median:,}); check it is one answer, not several pasted together",
                        at,
                    )
                )
        terse = sum(n for tokens, n in self.histogram.items() if tokens < TERSE_TOKENS)
        if total >= MIN_REPLIES_FOR_FENCES and terse >= TERSE_SHARE * total:
            out.append(
                Finding(
                    "terse_replies",
                    severity_of["terse_replies"],
                    0,
                    -1,
                    f"{terse / total:.0%} of replies ({terse:,} of {total:,}) are under "
                    f"{TERSE_TOKENS} tokens; fine for chit-chat, but the model will learn to "
                    "answer as briefly",
                )
            )
        return out


def _quantile(histogram: Counter[int], total: int, q: float) -> int:
    """Nearest-rank quantile of the values a histogram counts."""
    rank = max(1, math.ceil(total * q))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return 0
