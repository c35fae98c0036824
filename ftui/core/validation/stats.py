"""Dataset statistics for `ftui stats`: counts, token distributions, role patterns, prompts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ftui.core.validation.report import ValidationReport, kinds_text

BAR_WIDTH = 30


def power_of_two_histogram(values: Iterable[int]) -> list[tuple[str, int]]:
    """Counts of values in buckets [0,16), [16,32), [32,64), ... up to the largest value."""
    counts: dict[int, int] = {}
    for value in values:
        bucket = max(4, max(0, value).bit_length())  # 2**(b-1) <= value < 2**b
        counts[bucket] = counts.get(bucket, 0) + 1
    if not counts:
        return []
    rows = []
    for bucket in range(min(counts), max(counts) + 1):
        low = 0 if bucket == 4 else 1 << (bucket - 1)
        high = 1 << bucket
        rows.append((f"{low:,}–{high - 1:,}", counts.get(bucket, 0)))
    return rows


def bars(rows: Sequence[tuple[str, int]], width: int = BAR_WIDTH) -> list[str]:
    if not rows:
        return ["  (none)"]
    peak = max(count for _, count in rows) or 1
    label_width = max(len(label) for label, _ in rows)
    return [
        f"  {label:>{label_width}} │{'█' * round(width * count / peak):<{width}} {count:,}"
        for label, count in rows
    ]


def stats_dict(report: ValidationReport) -> dict[str, Any]:
    return {
        "path": report.path,
        "format": report.format,
        "examples": report.examples,
        "errors": report.errors,
        "warnings": report.warnings,
        "tokens": report.tokens.to_json_dict(),
        "assistant_tokens": report.assistant_tokens.to_json_dict(),
        "billing": report.billing.to_json_dict(),
        "kinds": dict(sorted(report.kinds.items())),
        "messages_per_example": {str(k): v for k, v in sorted(report.messages_per_example.items())},
        "tokens_histogram": dict(power_of_two_histogram(report.tokens_per_example)),
        "role_patterns": dict(report.role_patterns.most_common(20)),
        "system_prompts": [
            {"preview": preview, "examples": count} for preview, count in report.system_prompts
        ],
    }


def format_stats(report: ValidationReport) -> str:
    t, a = report.tokens, report.assistant_tokens
    out = [
        f"{report.path}",
        f"  format {report.format} · {report.examples:,} examples · "
        f"{report.errors:,} errors · {report.warnings:,} warnings "
        "(`ftui validate` lists them)",
        *([f"  {kinds_text(report.kinds)}"] if kinds_text(report.kinds) else []),
        "",
        f"  tokens per example ({t.encoding}): total {t.total:,} · min {t.min:,} · "
        f"p50 {t.p50:,} · mean {t.mean:,.1f} · p95 {t.p95:,} · max {t.max:,}",
        *bars(power_of_two_histogram(report.tokens_per_example)),
        "",
        f"  assistant tokens per example: total {a.total:,} · min {a.min:,} · p50 {a.p50:,} · "
        f"mean {a.mean:,.1f} · p95 {a.p95:,} · max {a.max:,}",
        "",
        "  messages per example:",
        *bars([(str(k), v) for k, v in sorted(report.messages_per_example.items())][:30]),
        "",
        "  conversation shapes (S system, U user, A assistant, T tool; UA×n: n exchanges):",
        *bars(report.role_patterns.most_common(10)),
    ]
    if report.system_prompts:
        out += ["", "  system prompts:"]
        out += [f"  {count:>8,} × {preview[:70]!r}" for preview, count in report.system_prompts[:5]]
    b = report.billing
    cost = (
        f"≈ ${b.estimated_cost_usd:,.2f}" if b.estimated_cost_usd is not None else "price unknown"
    )
    out += [
        "",
        f"  training on {b.model}: {b.epochs} epoch(s), {b.billed_tokens:,} billed tokens, {cost}",
    ]
    return "\n".join(out)
