"""Reference-based text metrics for one answer, with a tokenizer that reads every script.

rouge-score's default tokenizer keeps only [a-z0-9], so Chinese, Japanese, Korean, Thai,
Cyrillic or Arabic answers score 0 against any reference. Ours, `tokenize`:

- casefolds, then splits on anything that is not a letter, a mark or a digit (Unicode-aware:
  "Привет, мир" is two words, "naïve" one);
- makes each character of the scripts written without spaces between words (Han, kana,
  Hangul, Thai, Lao, Khmer, Myanmar, Tibetan) a token of its own, with its combining marks;
- stems ASCII words longer than three letters with the Porter stemmer, as rouge-score does with
  `use_stemmer=True`, so English scores as it always has.

`length_ratio` and `word_overlap` count the same tokens unstemmed: words, or characters for
CJK and Thai. Every metric is in [0, 1] except `length_ratio` (answer over reference, with an
empty reference counted as one token, so the ratio stays finite).
"""

from __future__ import annotations

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


def _is_character_script(char: str) -> bool:
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _CHARACTER_SCRIPTS)


def words(text: str) -> list[str]:
    """The unstemmed tokens of `text`: casefolded words, one token per CJK or Thai character."""
    tokens: list[str] = []
    current: list[str] = []
    per_char = False  # whether `current` is a single character-script token

    def flush() -> None:
        if current:
            tokens.append("".join(current))
            current.clear()

    for char in unicodedata.normalize("NFKC", text).casefold():
        category = unicodedata.category(char)
        if category[0] == "M":  # a combining mark belongs to what it follows
            if current:
                current.append(char)
            continue
        if category[0] not in "LN":
            flush()
            continue
        if _is_character_script(char):
            flush()
            current.append(char)
            per_char = True
            continue
        if per_char:
            flush()
            per_char = False
        current.append(char)
    flush()
    return tokens


def answer_length(text: str) -> int:
    """An answer's length in tokens: words, or characters for CJK and Thai."""
    return len(words(text))


class ScriptAwareTokenizer:
    """rouge-score's tokenizer interface (`tokenize(text) -> list[str]`), for every script."""

    def __init__(self, *, stem: bool = True) -> None:
        self._stem = _stemmer() if stem else None

    def tokenize(self, text: str) -> list[str]:
        tokens = words(text)
        if self._stem is None:
            return tokens
        stem = self._stem
        return [stem(t) if len(t) > 3 and t.isascii() and t.isalpha() else t for t in tokens]


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
        metrics.update({name: float(scores[name].fmeasure) for name in ROUGE_TYPES})
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

    return RougeScorer(list(ROUGE_TYPES), tokenizer=ScriptAwareTokenizer())


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    from nltk.stem import porter

    stemmer = porter.PorterStemmer()
    return lru_cache(maxsize=65536)(stemmer.stem)
