"""One A/B comparison's results: per example, the summary numbers, JSON and Markdown.

B is the model under test (the fine-tune), A the baseline: every tally counts B's wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ftui.core.judge.metrics import METRIC_NAMES, answer_length, text_metrics
from ftui.core.judge.stats import (
    MIN_LC_EXAMPLES,
    Agreement,
    Tally,
    agreement,
    length_controlled_win_rate,
    too_few_to_tell,
)
from ftui.core.judge.verdicts import Outcome, Verdict, combine

# The metrics where a higher score is better (a length ratio is neither).
COMPARED_METRICS = tuple(name for name in METRIC_NAMES if name != "length_ratio")
MARKDOWN_TEXT_LIMIT = 1200


@dataclass
class ExampleResult:
    key: str
    question: str
    reference: str | None
    answer_a: str
    answer_b: str
    metrics_a: dict[str, float] = field(default_factory=dict)  # empty without a reference
    metrics_b: dict[str, float] = field(default_factory=dict)
    outcome: Outcome | None = None  # the LLM judge's, both orders combined; None: not judged
    human: Outcome | None = None  # the blind vote; None: no vote (or skipped)
    verdicts: tuple[str | None, str | None] = (None, None)  # the judge's, order ab then ba
    explanation: str | None = None
    len_diff: int = 0  # B's answer length minus A's, in tokens (words; characters for CJK)
    note: str | None = None  # the human voter's note, if any

    @classmethod
    def build(
        cls,
        key: str,
        question: str,
        reference: str | None,
        answer_a: str,
        answer_b: str,
        *,
        verdicts: tuple[Verdict | None, Verdict | None] | None = None,
        explanation: str | None = None,
        human: Outcome | None = None,
    ) -> ExampleResult:
        """A result with its metrics, length difference and outcome worked out.

        `verdicts` None: no LLM judge ran (outcome None); otherwise the parsed verdicts of the
        two orders, combined by `verdicts.combine`.
        """
        return cls(
            key=key,
            question=question,
            reference=reference,
            answer_a=answer_a,
            answer_b=answer_b,
            metrics_a=text_metrics(answer_a, reference) if reference is not None else {},
            metrics_b=text_metrics(answer_b, reference) if reference is not None else {},
            outcome=combine(*verdicts) if verdicts is not None else None,
            human=human,
            verdicts=verdicts if verdicts is not None else (None, None),
            explanation=explanation,
            len_diff=answer_length(answer_b) - answer_length(answer_a),
        )

    @property
    def position_flip(self) -> bool:
        """Both orders judged and the verdict followed the position, not the answer."""
        ab, ba = self.verdicts
        return (
            ab is not None and ba is not None and self.outcome == "tie" and (ab, ba) != ("C", "C")
        )


@dataclass
class JudgeReport:
    a: str  # model A's spec (the baseline)
    b: str  # model B's spec (the model under test)
    judge: str | None  # the judge's spec; None: no LLM judge
    n: int  # the examples asked for
    examples: list[ExampleResult]
    eval_set: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # temperature, max tokens, rubric...

    # ------------------------------------------------------------------ numbers

    def _with_metrics(self) -> list[ExampleResult]:
        return [e for e in self.examples if e.metrics_a and e.metrics_b]

    def metric_means(self) -> dict[str, dict[str, float | None]]:
        """Each metric's mean for A and B over the examples with a reference (None: none)."""
        scored = self._with_metrics()
        means: dict[str, dict[str, float | None]] = {}
        for name in METRIC_NAMES:
            if scored:
                means[name] = {
                    "a": sum(e.metrics_a[name] for e in scored) / len(scored),
                    "b": sum(e.metrics_b[name] for e in scored) / len(scored),
                }
            else:
                means[name] = {"a": None, "b": None}
        return means

    def metric_tallies(self) -> dict[str, Tally]:
        """Per metric where higher is better: B's wins, A's wins and ties, example by example."""
        tallies = {}
        for name in COMPARED_METRICS:
            outcomes: list[Outcome] = []
            for e in self._with_metrics():
                a, b = e.metrics_a[name], e.metrics_b[name]
                outcomes.append("b" if b > a else "a" if a > b else "tie")
            tallies[name] = Tally.from_outcomes(outcomes)
        return tallies

    def llm_tally(self) -> Tally:
        return Tally.from_outcomes(e.outcome for e in self.examples if e.outcome is not None)

    def human_tally(self) -> Tally:
        return Tally.from_outcomes(e.human for e in self.examples if e.human is not None)

    def agreement(self) -> Agreement:
        """Human votes against the LLM judge's outcomes, on the examples that have both."""
        return agreement(
            (e.human, e.outcome)
            for e in self.examples
            if e.human is not None and e.outcome is not None
        )

    def length_controlled_win_rate(self) -> float | None:
        judged = [e for e in self.examples if e.outcome is not None]
        return length_controlled_win_rate(
            [e.outcome for e in judged if e.outcome is not None],
            [answer_length(e.answer_a) for e in judged],
            [answer_length(e.answer_b) for e in judged],
        )

    def worst(self, n: int = 5) -> list[ExampleResult]:
        """The examples B lost worst: lost by both judges first, then by the biggest ROUGE-L
        gap. Without any verdict, the biggest ROUGE-L gaps in A's favour."""

        def rouge_gap(e: ExampleResult) -> float:
            if not (e.metrics_a and e.metrics_b):
                return 0.0
            return e.metrics_a["rougeL"] - e.metrics_b["rougeL"]

        def losses(e: ExampleResult) -> int:
            return (e.outcome == "a") + (e.human == "a")

        lost = [e for e in self.examples if losses(e) > 0]
        if not lost and not any(e.outcome or e.human for e in self.examples):
            lost = [e for e in self.examples if rouge_gap(e) > 0]
        lost.sort(key=lambda e: (-losses(e), -rouge_gap(e), e.key))
        return lost[:n]

    def warnings(self) -> list[str]:
        out: list[str] = []
        done = len(self.examples)
        if done < self.n:
            out.append(f"Only {done} of {self.n} examples finished: the numbers cover those.")
        if self.examples and not self._with_metrics():
            out.append("No example has a reference answer: the text metrics are not computed.")
        if self.judge is not None:
            llm = self.llm_tally()
            warning = too_few_to_tell(llm)
            if warning:
                out.append(f"LLM judge: {warning}")
            if llm.unknown:
                out.append(
                    f"LLM judge: {llm.unknown} of {llm.n + llm.unknown} pairs got no clear "
                    "verdict in one order or both; they are counted as unknown, never guessed "
                    "(read the judge's replies, or give it more max tokens)."
                )
            flips = sum(e.position_flip for e in self.examples)
            if flips:
                out.append(
                    f"LLM judge: on {flips} of {llm.n} judged pairs the verdict changed when "
                    "the answers swapped places (counted as ties): a sign of position bias."
                )
            if 0 < llm.n < MIN_LC_EXAMPLES:
                out.append(
                    f"No length-controlled win rate: it needs at least {MIN_LC_EXAMPLES} "
                    f"judged pairs ({llm.n} here)."
                )
        human = self.human_tally()
        if human.n:
            warning = too_few_to_tell(human)
            if warning:
                out.append(f"Human votes: {warning}")
        return out

    # ------------------------------------------------------------------ exports

    def to_json_dict(self) -> dict[str, Any]:
        agreed = self.agreement()
        return {
            "a": self.a,
            "b": self.b,
            "judge_model": self.judge,
            "eval_set": self.eval_set,
            "settings": dict(self.settings),
            "n": self.n,
            "completed": len(self.examples),
            "metrics": self.metric_means(),
            "metric_tallies": {k: t.to_json() for k, t in self.metric_tallies().items()},
            "judge": self.llm_tally().to_json(),
            "human": self.human_tally().to_json(),
            "agreement": {"n": agreed.n, "rate": agreed.rate, "kappa": agreed.kappa},
            "length_controlled_win_rate": self.length_controlled_win_rate(),
            "warnings": self.warnings(),
            "worst": [e.key for e in self.worst()],
            "examples": [_example_json(e) for e in self.examples],
        }

    def to_markdown(self) -> str:
        lines = [f"# A/B judge: {_inline(self.b)} (B) against {_inline(self.a)} (A)", ""]
        lines += ["## Settings", ""]
        settings: list[tuple[str, Any]] = [
            ("Model A", self.a),
            ("Model B", self.b),
            ("Judge", self.judge or "none"),
            ("Eval set", self.eval_set or "—"),
            ("Examples", f"{len(self.examples)} of {self.n}"),
            *((str(k), v) for k, v in self.settings.items() if k != "rubric"),
        ]
        lines += [f"- {name}: {_inline(str(value))}" for name, value in settings]
        rubric = self.settings.get("rubric")
        if rubric:
            lines += ["", "Rubric:", "", _fenced(str(rubric))]
        lines += ["", "## Text metrics (against the reference)", ""]
        means = self.metric_means()
        tallies = self.metric_tallies()
        lines += ["| metric | A | B | B better / worse / same |", "|---|---:|---:|---|"]
        for name in METRIC_NAMES:
            a, b = means[name]["a"], means[name]["b"]
            tally = tallies.get(name)
            counts = f"{tally.b_wins} / {tally.a_wins} / {tally.ties}" if tally else "—"
            lines.append(f"| {name} | {_number(a)} | {_number(b)} | {counts} |")
        lines += ["", "## LLM judge (both orders; a disagreement is a tie)", ""]
        if self.judge is None:
            lines.append("No LLM judge ran.")
        else:
            lines.append(_tally_line(self.llm_tally()))
            lc = self.length_controlled_win_rate()
            lines.append("")
            lines.append(
                f"Length-controlled win rate of B: {lc:.1%}"
                if lc is not None
                else f"Length-controlled win rate of B: n/a (needs {MIN_LC_EXAMPLES} judged pairs)"
            )
        lines += ["", "## Human votes (blind)", ""]
        human = self.human_tally()
        lines.append(_tally_line(human) if human.n else "No votes.")
        agreed = self.agreement()
        lines += ["", "## Agreement, human and LLM judge", ""]
        if agreed.n:
            kappa = f"{agreed.kappa:.2f}" if agreed.kappa is not None else "undefined"
            rate = agreed.rate if agreed.rate is not None else 0.0
            lines.append(
                f"{rate:.0%} of {agreed.n} examples judged by both; Cohen's kappa {kappa}."
            )
        else:
            lines.append("No example was judged by both.")
        warnings = self.warnings()
        if warnings:
            lines += ["", "## Warnings", ""]
            lines += [f"- {w}" for w in warnings]
        worst = self.worst()
        if worst:
            lines += ["", f"## Where B lost worst ({len(worst)})", ""]
            for i, e in enumerate(worst, 1):
                lines += _example_markdown(i, e)
        noted = [e for e in self.examples if e.note]
        if noted:
            lines += ["", f"## Voters' notes ({len(noted)})", ""]
            lines += [
                f"- `{e.key}` ({e.human or 'skipped'}): {_inline(e.note or '')}" for e in noted
            ]
        return "\n".join(lines).rstrip() + "\n"


