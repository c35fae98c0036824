"""The incremental validator of one dataset (`validate.py` runs it over whole files).

`analyse()` runs the per-example rules and counts tokens (pure: it can run in a worker process);
`merge()` adds the cross-example checks (duplicates, near-duplicates, system-prompt census, reply
lengths) and statistics; `finish()` adds file-level findings and builds the `ValidationReport`.
The UI feeds it records one by one and re-checks an edited example with `revalidate()` without
re-reading the file.

Memory stays bounded on a million examples: per example the validator keeps two token counts
(int64 arrays) and one entry in a hash table of normalised-text signatures; findings are kept up
to `max_findings_per_code` per code (counts are always complete).
"""

from __future__ import annotations

import os
from array import array
from collections import Counter
from pathlib import Path
from typing import Any

from ftui.core.dataset.formats import LABEL_KEY, REJECTED_KEY, DatasetFormat
from ftui.core.dataset.reader import RawRecord
from ftui.core.dataset.signatures import example_signatures
from ftui.core.findings import Finding, Severity
from ftui.core.pricing.costs import default_epochs, estimate_cost_usd
from ftui.core.pricing.models import (
    PRICES_AS_OF,
    fine_tunable_models,
    is_local_model,
    local_model_limit,
    openai_model_info,
)
from ftui.core.pricing.tokens import (
    TOKENS_PER_EXAMPLE,
    LocalTokenCounter,
    TokenCounter,
    encoding_for_model,
    get_encoding,
)
from ftui.core.validation.analysis import (
    ExampleAnalysis,
    ValidationOptions,
    role_letter,
    role_pattern,
)
from ftui.core.validation.codes import CODES
from ftui.core.validation.file_checks import (
    example_count_findings,
    kind_findings,
    summarise_widespread,
    system_message_findings,
    system_prompt_findings,
)
from ftui.core.validation.lengths import ReplyLengths
from ftui.core.validation.preference import check_preference
from ftui.core.validation.report import Billing, CodeCount, TokenStats, ValidationReport
from ftui.core.validation.rules import chat_messages, check_conversation, finding_factory

__all__ = ["DatasetValidator"]

FIRST_LINES_KEPT = 5
SYSTEM_PROMPTS_TRACKED = 10_000
ROLE_PATTERNS_TRACKED = 10_000
_MASK32 = 0xFFFFFFFF
_SEVERITIES = {code: severity for code, (severity, _) in CODES.items()}


