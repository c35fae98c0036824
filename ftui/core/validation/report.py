"""The result of validating a dataset: findings, token statistics, billing; as JSON or as text."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ftui.core.findings import SEVERITY_ORDER, Finding, Severity


@dataclass(frozen=True, slots=True)
class TokenStats:
    encoding: str
    count: int = 0  # examples counted
    total: int = 0
    min: int = 0
    max: int = 0
    mean: float = 0.0
    p50: int = 0
    p95: int = 0

    @classmethod
    def from_counts(cls, encoding: str, counts: Iterable[int]) -> TokenStats:
        ordered = sorted(counts)
        n = len(ordered)
        if n == 0:
            return cls(encoding)
        total = sum(ordered)
        return cls(
            encoding=encoding,
            count=n,
            total=total,
            min=ordered[0],
            max=ordered[-1],
            mean=total / n,
            p50=_percentile(ordered, 50),
            p95=_percentile(ordered, 95),
        )

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "encoding": self.encoding,
            "total": self.total,
            "min": self.min,
            "max": self.max,
            "mean": round(self.mean, 2),
            "p50": self.p50,
            "p95": self.p95,
        }


def _percentile(ordered: list[int], q: float) -> int:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return 0
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n*q/100), at least 1
    return ordered[int(rank) - 1]


@dataclass(frozen=True, slots=True)
class Billing:
    model: str
    epochs: int
    token_limit: int | None
    billed_tokens: int
    estimated_cost_usd: float | None
    usd_per_1m_tokens: float | None = None
    prices_as_of: str | None = None
    examples_over_limit: int = 0

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "epochs": self.epochs,
            "token_limit": self.token_limit,
            "billed_tokens": self.billed_tokens,
            "estimated_cost_usd": (
                None if self.estimated_cost_usd is None else round(self.estimated_cost_usd, 4)
            ),
            "usd_per_1m_tokens": self.usd_per_1m_tokens,
            "prices_as_of": self.prices_as_of,
            "examples_over_limit": self.examples_over_limit,
        }


@dataclass(slots=True)
class CodeCount:
    code: str
    severity: Severity
    count: int = 0
    first_lines: list[int] = field(default_factory=list)


@dataclass
class ValidationReport:
    path: str
    format: str
    examples: int
    findings: list[Finding]
    tokens: TokenStats
    assistant_tokens: TokenStats
    billing: Billing
    code_counts: dict[str, CodeCount] = field(default_factory=dict)
    messages_per_example: dict[int, int] = field(default_factory=dict)
    tokens_per_example: array[int] = field(default_factory=lambda: array("q"))
    role_patterns: Counter[str] = field(default_factory=Counter)
    system_prompts: list[tuple[str, int]] = field(default_factory=list)
    findings_truncated: bool = False
    # Examples by kind: "sft", "dpo" (pairs), "kto+" / "kto-" (labelled desirable / undesirable).
    kinds: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    validation: ValidationReport | None = None

    @property
    def errors(self) -> int:
        return sum(c.count for c in self.code_counts.values() if c.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(c.count for c in self.code_counts.values() if c.severity is Severity.WARNING)

    @property
    def infos(self) -> int:
        return sum(c.count for c in self.code_counts.values() if c.severity is Severity.INFO)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def to_json_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "format": self.format,
            "examples": self.examples,
            "errors": self.errors,
            "warnings": self.warnings,
            "infos": self.infos,
            "counts": {
                c.code: {"severity": str(c.severity), "count": c.count}
                for c in sorted_counts(self.code_counts.values())
            },
            "findings": [_finding_json(f) for f in self.findings],
            "findings_truncated": self.findings_truncated,
            "tokens": self.tokens.to_json_dict(),
            "assistant_tokens": self.assistant_tokens.to_json_dict(),
            "billing": self.billing.to_json_dict(),
            "messages_per_example": {
                str(k): v for k, v in sorted(self.messages_per_example.items())
            },
            "kinds": dict(sorted(self.kinds.items())),
        }
        if self.validation is not None:
            data["validation"] = self.validation.to_json_dict()
        return data


def _finding_json(finding: Finding) -> dict[str, Any]:
    data = {
        "code": finding.code,
        "severity": str(finding.severity),
        "line": finding.line,
        "example": finding.example,
        "message": finding.message,
    }
    if finding.message_index is not None:
        data["message_index"] = finding.message_index
    return data


def sorted_counts(counts: Iterable[CodeCount]) -> list[CodeCount]:
    return sorted(counts, key=lambda c: (SEVERITY_ORDER[c.severity], -c.count, c.code))


# --------------------------------------------------------------------------- text


def kinds_text(kinds: dict[str, int]) -> str:
    """ "preference data: 300 DPO pairs" (empty for plain SFT data)."""
    parts = []
    if kinds.get("dpo"):
        parts.append(f"{kinds['dpo']:,} DPO pairs")
    if kinds.get("kto+") or kinds.get("kto-"):
        parts.append(
            f"{kinds.get('kto+', 0):,} KTO examples labelled desirable and "
            f"{kinds.get('kto-', 0):,} undesirable"
        )
    if not parts:
        return ""
    plain = f", {kinds['sft']:,} plain examples" if kinds.get("sft") else ""
    return "preference data: " + ", ".join(parts) + plain


def _lines_text(lines: list[int], count: int) -> str:
    shown = [str(n) for n in lines if n > 0]
    if not shown:
        return ""
    more = count - len(shown)
    return "lines " + ", ".join(shown) + (f" (+{more:,} more)" if more > 0 else "")


def format_report(report: ValidationReport, *, examples_per_code: int = 3) -> str:
    """A readable report grouped by code: counts, severity, where, and one example message."""
    out: list[str] = []
    out.append(f"{report.path}")
    out.append(
        f"  format {report.format} · {report.examples:,} examples · "
        f"{report.errors:,} errors · {report.warnings:,} warnings · {report.infos:,} notes"
    )
    kinds = kinds_text(report.kinds)
    if kinds:
        out.append(f"  {kinds}")
    by_code: dict[str, list[Finding]] = {}
    for finding in report.findings:
        bucket = by_code.setdefault(finding.code, [])
        if len(bucket) < examples_per_code:
            bucket.append(finding)
    counts = sorted_counts(report.code_counts.values())
    if counts:
        out.append("")
    for c in counts:
        label = {"error": "ERROR", "warning": "warn ", "info": "note "}[str(c.severity)]
        where = _lines_text(c.first_lines, c.count)
        out.append(f"  {label} {c.code:<34} ×{c.count:<7,} {where}")
        samples = by_code.get(c.code, [])
        if samples:
            out.append(f"        {samples[0].message}")
    t = report.tokens
    out.append("")
    out.append(
        f"  tokens ({t.encoding}): total {t.total:,} · min {t.min:,} · max {t.max:,} · "
        f"mean {t.mean:,.1f} · p50 {t.p50:,} · p95 {t.p95:,}"
    )
    a = report.assistant_tokens
    out.append(
        f"  assistant tokens: total {a.total:,} · min {a.min:,} · max {a.max:,} · "
        f"mean {a.mean:,.1f} · p50 {a.p50:,} · p95 {a.p95:,}"
    )
    b = report.billing
    limit = f"{b.token_limit:,}" if b.token_limit else "unknown"
    cost = (
        f"≈ ${b.estimated_cost_usd:,.2f} (at ${b.usd_per_1m_tokens:.2f}/1M tokens, prices of "
        f"{b.prices_as_of})"
        if b.estimated_cost_usd is not None
        else "cost unknown for this model"
    )
    out.append(
        f"  billing for {b.model}: {b.epochs} epoch(s) × ≤{limit} tokens/example → "
        f"{b.billed_tokens:,} billed tokens, {cost}"
    )
    if report.findings_truncated:
        out.append("  (only the first findings of each code are kept; counts are complete)")
    if report.validation is not None:
        out.append("")
        out.append("validation file:")
        out.append(format_report(report.validation, examples_per_code=examples_per_code))
    verdict = "OK: no errors" if report.ok else f"FAILED: {report.errors:,} error(s) to fix"
    out.append("")
    out.append(f"  {verdict}")
    return "\n".join(out)