def _example_json(e: ExampleResult) -> dict[str, Any]:
    return {
        "key": e.key,
        "question": e.question,
        "reference": e.reference,
        "answer_a": e.answer_a,
        "answer_b": e.answer_b,
        "metrics_a": e.metrics_a,
        "metrics_b": e.metrics_b,
        "outcome": e.outcome,
        "human": e.human,
        "verdicts": list(e.verdicts),
        "explanation": e.explanation,
        "len_diff": e.len_diff,
        "note": e.note,
    }


def _tally_line(t: Tally) -> str:
    rate = t.b_win_rate
    ci = t.ci95
    head = f"B won {t.b_wins}, A won {t.a_wins}, ties {t.ties}, unknown {t.unknown}."
    if rate is None or ci is None:
        return head + " Nothing judged."
    return (
        head
        + f" B's win rate (a tie counts half): {rate:.1%}, 95% interval [{ci[0]:.1%}, {ci[1]:.1%}]."
    )


def _example_markdown(i: int, e: ExampleResult) -> list[str]:
    verdicts = " / ".join(v or "none" for v in e.verdicts)
    head = (
        f"### {i}. `{e.key}` — judge: {e.outcome or '—'} (verdicts {verdicts}), "
        f"human: {e.human or '—'}, B − A length: {e.len_diff:+d}"
    )
    out = [head, "", "Question:", "", _fenced(e.question)]
    if e.reference is not None:
        out += ["", "Reference:", "", _fenced(e.reference)]
    out += ["", "A:", "", _fenced(e.answer_a), "", "B:", "", _fenced(e.answer_b)]
    if e.explanation:
        out += ["", "Judge's explanation:", "", _fenced(e.explanation)]
    if e.note:
        out += ["", "Voter's note:", "", _fenced(e.note)]
    return [*out, ""]


def _fenced(text: str) -> str:
    if len(text) > MARKDOWN_TEXT_LIMIT:
        text = text[:MARKDOWN_TEXT_LIMIT] + f"… ({len(text) - MARKDOWN_TEXT_LIMIT} more characters)"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _inline(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
