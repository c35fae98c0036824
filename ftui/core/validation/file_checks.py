"""Findings about a whole file: its size, its system prompts, its kinds of data, and checks that
fire on so much of it that one summary line says more than a finding per example."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ftui.core.findings import Finding, Severity
from ftui.core.validation.codes import CODES
from ftui.core.validation.report import CodeCount

MIN_EXAMPLES = 10  # OpenAI refuses fewer
RECOMMENDED_EXAMPLES = 50  # OpenAI's advice: clear gains start at 50-100
# Examples without a system message are flagged one by one only when they are the odd ones out.
MISSING_SYSTEM_SHARE = 0.10
# A per-example warning that fires on more of a file than this is a property of the file.
WIDESPREAD_SHARE = 0.20
SUMMARISED_WHEN_WIDESPREAD = ("unfilled_placeholder", "placeholder_reply", "near_duplicate")
# In a small file every finding is quick to read: it keeps them.
SUMMARY_MIN_EXAMPLES = 50


def example_count_findings(n: int) -> list[Finding]:
    if n < MIN_EXAMPLES:
        return [
            Finding(
                "too_few_examples",
                Severity.ERROR,
                0,
                -1,
                f"{n} example(s); OpenAI requires at least {MIN_EXAMPLES} "
                f"(and {RECOMMENDED_EXAMPLES}-100 usually show a clear improvement)",
            )
        ]
    if n < RECOMMENDED_EXAMPLES:
        return [
            Finding(
                "too_few_examples",
                Severity.WARNING,
                0,
                -1,
                f"only {n} examples; OpenAI sees clear improvements from "
                f"{RECOMMENDED_EXAMPLES}-100 well-made examples",
            )
        ]
    return []


def system_message_findings(
    with_system: int, without: int, without_examples: Sequence[tuple[int, int]], prompts: int
) -> list[Finding]:
    """A finding per example without a system message when nearly all others have one; one
    line when the file mixes the two (per-task prompts and none is a choice, not a slip)."""
    if not with_system or not without:
        return []
    total = with_system + without
    if without <= max(1, MISSING_SYSTEM_SHARE * total):
        return [
            Finding(
                "missing_system_message",
                CODES["missing_system_message"][0],
                line,
                index,
                f"no system message, while {with_system:,} of {total:,} examples have one; the "
                "model will behave differently with and without it",
            )
            for index, line in without_examples
        ]
    return [
        Finding(
            "missing_system_message",
            Severity.INFO,
            0,
            -1,
            f"{without:,} of {total:,} examples have no system message and {with_system:,} have "
            f"one ({prompts:,} different); fine if that is by design, else give every example "
            "the prompt it will run with",
        )
    ]


def system_prompt_findings(prompts: list[tuple[str, int, int]], with_system: int) -> list[Finding]:
    """`prompts`: (preview, count, first line) of each distinct system prompt, most common first."""
    if len(prompts) <= 1:
        return []
    top_preview, top_count, _ = prompts[0]
    share = top_count / max(1, with_system)
    severity = Severity.WARNING if share >= 0.5 else Severity.INFO
    odd_lines = ", ".join(str(line) for _, _, line in prompts[1:6])
    advice = (
        f"the odd ones out may be typos (first lines: {odd_lines}); use one prompt if the model "
        "should behave one way"
        if severity is Severity.WARNING
        else "fine if each example's prompt is meant to differ"
    )
    return [
        Finding(
            "inconsistent_system_prompt",
            severity,
            0,
            -1,
            f"{len(prompts):,} different system prompts; the most common "
            f"({top_count:,} of {with_system:,}) starts {top_preview[:50]!r}; " + advice,
        )
    ]


def kind_findings(kinds: Counter[str]) -> list[Finding]:
    """Preference pairs and plain examples in one file: each trainer takes one kind."""
    pairs, plain = kinds.get("dpo", 0), kinds.get("sft", 0)
    labelled = kinds.get("kto+", 0) + kinds.get("kto-", 0)
    present = [(n, what) for n, what in ((pairs, "DPO pairs"), (labelled, "KTO-labelled")) if n]
    if not present or not (plain or len(present) > 1):
        return []
    parts = [f"{n:,} {what}" for n, what in present] + ([f"{plain:,} plain"] if plain else [])
    return [
        Finding(
            "mixed_data_kinds",
            CODES["mixed_data_kinds"][0],
            0,
            -1,
            f"the file mixes kinds of examples ({', '.join(parts)}); a DPO, KTO or SFT trainer "
            "takes one kind: split them into separate files",
        )
    ]


def summarise_widespread(
    findings: list[Finding], counts: dict[str, CodeCount], examples: int
) -> list[Finding]:
    """Replace the findings of a check that fires on much of the file with one summary line."""
    widespread = {
        code
        for code in SUMMARISED_WHEN_WIDESPREAD
        if code in counts
        and examples >= SUMMARY_MIN_EXAMPLES
        and counts[code].count > WIDESPREAD_SHARE * examples
    }
    if not widespread:
        return findings
    kept = [f for f in findings if f.code not in widespread]
    for code in sorted(widespread):
        count = counts[code]
        sample = next((f for f in findings if f.code == code), None)
        detail = f"; e.g. line {sample.line}: {sample.message}" if sample is not None else ""
        kept.append(
            Finding(
                code,
                count.severity,
                0,
                -1,
                f"{count.count / examples:.0%} of examples ({count.count:,} of {examples:,}) "
                f"have this problem{detail}",
            )
        )
        counts[code] = CodeCount(code, count.severity, 1, list(count.first_lines))
    return kept
