"""The gate before anything is sent to OpenAI: the settings, the key, the data, and the cost.

- A file with errors is never uploaded: the plan is not `ok` and lists the findings with their
  lines (`OpenAIPlan.findings`, for the form; `problems`, as sentences).
- Fewer than 10 examples is an error, as OpenAI refuses it (the core's `too_few_examples`).
- Warnings are the plan's `warnings`: the CLI and the form show them and ask before launching.
- The cost (billed tokens x epochs x the dated price of the model) comes from the core's
  validation and pricing, and is part of the plan shown before anything is sent.

Everything here is cheap for the app process: no network, no `openai` import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftui.config import Config
from ftui.core.findings import Severity
from ftui.core.pricing.models import PRICES_AS_OF, openai_model_info
from ftui.services.backends.openai_client import HOW_TO_SET_KEY
from ftui.services.runs import format_cost

if TYPE_CHECKING:
    from ftui.core.training.openai_job import OpenAIJobConfig
    from ftui.core.validation.report import ValidationReport

MAX_LISTED_FINDINGS = 5
ACCEPTED_FORMATS = {"supervised": "openai", "dpo": "dpo"}


@dataclass(frozen=True)
class PlanFinding:
    """One finding of the gate, where it is: a file and a 1-based line (0: the whole file)."""

    path: str
    line: int
    severity: str
    code: str
    message: str

    def describe(self) -> str:
        where = f"{self.path}, line {self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass
class OpenAIPlan:
    """The outcome of the gate: what blocks the launch, what to confirm, what it will cost."""

    job: OpenAIJobConfig
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    findings: list[PlanFinding] = field(default_factory=list)
    examples: int | None = None
    validation_examples: int | None = None
    epochs: int | None = None
    billed_tokens: int | None = None
    cost_usd: float | None = None
    usd_per_1m_tokens: float | None = None
    prices_as_of: str = PRICES_AS_OF
    has_key: bool = False
    dataset_summary: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def needs_confirmation(self) -> bool:
        """Warnings the user must accept (the cost is always shown and always confirmed)."""
        return bool(self.warnings)

    def cost_line(self) -> str:
        if self.cost_usd is None:
            if self.billed_tokens is None:
                return "unknown (the data could not be counted)"
            tokens = f"{self.billed_tokens:,} tokens"
            return f"unknown: no per-token price for {self.job.model} ({tokens})"
        return (
            f"{format_cost(self.cost_usd)} = {self.billed_tokens:,} billed tokens "
            f"({self.epochs} epochs) x ${self.usd_per_1m_tokens:g}/1M, prices of "
            f"{self.prices_as_of}"
        )

    def plan_lines(self) -> list[str]:
        job = self.job
        method = job.method + (f" (beta {job.beta})" if job.method == "dpo" and job.beta else "")
        lines = [
            f"Model      {job.model} on OpenAI",
            f"Data       {job.dataset}"
            + (f"  ({self.examples:,} examples)" if self.examples is not None else ""),
        ]
        if job.validation_file:
            lines.append(
                f"Validation {job.validation_file}"
                + (
                    f"  ({self.validation_examples:,} examples)"
                    if self.validation_examples is not None
                    else ""
                )
            )
        lines.append(
            f"Training   {method}, epochs {job.n_epochs}, batch size {job.batch_size}, "
            f"lr multiplier {job.learning_rate_multiplier}"
            + (f", suffix {job.suffix}" if job.suffix else "")
            + (f", seed {job.seed}" if job.seed is not None else "")
        )
        lines.append(f"Cost       {self.cost_line()}")
        return lines

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": self.problems,
            "warnings": self.warnings,
            "findings": [f.__dict__ for f in self.findings],
            "examples": self.examples,
            "epochs": self.epochs,
            "billed_tokens": self.billed_tokens,
            "cost_usd": self.cost_usd,
            "prices_as_of": self.prices_as_of,
        }


def _validate(path: Path, model: str, epochs: int | None) -> ValidationReport:
    from ftui.core.validation.validate import ValidationOptions, validate_file

    return validate_file(path, ValidationOptions(model=model, epochs=epochs))


def _findings(report: ValidationReport, path: Path, ignore: frozenset[str]) -> list[PlanFinding]:
    return [
        PlanFinding(str(path), f.line, str(f.severity), f.code, f.message)
        for f in report.findings
        if f.severity in (Severity.ERROR, Severity.WARNING) and f.code not in ignore
    ]


def _warning_sentences(report: ValidationReport, path: Path, ignore: frozenset[str]) -> list[str]:
    """One sentence per kind of warning: how many, the first lines, the first message."""
    sentences = []
    first_message: dict[str, str] = {}
    for finding in report.findings:
        if finding.severity is Severity.WARNING:
            first_message.setdefault(finding.code, finding.message)
    for code, count in report.code_counts.items():
        if count.severity is not Severity.WARNING or code in ignore:
            continue
        lines = ", ".join(str(line) for line in count.first_lines[:3] if line)
        where = f" (line {lines}{', ...' if count.count > 3 else ''})" if lines else ""
        message = first_message.get(code, code)
        times = f"{count.count} x " if count.count > 1 else ""
        sentences.append(f"{path.name}: {times}{message}{where}")
    return sentences


def check_file(
    plan: OpenAIPlan,
    label: str,
    path: Path,
    *,
    method: str,
    model: str,
    epochs: int | None,
    ignore: frozenset[str] = frozenset(),
) -> ValidationReport | None:
    """Validate one file into the plan; returns its report (None when it cannot be read).
    Findings whose code is in `ignore` do not count."""
    from ftui.core.dataset.reader import DatasetError

    if not path.is_file():
        plan.problems.append(f"The {label} {path} does not exist or is not a file.")
        return None
    if not os.access(path, os.R_OK):
        plan.problems.append(f"The {label} {path} is not readable (check its permissions).")
        return None
    try:
        report = _validate(path, model, epochs)
    except DatasetError as exc:
        plan.problems.append(f"The {label} cannot be read: {exc}")
        return None
    plan.findings += _findings(report, path, ignore)
    expected = ACCEPTED_FORMATS.get(method)
    if expected and report.format != expected:
        advice = (
            "convert it first (`ftui convert`)"
            if method == "supervised"
            else "give pairs with input, preferred_output and non_preferred_output"
        )
        plan.problems.append(
            f"The {label} is in {report.format} format; OpenAI's {method} fine-tuning takes "
            f"{expected} format: {advice}."
        )
    errors = [f for f in plan.findings if f.severity == "error" and f.path == str(path)]
    if errors:
        listed = [f.describe() for f in errors[:MAX_LISTED_FINDINGS]]
        total = sum(
            c.count
            for code, c in report.code_counts.items()
            if c.severity is Severity.ERROR and code not in ignore
        )
        if total > len(listed):
            listed.append(f"{total - len(listed)} more; `ftui validate {path}` lists them all.")
        plan.problems.append(
            f"The {label} has errors; nothing is uploaded until they are fixed:\n  - "
            + "\n  - ".join(listed)
        )
    plan.warnings += _warning_sentences(report, path, ignore)
    return report


def preflight(job: OpenAIJobConfig, config: Config, *, validate: bool = True) -> OpenAIPlan:
    """Everything knowable before anything is sent; never touches the network."""
    plan = OpenAIPlan(job=job, problems=list(job.problems()))
    plan.has_key = bool(config.openai.api_key)
    if not plan.has_key:
        plan.problems.append("No OpenAI API key is configured. " + HOW_TO_SET_KEY)
    info = openai_model_info(job.model)
    if info is None:
        plan.warnings.append(
            f"{job.model} is not in ftui's table of fine-tunable models: no price is known, "
            "and OpenAI may refuse it."
        )
    elif info.training_usd_per_1m is None:
        plan.warnings.append(f"{job.model} is not billed per token: no cost estimate.")
    if not validate:
        return plan
    epochs = job.n_epochs if isinstance(job.n_epochs, int) else None
    report = check_file(
        plan, "dataset", Path(job.dataset), method=job.method, model=job.model, epochs=epochs
    )
    if report is not None:
        plan.examples = report.examples
        plan.epochs = report.billing.epochs
        plan.billed_tokens = report.billing.billed_tokens
        plan.cost_usd = report.billing.estimated_cost_usd
        plan.usd_per_1m_tokens = report.billing.usd_per_1m_tokens
        plan.prices_as_of = report.billing.prices_as_of or PRICES_AS_OF
        plan.dataset_summary = {
            "format": str(report.format),
            "examples": report.examples,
            "tokens": report.tokens.total,
        }
    if job.validation_file:
        v_report = check_file(
            plan,
            "validation file",
            Path(job.validation_file),
            method=job.method,
            model=job.model,
            epochs=epochs,
            # OpenAI's minimum of examples is for the training file: a small validation file is
            # how it is usually done.
            ignore=frozenset({"too_few_examples"}),
        )
        if v_report is not None:
            plan.validation_examples = v_report.examples
    return plan