class DatasetValidator:
    """Stateful, incremental validator of one dataset (see the module docstring)."""

    def __init__(
        self,
        options: ValidationOptions | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        track_prompts: bool = False,
        keep_keys: bool = False,
        validation_file: bool = False,
    ) -> None:
        self.options = options = options or ValidationOptions()
        self.path = str(path) if path is not None else ""
        self.fmt = DatasetFormat(options.fmt) if options.fmt else DatasetFormat.OPENAI
        self.model = options.model
        self._model_findings: list[Finding] = []
        self.counter: TokenCounter | LocalTokenCounter
        if is_local_model(options.model):
            self.counter = LocalTokenCounter(options.model)
            self.encoding_name = f"{Path(options.model).name} tokenizer"
            self.token_limit = options.token_limit or local_model_limit(options.model)
            self.info = None
        else:
            self.encoding_name = options.encoding or encoding_for_model(options.model)
            self.counter = TokenCounter(get_encoding(self.encoding_name))
            self.info = openai_model_info(options.model)
            self.token_limit = options.token_limit or (
                self.info.training_context if self.info else None
            )
            if self.info is None:
                self._model_findings.append(
                    Finding(
                        "unknown_model",
                        Severity.INFO,
                        0,
                        -1,
                        f"{options.model!r} is not one of the OpenAI models ftui knows "
                        f"({', '.join(fine_tunable_models())}); token limit and price unknown "
                        "unless given (--token-limit)",
                    )
                )
        self.track_prompts = track_prompts
        self.keep_keys = keep_keys
        self.validation_file = validation_file  # no minimum size for a validation file
        self._reset_state()

    def _reset_state(self) -> None:
        self.examples = 0
        self.findings: list[Finding] = []
        self.findings_truncated = False
        self.code_counts: dict[str, CodeCount] = {}
        self.tokens = array("q")
        self.assistant_tokens = array("q")
        self.messages_per_example: Counter[int] = Counter()
        self.role_patterns: Counter[str] = Counter()
        # near signature -> (low 32 bits of the exact signature << 32) | line of its first example
        self._first_by_near: dict[int, int] = {}
        # exact signature -> line, only for examples whose near signature was already taken
        self._exact_after_near: dict[int, int] = {}
        self._prompt_lines: dict[int, int] = {}
        self.keys: list[tuple[int, int, int, int, int]] = []  # (index, line, exact, near, prompt)
        self._system_census: dict[int, list[Any]] = {}  # key -> [count, first line, preview]
        self._with_system = 0
        self._without_system: list[tuple[int, int]] = []
        self._without_system_count = 0
        self._over_limit = 0
        self.kinds: Counter[str] = Counter()
        self.reply_lengths = ReplyLengths()

    # ------------------------------------------------------------------ per example (pure)

    def analyse(self, index: int, line: int, value: Any) -> ExampleAnalysis:
        """Per-example rules and token counts; touches no cross-example state."""
        findings: list[Finding] = []
        emit = finding_factory(index, line, findings)
        result = ExampleAnalysis(index, line, findings)
        try:
            self._analyse_into(result, value, emit)
        except Exception as exc:  # a rule bug must not stop a run over a million examples
            emit(
                "validator_error",
                f"ftui could not check this example ({type(exc).__name__}: {exc}); "
                "please report it with this example",
                None,
            )
        return result

    def _analyse_into(self, result: ExampleAnalysis, value: Any, emit: Any) -> None:
        preference: dict[str, Any] = {}
        messages, tools = chat_messages(value, self.fmt, emit, preference)
        if messages is None:
            return
        has_system, roles = check_conversation(messages, emit, fmt=self.fmt, check_content=True)
        rejected = preference.get(REJECTED_KEY)
        label = preference.get(LABEL_KEY)
        if rejected is not None:
            result.kind = "dpo"
            check_preference(messages, rejected, emit)
        elif type(label) is bool:
            result.kind = "kto+" if label else "kto-"
        else:
            result.kind = "sft"
            if label is not None:
                emit("invalid_field_type", f"'label' must be true or false, not {label!r}", None)
        replies: list[tuple[int, int]] = []
        counted = self._count(messages, tools, replies, emit)
        if rejected and counted is not None:  # a DPO pair trains on both of its answers
            extra = self._count(rejected, None, None, emit)
            total = None if extra is None else counted[0] + extra[0] - TOKENS_PER_EXAMPLE
            counted = None if total is None else (total, counted[1])
        result.messages = len(messages)
        if replies:
            at, tokens = zip(*replies, strict=True)
            result.reply_tokens = tokens
            shortest, longest = min(tokens), max(tokens)
            result.shortest_at = at[tokens.index(shortest)]
            result.longest_at = at[tokens.index(longest)]
        if counted is not None:
            total, assistant = counted
            result.tokens, result.assistant_tokens = total, assistant
            if self.token_limit is not None and total > self.token_limit:
                emit(
                    "over_token_limit",
                    f"{total:,} tokens, over the {self.token_limit:,}-token training context of "
                    f"{self.model}; it will be truncated and its end not learned: shorten or "
                    "split it",
                    None,
                )
        keyed = messages + rejected if rejected else messages
        exact, near, prompt, system = example_signatures(
            keyed, tools, with_prompt=self.track_prompts or self.keep_keys
        )
        result.exact_key = exact
        result.near_key = near if self.options.near_duplicates else exact
        result.prompt_key = prompt
        if has_system:
            result.system_key = hash(system)
            result.system_preview = system[:80]
        result.role_pattern = role_pattern("".join([role_letter(role) for role in roles]))

    def _count(
        self, messages: Any, tools: Any, replies: list[tuple[int, int]] | None, emit: Any
    ) -> tuple[int, int] | None:
        """(total, assistant) tokens; None when a local chat template rejects the example."""
        counter = self.counter
        if isinstance(counter, LocalTokenCounter):
            return counter.count_checked(messages, tools, replies, emit)
        return counter.count_example(messages, tools, replies)

    def analyse_record(self, record: RawRecord) -> ExampleAnalysis:
        if record.value is None:
            findings = [record.finding] if record.finding is not None else []
            return ExampleAnalysis(record.index, record.line, findings)
        return self.analyse(record.index, record.line, record.value)

    def check_example(self, index: int, line: int, value: Any) -> list[Finding]:
        """Per-example rules only (no duplicates, no statistics)."""
        return self.analyse(index, line, value).findings

    # ------------------------------------------------------------------ cross-example

    def add(self, record: RawRecord) -> list[Finding]:
        """Check one record (per-example and cross-example rules) and update the statistics."""
        return self.merge(self.analyse_record(record))

    def merge(self, result: ExampleAnalysis) -> list[Finding]:
        """Fold one analysed example into the dataset state; returns all its findings."""
        self.examples += 1
        findings = result.findings
        cross = self._cross_checks(result)
        if cross:
            findings = findings + cross
        for finding in findings:
            self._record(finding)
        self.tokens.append(result.tokens)
        self.assistant_tokens.append(result.assistant_tokens if result.tokens >= 0 else -1)
        if result.kind:
            self.kinds[result.kind] += 1
            self.reply_lengths.add(result)
        if result.tokens >= 0:
            self.messages_per_example[result.messages] += 1
            if self.token_limit is not None and result.tokens > self.token_limit:
                self._over_limit += 1
            patterns = self.role_patterns
            if result.role_pattern in patterns or len(patterns) < ROLE_PATTERNS_TRACKED:
                patterns[result.role_pattern] += 1
            self._census_system(result)
        if self.keep_keys and result.exact_key is not None:
            assert result.near_key is not None and result.prompt_key is not None
            self.keys.append(
                (result.index, result.line, result.exact_key, result.near_key, result.prompt_key)
            )
        return findings

    def _cross_checks(self, result: ExampleAnalysis) -> list[Finding]:
        exact, near = result.exact_key, result.near_key
        if exact is None or near is None:
            return []
        line = result.line
        if self.track_prompts and result.prompt_key is not None:
            self._prompt_lines.setdefault(result.prompt_key, line)
        packed = self._first_by_near.get(near)
        if packed is None:
            self._first_by_near[near] = ((exact & _MASK32) << 32) | line
            return []
        first_line = packed & _MASK32
        if packed >> 32 == exact & _MASK32:
            return [self._duplicate(result, first_line)]
        earlier = self._exact_after_near.get(exact)
        if earlier is not None:
            return [self._duplicate(result, earlier)]
        self._exact_after_near[exact] = line
        return [
            Finding(
                "near_duplicate",
                CODES["near_duplicate"][0],
                line,
                result.index,
                f"nearly the same as line {first_line} (differs only in case, digits, "
                "punctuation or spacing); check that the variation is intended",
            )
        ]

    def _duplicate(self, result: ExampleAnalysis, first_line: int) -> Finding:
        return Finding(
            "duplicate_example",
            CODES["duplicate_example"][0],
            result.line,
            result.index,
            f"duplicate of line {first_line} (ignoring whitespace); duplicates over-weight one "
            "example: remove one",
        )

    def _census_system(self, result: ExampleAnalysis) -> None:
        if result.system_key is None:
            self._without_system_count += 1
            if len(self._without_system) < (self.options.max_findings_per_code or 1 << 62):
                self._without_system.append((result.index, result.line))
            return
        self._with_system += 1
        entry = self._system_census.get(result.system_key)
        if entry is not None:
            entry[0] += 1
        elif len(self._system_census) < SYSTEM_PROMPTS_TRACKED:
            self._system_census[result.system_key] = [1, result.line, result.system_preview]

    def _record(self, finding: Finding) -> None:
        count = self.code_counts.get(finding.code)
        if count is None:
            count = self.code_counts[finding.code] = CodeCount(finding.code, finding.severity)
        count.count += 1
        if len(count.first_lines) < FIRST_LINES_KEPT and finding.line not in count.first_lines:
            count.first_lines.append(finding.line)
        cap = self.options.max_findings_per_code
        if cap is None or count.count <= cap:
            self.findings.append(finding)
        else:
            self.findings_truncated = True

    def revalidate(self, index: int, line: int, value: Any) -> list[Finding]:
        """Re-check one edited example against the rest, without re-reading the file.

        Updates its token counts; duplicate checks compare it with the examples merged so far
        (the edited example's old signature stays in the table).
        """
        result = self.analyse(index, line, value)
        findings = list(result.findings)
        if result.exact_key is not None and result.near_key is not None:
            packed = self._first_by_near.get(result.near_key)
            if packed is not None and packed & _MASK32 != line:
                first_line = packed & _MASK32
                if packed >> 32 == result.exact_key & _MASK32:
                    findings.append(self._duplicate(result, first_line))
        if 0 <= index < len(self.tokens):
            self.tokens[index] = result.tokens
            self.assistant_tokens[index] = result.assistant_tokens
        return findings

    # ------------------------------------------------------------------ file level

    def add_leakage(self, validation: DatasetValidator, validation_path: str) -> None:
        """Flag validation examples that also appear (exactly, nearly, or by prompt) here."""
        name = Path(validation_path).name
        for _index, v_line, exact, near, prompt in validation.keys:
            packed = self._first_by_near.get(near)
            if packed is not None and packed >> 32 == exact & _MASK32:
                train_line, how = packed & _MASK32, "is identical to"
            elif exact in self._exact_after_near:
                train_line, how = self._exact_after_near[exact], "is identical to"
            elif packed is not None:
                train_line, how = packed & _MASK32, "is nearly identical to"
            elif prompt in self._prompt_lines:
                train_line = self._prompt_lines[prompt]
                how = "has the same prompt as"
            else:
                continue
            self._record(
                Finding(
                    "leakage",
                    CODES["leakage"][0],
                    train_line,
                    -1,
                    f"line {v_line} of {name} {how} this training example; the validation "
                    "loss will overstate quality: remove it from one of the files",
                )
            )

    def finish(self) -> ValidationReport:
        """File-level findings and the report. The validator can keep adding afterwards."""
        file_findings = list(self._model_findings)
        if not self.validation_file:  # no minimum size for a validation file
            file_findings += example_count_findings(self.examples)
        file_findings += system_message_findings(
            self._with_system,
            self._without_system_count,
            self._without_system,
            len(self._system_census),
        )
        file_findings += system_prompt_findings(self._system_prompts(), self._with_system)
        file_findings += kind_findings(self.kinds)
        file_findings += self.reply_lengths.findings(_SEVERITIES)
        for finding in file_findings:
            self._record(finding)
        return self._report()

    def _system_prompts(self) -> list[tuple[str, int, int]]:
        """(preview, count, first line) of each distinct system prompt, most common first."""
        entries = ((str(p), int(n), int(line)) for n, line, p in self._system_census.values())
        return sorted(entries, key=lambda t: -t[1])

    def _report(self) -> ValidationReport:
        counted = [t for t in self.tokens if t >= 0]
        epochs = self.options.epochs or default_epochs(self.examples)
        limit = self.token_limit
        billed = sum(min(t, limit) if limit else t for t in counted) * epochs
        cost = estimate_cost_usd(billed, self.model)
        price = self.info.training_usd_per_1m if self.info else None
        counts = dict(self.code_counts)
        findings = summarise_widespread(self.findings, counts, self.examples)
        return ValidationReport(
            path=self.path,
            format=self.fmt.value,
            examples=self.examples,
            findings=sorted(findings, key=lambda f: f.line if f.line > 0 else 1 << 62),
            tokens=TokenStats.from_counts(self.encoding_name, counted),
            assistant_tokens=TokenStats.from_counts(
                self.encoding_name, (t for t in self.assistant_tokens if t >= 0)
            ),
            billing=Billing(
                model=self.model,
                epochs=epochs,
                token_limit=limit,
                billed_tokens=billed,
                estimated_cost_usd=cost,
                usd_per_1m_tokens=price,
                prices_as_of=PRICES_AS_OF if price is not None else None,
                examples_over_limit=self._over_limit,
            ),
            code_counts=counts,
            kinds=dict(self.kinds),
            messages_per_example=dict(self.messages_per_example),
            tokens_per_example=array("q", counted),
            role_patterns=self.role_patterns,
            system_prompts=[(preview, n) for preview, n, _ in self._system_prompts()[:20]],
            findings_truncated=self.findings_truncated,
        )
