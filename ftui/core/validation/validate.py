"""Validate a dataset: per-example rules, cross-example checks, token counts and cost.

`DatasetValidator` is incremental. `analyse()` runs the per-example rules and counts tokens (pure:
it can run in a worker process); `merge()` adds the cross-example checks (duplicates,
near-duplicates, system-prompt census) and statistics; `finish()` adds file-level findings and
builds the `ValidationReport`. The UI feeds it records one by one and re-checks an edited example
with `revalidate()` without re-reading the file.

`validate_file()` is the fast path for a whole file: the main process indexes it (record
boundaries only, no JSON parsing), worker processes (forked, so the loaded tokenizer and the index
are shared) parse, check and count ranges of examples, and the main process merges their results
in file order.

Memory stays bounded on a million examples: per example the validator keeps the index entry and
two token counts (int64 arrays) and one entry in a hash table of normalised-text signatures;
findings are kept up to `max_findings_per_code` per code (counts are always complete).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ftui.core.dataset.formats import DatasetFormat, detect_format
from ftui.core.dataset.reader import (
    MAX_RECORD_BYTES,
    ExampleIndex,
    RawRecord,
    build_index,
    detect_layout,
    iter_records,
)
from ftui.core.dataset.signatures import example_signatures
from ftui.core.findings import Finding, Severity
from ftui.core.pricing.costs import default_epochs, estimate_cost_usd
from ftui.core.pricing.models import (
    DEFAULT_OPENAI_MODEL,
    PRICES_AS_OF,
    fine_tunable_models,
    is_local_model,
    local_model_limit,
    openai_model_info,
)
from ftui.core.pricing.tokens import (
    LocalTokenCounter,
    TokenCounter,
    encoding_for_model,
    get_encoding,
)
from ftui.core.validation.report import Billing, CodeCount, TokenStats, ValidationReport
from ftui.core.validation.rules import (
    CODES,
    LONG_REPLY_CHARS,
    SHORT_REPLY_CHARS,
    chat_messages,
    check_conversation,
    finding_factory,
)

__all__ = [
    "DatasetValidator",
    "ExampleAnalysis",
    "ValidationOptions",
    "ValidationReport",
    "validate_file",
]

MIN_EXAMPLES = 10  # OpenAI refuses fewer
RECOMMENDED_EXAMPLES = 50  # OpenAI's advice: clear gains start at 50-100
FIRST_LINES_KEPT = 5
SYSTEM_PROMPTS_TRACKED = 10_000
ROLE_PATTERNS_TRACKED = 10_000
PARALLEL_MIN_BYTES = 2 << 20
BATCH_BYTES = 512 << 10
BATCH_RECORDS = 1_000

_MASK32 = 0xFFFFFFFF
# Bytes the signatures ignore: whitespace for "exact"; also punctuation and digits for "near".


@dataclass
class ValidationOptions:
    model: str = DEFAULT_OPENAI_MODEL  # an OpenAI model name, or a local model directory
    encoding: str | None = None  # tiktoken encoding; default: the model's
    fmt: DatasetFormat | None = None  # default: detected from the file
    token_limit: int | None = None  # default: the model's training context
    epochs: int | None = None  # default: OpenAI's default-epochs rule
    short_reply_chars: int = SHORT_REPLY_CHARS
    long_reply_chars: int = LONG_REPLY_CHARS
    near_duplicates: bool = True
    max_findings_per_code: int | None = 1_000  # None: keep every finding
    workers: int | None = None  # None: every core when it is safe to fork; 1: in-process


@dataclass(slots=True)
class ExampleAnalysis:
    """What `analyse` learns about one example; small and picklable."""

    index: int
    line: int
    findings: list[Finding]
    tokens: int = -1  # -1: not countable (unreadable example)
    assistant_tokens: int = 0
    messages: int = 0
    exact_key: int | None = None
    near_key: int | None = None
    prompt_key: int | None = None
    system_key: int | None = None
    system_preview: str = ""
    role_pattern: str = ""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Positional fields pickle at about half the size of the default slot-name dict, so
        # more results fit in the pipe from the workers.
        return (
            ExampleAnalysis,
            (
                self.index,
                self.line,
                self.findings,
                self.tokens,
                self.assistant_tokens,
                self.messages,
                self.exact_key,
                self.near_key,
                self.prompt_key,
                self.system_key,
                self.system_preview,
                self.role_pattern,
            ),
        )


def role_pattern(letters: str) -> str:
    """A short name for a conversation's shape: "S UA×7" for a system prompt and 7 exchanges."""
    head = "S " if letters.startswith("S") else ""
    body = letters[1:] if head else letters
    if len(body) >= 4 and len(body) % 2 == 0 and body == "UA" * (len(body) // 2):
        return f"{head}UA×{len(body) // 2}"
    pattern = head + body
    return pattern if len(pattern) <= 16 else pattern[:16] + "…"


_ROLE_LETTERS = {"system": "S", "user": "U", "assistant": "A", "tool": "T", "function": "T"}


def _role_letter(role: Any) -> str:
    return _ROLE_LETTERS.get(role, "?") if type(role) is str else "?"


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
        messages, tools = chat_messages(value, self.fmt, emit)
        if messages is None:
            return
        options = self.options
        has_system, roles = check_conversation(
            messages,
            emit,
            fmt=self.fmt,
            check_content=True,
            short_chars=options.short_reply_chars,
            long_chars=options.long_reply_chars,
        )
        total, assistant = self.counter.count_example(messages, tools)
        result.tokens, result.assistant_tokens = total, assistant
        result.messages = len(messages)
        if self.token_limit is not None and total > self.token_limit:
            emit(
                "over_token_limit",
                f"{total:,} tokens, over the {self.token_limit:,}-token training context of "
                f"{self.model}; it will be truncated and its end not learned: shorten or split it",
                None,
            )
        exact, near, prompt, system = example_signatures(
            messages, tools, with_prompt=self.track_prompts or self.keep_keys
        )
        result.exact_key = exact
        result.near_key = near if options.near_duplicates else exact
        result.prompt_key = prompt
        if has_system:
            result.system_key = hash(system)
            result.system_preview = system[:80]
        result.role_pattern = role_pattern("".join([_role_letter(role) for role in roles]))

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
        n = self.examples
        if self.validation_file:
            pass
        elif n < MIN_EXAMPLES:
            file_findings.append(
                Finding(
                    "too_few_examples",
                    Severity.ERROR,
                    0,
                    -1,
                    f"{n} example(s); OpenAI requires at least {MIN_EXAMPLES} "
                    f"(and {RECOMMENDED_EXAMPLES}-100 usually show a clear improvement)",
                )
            )
        elif n < RECOMMENDED_EXAMPLES:
            file_findings.append(
                Finding(
                    "too_few_examples",
                    Severity.WARNING,
                    0,
                    -1,
                    f"only {n} examples; OpenAI sees clear improvements from "
                    f"{RECOMMENDED_EXAMPLES}-100 well-made examples",
                )
            )
        if self._with_system and self._without_system_count:
            total = self._with_system + self._without_system_count
            for index, line in self._without_system:
                file_findings.append(
                    Finding(
                        "missing_system_message",
                        CODES["missing_system_message"][0],
                        line,
                        index,
                        f"no system message, while {self._with_system:,} of {total:,} examples "
                        "have one; the model will behave differently with and without it",
                    )
                )
        system_prompts = self._system_prompts()
        if len(system_prompts) > 1:
            top_preview, top_count, _ = system_prompts[0]
            share = top_count / max(1, self._with_system)
            severity = Severity.WARNING if share >= 0.5 else Severity.INFO
            odd_lines = ", ".join(str(line) for _, _, line in system_prompts[1:6])
            advice = (
                "the odd ones out may be typos (first lines: "
                f"{odd_lines}); use one prompt if the model should behave one way"
                if severity is Severity.WARNING
                else "fine if each example's prompt is meant to differ"
            )
            file_findings.append(
                Finding(
                    "inconsistent_system_prompt",
                    severity,
                    0,
                    -1,
                    f"{len(system_prompts):,} different system prompts; the most common "
                    f"({top_count:,} of {self._with_system:,}) starts {top_preview[:50]!r}; "
                    + advice,
                )
            )
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
        return ValidationReport(
            path=self.path,
            format=self.fmt.value,
            examples=self.examples,
            findings=sorted(self.findings, key=lambda f: f.line if f.line > 0 else 1 << 62),
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
            code_counts=self.code_counts,
            messages_per_example=dict(self.messages_per_example),
            tokens_per_example=array("q", counted),
            role_patterns=self.role_patterns,
            system_prompts=[(preview, n) for preview, n, _ in self._system_prompts()[:20]],
            findings_truncated=self.findings_truncated,
        )


# --------------------------------------------------------------------------- whole files

# What the forked workers inherit: the validator and the file's index (set just before forking).
_WORKER_STATE: tuple[DatasetValidator, ExampleIndex] | None = None


def _analyse_range(task: tuple[int, int]) -> tuple[int, list[ExampleAnalysis]]:
    """Worker side: analyse examples first..stop-1; returns (byte offset reached, analyses)."""
    assert _WORKER_STATE is not None
    validator, index = _WORKER_STATE
    first, stop = task
    records = index.read_range(first, stop)
    return index.offset(stop - 1) + index.length(stop - 1), [
        validator.analyse_record(record) for record in records
    ]


def _ranges(index: ExampleIndex) -> Iterator[tuple[int, int]]:
    """Batches of ~512 KB of examples (an oversized example travels alone).

    Tasks are two ints, so the pipe to the workers holds hundreds of them: a busy machine that
    descheduled this process doesn't starve the workers.
    """
    lengths = index.lengths
    first = size = 0
    for i in range(len(index)):
        length = lengths[i]
        if length > MAX_RECORD_BYTES and i > first:
            yield first, i
            first, size = i, 0
        size += length
        if size >= BATCH_BYTES or i + 1 - first >= BATCH_RECORDS or length > MAX_RECORD_BYTES:
            yield first, i + 1
            first, size = i + 1, 0
    if first < len(index):
        yield first, len(index)


def default_workers(size: int) -> int:
    """Worker processes for a file of `size` bytes: every core, when forking is safe."""
    if size < PARALLEL_MIN_BYTES or not sys.platform.startswith("linux"):
        return 1
    if threading.active_count() > 1:
        return 1  # forking a multi-threaded process (e.g. a running UI) is not safe
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _run(
    validator: DatasetValidator,
    path: str,
    workers: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    global _WORKER_STATE
    total = os.path.getsize(path)
    if workers <= 1 or isinstance(validator.counter, LocalTokenCounter):
        for record in iter_records(path):
            validator.add(record)
            if progress is not None and record.index % 1000 == 999:
                progress(record.offset + record.length, total)
        if progress is not None:
            progress(total, total)
        return
    index = build_index(path)
    _WORKER_STATE = (validator, index)
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(workers) as pool:
            for reached, results in pool.imap(_analyse_range, _ranges(index)):
                for result in results:
                    validator.merge(result)
                if progress is not None:
                    progress(min(reached, total), total)
    finally:
        _WORKER_STATE = None
    if progress is not None:
        progress(total, total)


def validate_file(
    path: str | os.PathLike[str],
    options: ValidationOptions | None = None,
    *,
    validation_path: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ValidationReport:
    """Validate a whole file (and, with `validation_path`, check it for train/validation leakage).

    Raises DatasetError when a file can't be read at all; never for bad content.
    """
    started = time.perf_counter()
    options = options or ValidationOptions()
    path = str(path)
    detect_layout(path)  # file-level problems first, with their own message
    given_fmt = DatasetFormat(options.fmt) if options.fmt else None
    options = replace(options, fmt=given_fmt or detect_format(path))
    size = os.path.getsize(path)
    workers = options.workers if options.workers is not None else default_workers(size)
    validator = DatasetValidator(options, path=path, track_prompts=validation_path is not None)
    _run(validator, path, workers, progress)
    validation_report = None
    if validation_path is not None:
        v_path = str(validation_path)
        detect_layout(v_path)
        v_fmt = given_fmt or detect_format(v_path)
        v_options = replace(options, fmt=v_fmt)
        v_validator = DatasetValidator(v_options, path=v_path, keep_keys=True, validation_file=True)
        v_workers = (
            options.workers
            if options.workers is not None
            else default_workers(os.path.getsize(v_path))
        )
        _run(v_validator, v_path, v_workers, None)
        validator.add_leakage(v_validator, v_path)
        validation_report = v_validator.finish()
    report = validator.finish()
    report.validation = validation_report
    report.elapsed_s = time.perf_counter() - started
    return report
