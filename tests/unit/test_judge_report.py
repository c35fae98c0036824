"""The report: per-example results, summary numbers, JSON keys and numbers, Markdown."""

from __future__ import annotations

import json

import pytest

from ftui.core.judge.metrics import METRIC_NAMES
from ftui.core.judge.report import ExampleResult, JudgeReport
from ftui.core.judge.stats import wilson_interval


def _examples() -> list[ExampleResult]:
    rows = [
        # key, reference, answer a, answer b, verdicts (ab, ba), human
        ("k1", "Paris", "Lyon", "Paris", ("B", "A"), "b"),
        ("k2", "4", "4", "4", ("C", "C"), "tie"),
        ("k3", "blue", "blue", "The sky is green, surely.", ("A", "B"), "a"),
        ("k4", "Rome", "Rome", "Milan", ("A", "A"), None),  # position-following: a tie
        ("k5", "Oslo", "Oslo", "Bergen", (None, "B"), "a"),  # no verdict in one order
    ]
    return [
        ExampleResult.build(
            key, f"Question {key}?", ref, a, b, verdicts=v, human=h, explanation=f"why {key}"
        )
        for key, ref, a, b, v, h in rows
    ]


def _report() -> JudgeReport:
    return JudgeReport(
        a="openai:gpt-4o-mini",
        b="run:20261201-abc",
        judge="openai:gpt-4o",
        n=6,
        examples=_examples(),
        eval_set="eval.jsonl",
        settings={"temperature": 0.0, "max_tokens": 256, "rubric": "Prefer correct answers."},
    )


def test_build_works_out_metrics_length_and_outcome() -> None:
    k1, k2, k3, k4, k5 = _examples()
    assert k1.outcome == "b" and k2.outcome == "tie" and k3.outcome == "a"
    assert k4.outcome == "tie" and k4.position_flip and not k2.position_flip
    assert k5.outcome == "unknown"
    assert k1.metrics_b["exact_match"] == 1.0 and k1.metrics_a["exact_match"] == 0.0
    assert k3.len_diff == 5 - 1
    unjudged = ExampleResult.build("k", "Q", None, "x", "y z")
    assert unjudged.outcome is None and unjudged.metrics_a == {} and unjudged.len_diff == 1


def test_summary_numbers() -> None:
    report = _report()
    llm = report.llm_tally()
    assert (llm.b_wins, llm.a_wins, llm.ties, llm.unknown) == (1, 1, 2, 1)
    human = report.human_tally()
    assert (human.b_wins, human.a_wins, human.ties, human.unknown) == (1, 2, 1, 0)
    means = report.metric_means()
    assert set(means) == set(METRIC_NAMES)
    assert means["exact_match"]["a"] == pytest.approx(4 / 5)
    assert means["exact_match"]["b"] == pytest.approx(2 / 5)
    tallies = report.metric_tallies()
    em = tallies["exact_match"]
    assert (em.b_wins, em.a_wins, em.ties) == (1, 3, 1)
    assert "length_ratio" not in tallies
    # Human against LLM on k1, k2, k3 (k5's LLM outcome is unknown; k4 has no vote).
    agreed = report.agreement()
    assert agreed.n == 3 and agreed.rate == 1.0
    worst = report.worst()
    assert [e.key for e in worst[:2]] == ["k3", "k5"]  # k3: both judges; k5: the human
    assert [e.key for e in report.worst(n=1)] == ["k3"]


def test_to_json_dict_keys_and_numbers() -> None:
    data = _report().to_json_dict()
    json.dumps(data)  # JSON all the way down
    for key in (
        "n",
        "metrics",
        "judge",
        "human",
        "agreement",
        "length_controlled_win_rate",
        "warnings",
    ):
        assert key in data
    assert data["n"] == 6 and data["completed"] == 5
    assert data["metrics"]["rougeL"]["a"] == pytest.approx(0.8)
    assert data["metrics"]["exact_match"]["b"] == pytest.approx(0.4)
    judge = data["judge"]
    assert {k: judge[k] for k in ("b_wins", "a_wins", "ties", "unknown")} == {
        "b_wins": 1,
        "a_wins": 1,
        "ties": 2,
        "unknown": 1,
    }
    assert judge["b_win_rate"] == pytest.approx(0.5)
    assert judge["ci95"] == pytest.approx(list(wilson_interval(2, 4)))
    assert data["human"]["b_win_rate"] == pytest.approx(1.5 / 4)
    assert data["agreement"] == {"n": 3, "rate": 1.0, "kappa": pytest.approx(1.0)}
    assert data["length_controlled_win_rate"] is None  # 4 judged pairs: too few
    warnings = " ".join(data["warnings"])
    assert "Only 5 of 6" in warnings
    assert "can't tell B from A" in warnings
    assert "1 of 5 pairs got no clear verdict" in warnings
    assert "swapped places" in warnings
    assert "length-controlled" in warnings
    assert data["judge_model"] == "openai:gpt-4o" and data["worst"][0] == "k3"
    assert [e["key"] for e in data["examples"]] == ["k1", "k2", "k3", "k4", "k5"]
    assert data["examples"][4]["verdicts"] == [None, "B"]


def test_a_report_without_references_or_judge() -> None:
    examples = [
        ExampleResult.build(f"k{i}", "Q", None, "short", "a longer answer") for i in range(3)
    ]
    report = JudgeReport(a="A", b="B", judge=None, n=3, examples=examples)
    data = report.to_json_dict()
    assert data["metrics"]["rougeL"] == {"a": None, "b": None}
    assert data["judge"]["b_win_rate"] is None and data["judge"]["ci95"] is None
    assert any("no example has a reference answer" in w.lower() for w in data["warnings"])
    assert report.worst() == []
    text = report.to_markdown()
    assert "No LLM judge ran." in text and "No votes." in text


def test_markdown_report() -> None:
    text = _report().to_markdown()
    assert text.startswith("# A/B judge: run:20261201-abc (B) against openai:gpt-4o-mini (A)")
    for heading in (
        "## Settings",
        "## Text metrics",
        "## LLM judge",
        "## Human votes",
        "## Agreement",
        "## Warnings",
        "## Where B lost worst",
    ):
        assert heading in text
    assert "Prefer correct answers." in text
    assert "| rougeL | 0.800 |" in text
    assert "B won 1, A won 1, ties 2, unknown 1." in text and "95% interval" in text
    assert "n/a (needs 20 judged pairs)" in text
    assert "The sky is green, surely." in text and "why k3" in text
    assert "Cohen's kappa 1.00" in text


def test_markdown_fences_hold_answers_with_backticks() -> None:
    answer = "Use:\n```python\nprint(1)\n```"
    example = ExampleResult.build("k", "Q", "print(1)", "print(1)", answer, verdicts=("A", "B"))
    text = JudgeReport(a="A", b="B", judge="J", n=1, examples=[example]).to_markdown()
    assert "````text\n" + answer + "\n````" in text
