"""Text metrics: every script tokenized, English scored as rouge-score always has."""

from __future__ import annotations

import random
import subprocess
import sys
import time

import pytest
from rouge_score.rouge_scorer import RougeScorer

from ftui.core.judge.metrics import (
    METRIC_NAMES,
    answer_length,
    lcs_length,
    text_metrics,
    words,
)


def test_identical_chinese_answers_score_one_and_different_ones_less() -> None:
    reference = "北京是中国的首都，也是政治和文化中心。"
    same = text_metrics(reference, reference)
    assert set(same) == set(METRIC_NAMES)
    assert all(same[name] == 1.0 for name in METRIC_NAMES)
    close = text_metrics("北京是中国的首都。", reference)
    far = text_metrics("上海是中国的港口城市。", reference)
    for name in ("rouge1", "rouge2", "rougeL", "word_overlap"):
        assert 0.0 < far[name] < close[name] < 1.0
    assert close["exact_match"] == 0.0
    # rouge-score alone sees no tokens in Chinese and gives 0 to the identical answer.
    default = RougeScorer(["rouge1"]).score(reference, reference)["rouge1"].fmeasure
    assert default == 0.0


@pytest.mark.parametrize(
    ("same", "other"),
    [
        ("東京は日本の首都です", "大阪は日本の都市です"),
        ("서울은 한국의 수도입니다", "부산은 한국의 항구입니다"),
        ("กรุงเทพเป็นเมืองหลวงของประเทศไทย", "เชียงใหม่อยู่ทางเหนือของประเทศไทย"),
        ("Москва — столица России", "Казань — город в России"),
        ("القاهرة عاصمة مصر", "الإسكندرية مدينة في مصر"),
        ("नई दिल्ली भारत की राजधानी है", "मुंबई भारत का शहर है"),
    ],
)
def test_other_scripts_score_like_chinese(same: str, other: str) -> None:
    assert text_metrics(same, same)["rougeL"] == 1.0
    partial = text_metrics(other, same)["rougeL"]
    assert 0.0 < partial < 1.0


def test_english_scores_as_rouge_score_with_its_stemmer() -> None:
    scorer = RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    pairs = [
        ("The cats are running quickly to the houses.", "A cat runs quick to its house!"),
        ("Paris is the capital of France.", "The capital of France is Paris."),
        ("It's 42, obviously", "The answer is 42"),
    ]
    for answer, reference in pairs:
        ours = text_metrics(answer, reference)
        theirs = scorer.score(reference, answer)
        for name in ("rouge1", "rouge2", "rougeL"):
            assert ours[name] == pytest.approx(theirs[name].fmeasure)


def test_random_ascii_text_scores_exactly_as_rouge_score() -> None:
    scorer = RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    rng = random.Random(11)
    vocab = ["running", "runs", "The", "cat's", "GPT-4", "1990s", "houses,", "a_b", "x", "!", "42."]
    for _ in range(200):
        answer = " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 30)))
        reference = " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 30)))
        ours = text_metrics(answer, reference)
        theirs = scorer.score(reference, answer)
        for name in ("rouge1", "rouge2", "rougeL"):
            assert ours[name] == pytest.approx(theirs[name].fmeasure), (answer, reference, name)


def test_words_are_unicode_aware_and_cjk_is_per_character() -> None:
    assert words("Hello, WORLD! naïve café") == ["hello", "world", "naïve", "café"]
    assert words("我爱北京") == ["我", "爱", "北", "京"]
    assert words("GPT-4は強い") == ["gpt", "4", "は", "強", "い"]
    # A Thai vowel mark stays with its consonant; Devanagari's with its letter.
    assert words("ดี") == ["ดี"]
    assert words("नमस्ते") == ["नमस्ते"]
    assert answer_length("one two three") == 3 and answer_length("北京") == 2


def test_exact_match_length_ratio_and_word_overlap() -> None:
    m = text_metrics("  Paris\n", "paris")
    assert m["exact_match"] == 1.0 and m["length_ratio"] == 1.0
    assert text_metrics("Paris.", "paris")["exact_match"] == 0.0  # punctuation is content
    assert text_metrics("one two three four", "one two")["length_ratio"] == 2.0
    assert text_metrics("北京北京", "北京")["length_ratio"] == 2.0
    # Token F1: 2 shared of 3 and of 4 -> p = 2/3, r = 2/4.
    assert text_metrics("a b c", "a b d e")["word_overlap"] == pytest.approx(
        2 * (2 / 3) * 0.5 / (2 / 3 + 0.5)
    )
    assert text_metrics("x y", "a b")["word_overlap"] == 0.0


def test_empty_texts() -> None:
    both = text_metrics("", "")
    assert both["rougeL"] == 1.0 and both["word_overlap"] == 1.0 and both["exact_match"] == 1.0
    one = text_metrics("", "Paris")
    assert one["rougeL"] == 0.0 and one["word_overlap"] == 0.0 and one["length_ratio"] == 0.0
    assert text_metrics("Paris", "")["length_ratio"] == 1.0  # finite: an empty reference counts one


def test_importing_the_judge_core_loads_no_rouge_nltk_numpy_or_openai() -> None:
    code = (
        "import sys; import ftui.core.judge.report, ftui.core.judge.evalset; "
        "import ftui.core.judge.blind; "
        "print('\\n'.join(sorted(sys.modules)))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout.split()
    )
    assert "ftui.core.judge.metrics" in loaded
    heavy = {"rouge_score", "nltk", "numpy", "openai", "torch", "textual"}
    assert not {m.split(".")[0] for m in loaded} & heavy


def test_our_lcs_is_rouge_scores_lcs() -> None:
    from rouge_score.rouge_scorer import _lcs_table

    rng = random.Random(5)
    for _ in range(500):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 80))]
        b = [rng.choice("abcdef") for _ in range(rng.randint(0, 90))]
        expected = _lcs_table(a, b)[-1][-1] if a and b else 0
        assert lcs_length(a, b) == expected


def test_long_answers_score_fast() -> None:
    rng = random.Random(0)
    vocab = ["the", "model", "answer", "is", "correct", "because", "of", "data", "training", "loss"]
    answers = [" ".join(rng.choice(vocab) for _ in range(400)) for _ in range(20)]
    text_metrics(answers[0], answers[1])  # the first call imports rouge-score
    start = time.perf_counter()
    for i in range(10):
        text_metrics(answers[i], answers[i + 10])
    # rouge-score's own ROUGE-L took about 30 ms a pair here; ours leaves room for a busy CI.
    assert (time.perf_counter() - start) / 10 < 0.02
