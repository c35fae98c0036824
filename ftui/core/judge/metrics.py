"""Reference-based text metrics for one answer, with a tokenizer that reads every script.

rouge-score's default tokenizer keeps only [a-z0-9], so Chinese, Japanese, Korean, Thai,
Cyrillic or Arabic answers score 0 against any reference. Ours (`words`, and
`ScriptAwareTokenizer` for rouge-score):

- casefolds, then splits on anything that is not a letter, a mark or a digit (Unicode-aware:
  "Привет, мир" is two words, "naïve" one);
- makes each character of the scripts written without spaces between words (Han, kana,
  Hangul, Thai, Lao, Khmer, Myanmar, Tibetan) a token of its own, with its combining marks;
- stems ASCII words longer than three letters with the Porter stemmer, as rouge-score does with
  `use_stemmer=True`, so English scores as it always has.

ROUGE-1 and ROUGE-2 come from rouge-score's `RougeScorer` with that tokenizer; ROUGE-L from the
same tokens by a bit-parallel LCS (the same length as rouge-score's table, 50× faster).
`length_ratio` and `word_overlap` count the same tokens unstemmed: words, or characters for
CJK and Thai. Every metric is in [0, 1] except `length_ratio` (answer over reference, with an
empty reference counted as one token, so the ratio stays finite).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Any

METRIC_NAMES = ("exact_match", "length_ratio", "word_overlap", "rouge1", "rouge2", "rougeL")
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")

# Scripts whose words are not separated by spaces: one token per character (code point ranges).
_CHARACTER_SCRIPTS = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x31FF),  # Bopomofo, Hangul compatibility Jamo, Katakana extension
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFFDC),  # half-width Katakana and Hangul
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(a run of letters, digits and marks; one character-script character with its marks).

    Python's `\\w` leaves combining marks out (Devanagari's vowel signs would split words), so
    the marks are listed once, on first use (about 40 ms).
    """
    codes = [
        code
        for code in (*range(0x20000), *range(0xE0100, 0xE01F0))
        if unicodedata.category(chr(code))[0] == "M"
    ]
    marks = _char_class(codes)
    scripts = "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in _CHARACTER_SCRIPTS)
    # One character class (alternatives are several times slower); `_` is split off below.
    run = re.compile(f"[\\w{marks}]+")
    per_character = re.compile(f"([{scripts}][{marks}]*)")
    return run, per_character


def _char_class(codes: list[int]) -> str:
    """The body of a regex character class holding `codes`, as ranges (sorted input)."""
    parts: list[str] = []
    start = previous = codes[0]
    for code in [*codes[1:], -1]:
        if code == previous + 1:
            previous = code
            continue
        first, last = re.escape(chr(start)), re.escape(chr(previous))
        parts.append(first if start == previous else f"{first}-{last}")
        start = previous = code
    return "".join(parts)


def words(text: str) -> list[str]:
    """The unstemmed tokens of `text`: casefolded words, one token per CJK or Thai character."""
    return list(_tokens(text))


_ASCII_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=1024)
def _tokens(text: str) -> tuple[str, ...]:
    # Cached: a reference is tokenized for each answer and again inside rouge-score.
    if text.isascii():
        return tuple(_ASCII_WORD.findall(text.lower()))
    run, per_character = _patterns()
    tokens: list[str] = []
    for found in run.findall(unicodedata.normalize("NFKC", text).casefold()):
        for word in found.split("_") if "_" in found else (found,):
            if word.isascii():
                tokens.append(word)
            else:
                tokens.extend(part for part in per_character.split(word) if part)
    return tuple(t for t in tokens if t)


def answer_length(text: str) -> int:
    """An answer's length in tokens: words, or characters for CJK and Thai."""
    return len(words(text))


class ScriptAwareTokenizer:
    """rouge-score's tokenizer interface (`tokenize(text) -> list[str]`), for every script."""

    def __init__(self, *, stem: bool = True) -> None:
        self._stem = _stemmer() if stem else None

    def tokenize(self, text: str) -> list[str]:
        tokens = words(text)
        return tokens if self._stem is None else _stemmed(tokens)


def text_metrics(answer: str, reference: str) -> dict[str, float]:
    """Every metric of METRIC_NAMES for one answer against its reference."""
    answer_tokens = words(answer)
    reference_tokens = words(reference)
    metrics = {
        "exact_match": float(_normalise(answer) == _normalise(reference)),
        "length_ratio": len(answer_tokens) / max(len(reference_tokens), 1),
        "word_overlap": _token_f1(answer_tokens, reference_tokens),
    }
    if not answer_tokens or not reference_tokens:
        # rouge-score says 0 for two empty texts; two empty texts are the same text.
        same = float(not answer_tokens and not reference_tokens)
        metrics.update(dict.fromkeys(ROUGE_TYPES, same))
    else:
        scores = _scorer().score(reference, answer)  # reference first: rouge-score's order
        metrics["rouge1"] = float(scores["rouge1"].fmeasure)
        metrics["rouge2"] = float(scores["rouge2"].fmeasure)
        metrics["rougeL"] = _rouge_l(_stemmed(answer_tokens), _stemmed(reference_tokens))
    return metrics


def _normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _token_f1(answer: list[str], reference: list[str]) -> float:
    if not answer or not reference:
        return float(not answer and not reference)
    common = sum((Counter(answer) & Counter(reference)).values())
    if common == 0:
        return 0.0
    precision = common / len(answer)
    recall = common / len(reference)
    return 2 * precision * recall / (precision + recall)


@lru_cache(maxsize=1)
def _scorer() -> Any:
    # rouge-score pulls in nltk and numpy (about 0.4 s): only when the first metric is asked for.
    from rouge_score.rouge_scorer import RougeScorer

    # ROUGE-L is ours (`_rouge_l`): rouge-score fills an n × m table in Python, 30 ms for two
    # 400-word answers; the bit-parallel LCS gives the same length in well under 1 ms.
    return RougeScorer(["rouge1", "rouge2"], tokenizer=ScriptAwareTokenizer())


def _stemmed(tokens: list[str]) -> list[str]:
    stem = _stemmer()
    # rouge-score stems every token longer than three characters; ASCII ones only here (the
    # Porter stemmer is for English).
    return [stem(t) if len(t) > 3 and t.isascii() else t for t in tokens]


def lcs_length(a: list[str], b: list[str]) -> int:
    """The length of the longest common subsequence of two token lists.

    Bit-parallel (Allison and Dix; Hyyrö): one bit per token of `a` in a Python integer, one
    pass over `b` with a few whole-integer operations per token.
    """
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, token in enumerate(a):
        masks[token] = masks.get(token, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for token in b:
        u = v & masks.get(token, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def _rouge_l(answer: list[str], reference: list[str]) -> float:
    lcs = lcs_length(reference, answer)
    if lcs == 0:
        return 0.0
    precision = lcs / len(answer)
    recall = lcs / len(reference)
    return 2 * precision * recall / (precision + recall)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    from nltk.stem import porter

    stemmer = porter.PorterStemmer()
    return lru_cache(maxsize=65536)(stemmer.stem)
