"""A judge session as the store keeps it, back into a `JudgeReport`: the job's rows (one per
example judged) and the blind votes (`RunStore.record_vote`) folded in as `human` outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from ftui.core.judge.report import ExampleResult, JudgeReport
from ftui.core.judge.verdicts import Outcome
from ftui.services.store import JudgeResult

OUTCOMES = ("a", "b", "tie", "unknown")


def example_from_row(row: JudgeResult) -> ExampleResult:
    details: dict[str, Any] = row.details
    scores: dict[str, Any] = row.scores
    verdicts = details.get("verdicts") or [None, None]
    winner = row.winner if row.winner in OUTCOMES else None
    return ExampleResult(
        key=row.example_key or str(row.id),
        question=str(details.get("question") or ""),
        reference=details.get("reference"),
        answer_a=str(details.get("answer_a") or ""),
        answer_b=str(details.get("answer_b") or ""),
        metrics_a=dict(scores.get("a") or {}),
        metrics_b=dict(scores.get("b") or {}),
        outcome=cast(Outcome, winner) if winner else None,
        verdicts=(verdicts[0], verdicts[1]) if len(verdicts) == 2 else (None, None),
        explanation=details.get("explanation"),
        len_diff=int(details.get("len_diff") or 0),
    )


def apply_votes(report: JudgeReport, votes: Mapping[str, JudgeResult]) -> None:
    """Each example's `human` outcome from the votes (a skip or no vote: None)."""
    for example in report.examples:
        vote = votes.get(example.key)
        winner = vote.winner if vote is not None else None
        example.human = cast(Outcome, winner) if winner in ("a", "b", "tie") else None
        example.note = vote.details.get("note") if vote is not None else None


def report_from_rows(
    rows: list[JudgeResult],
    votes: Mapping[str, JudgeResult],
    *,
    n: int | None = None,
    eval_set: str | None = None,
    settings: dict[str, Any] | None = None,
) -> JudgeReport:
    """The report of a stored session (`n`: the examples it was asked for, if known)."""
    first = rows[0] if rows else None
    judge = first.details.get("judge") if first is not None else None
    report = JudgeReport(
        a=first.model_a if first else "",
        b=first.model_b if first else "",
        judge=judge,
        n=max(n or 0, len(rows)),
        examples=[example_from_row(row) for row in rows],
        eval_set=eval_set,
        settings=dict(settings or {}),
    )
    apply_votes(report, votes)
    return report
