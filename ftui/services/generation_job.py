"""One data-generation job: a model writes examples (synth), rewrites them (paraphrase) or
answers them (distill), and the output lands in a dataset file, tagged with its origin.

    job = GenerationJob(store, model, tasks, out, prompts=GenerationPrompts(), n=5, k=3,
                        concurrency=8, budget_usd=1.0, on_progress=print)
    result = await job.run()

- distill: each task is a source example; its turns up to the last user turn (a system prompt
  kept) are the prompt, and the model's answer becomes the assistant turn.
- synth: each task is a scenario; the model writes `n` questions for it (one call, at the
  question temperature), then answers each (a call each, at the answer temperature).
- paraphrase: each task is a source example; the model rewrites its last user turn `k` ways
  (one call), and each rewrite replaces that turn, the assistant turn kept.

Every call goes through `MeteredCalls` (the store's completions cache, the concurrency cap, the
dollar and token budgets). A reply with nothing usable in it (no list, an empty answer) is asked
once more with a follow-up turn, then the task gives what it has: fewer items than asked are
counted (`short`), never an error.

A task's examples are kept only when the whole task is done, deduplicated against the pool (the
output's existing examples, the source's, and what this job made so far; for distill, whose
prompts are the user's own, only exact repeats of a whole prompt) and written with the
rest when the job ends however it ends (done, a budget stop, a cancel, a model's failure): OUT
is rewritten atomically, its existing examples first, so it is never half-written. Each new
example's origin goes to the store with the task's id; a job run again on the same OUT skips
the tasks it finds there, and the cache answers every call the last run made, so nothing is
asked twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson

from ftui.core.dataset.atomic import atomic_writer
from ftui.core.dataset.convert import dump_record
from ftui.core.dataset.format_spec import DatasetFormat
from ftui.core.dataset.formats import detect_format
from ftui.core.dataset.origin import Origin, OriginKind, example_key
from ftui.core.dataset.reader import DatasetError, iter_records
from ftui.core.generation.dedupe import DedupeIndex, DedupeMethod, Duplicate
from ftui.core.generation.parse import parse_items
from ftui.core.generation.plan import Task
from ftui.core.generation.prompts import (
    ANSWER_NUDGE,
    LIST_NUDGE,
    PARAPHRASE,
    SYNTH_ANSWER,
    SYNTH_QUESTIONS,
    Prompt,
    prompt_for,
)
from ftui.services.inference.base import ChatModel, Completion, InferenceError, Sampling
from ftui.services.inference.metered import BudgetReached, BudgetTooSmall, MeteredCalls

if TYPE_CHECKING:
    from ftui.services.store import RunStore

DedupeMode = Literal["drop", "flag", "off"]
DEDUPE_MODES: tuple[DedupeMode, ...] = ("drop", "flag", "off")
Messages = Sequence[Mapping[str, str]]


class GenerationJobError(Exception):
    """The job cannot go on: a model failed for good, or OUT cannot be read or written.

    `bad_input` is true when the job's input is at fault (OUT unreadable, a budget too small
    for one call) and nothing was asked of the model."""

    def __init__(self, message: str, *, bad_input: bool = False) -> None:
        super().__init__(message)
        self.bad_input = bad_input


@dataclass(frozen=True)
class GenerationPrompts:
    questions: Prompt = field(default_factory=lambda: prompt_for(SYNTH_QUESTIONS))
    answer: Prompt = field(default_factory=lambda: prompt_for(SYNTH_ANSWER))
    paraphrase: Prompt = field(default_factory=lambda: prompt_for(PARAPHRASE))


@dataclass(frozen=True)
class GenerationProgress:
    done: int  # tasks finished (those OUT already had included)
    total: int
    calls: int
    cached: int
    tokens: int
    cost_usd: float
    cost_unknown: bool
    elapsed_s: float
    eta_s: float | None  # None until a task needed a call
    examples: int  # new examples kept so far
    dropped: int  # duplicates dropped
    flagged: int  # duplicates kept and flagged
    stopped: str | None = None


@dataclass(frozen=True)
class GenerationResult:
    out: Path
    batch: str
    kind: OriginKind
    total: int  # tasks
    done: int
    resumed: int  # tasks OUT already had
    written: int  # new examples written
    existing: int  # examples OUT held before
    dropped: int
    flagged: int
    short: int  # items asked for and not given (fewer questions or paraphrases than asked)
    unparsed: int  # tasks whose replies held nothing usable, even asked again
    calls: int
    cached: int
    tokens: int
    cost_usd: float
    cost_unknown: bool
    elapsed_s: float
    stopped: str | None
    duplicates: list[dict[str, Any]]  # what was dropped or flagged, and of what
    warnings: list[str] = field(default_factory=list)  # e.g. OUT made by another model

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "batch": self.batch,
            "kind": self.kind,
            "tasks": {"total": self.total, "done": self.done, "resumed": self.resumed},
            "written": self.written,
            "existing": self.existing,
            "dropped": self.dropped,
            "flagged": self.flagged,
            "short": self.short,
            "unparsed": self.unparsed,
            "calls": self.calls,
            "cached": self.cached,
            "tokens": self.tokens,
            "cost_usd": self.cost_usd,
            "cost_unknown": self.cost_unknown,
            "elapsed_s": round(self.elapsed_s, 3),
            "stopped": self.stopped,
            "complete": self.stopped is None and self.done == self.total,
            "duplicates": self.duplicates,
            "warnings": self.warnings,
        }


@dataclass
class _Made:
    """One example a task made, before dedupe: its messages, the text dedupe compares, and
    what its origin says beyond the job's own settings."""

    messages: list[dict[str, str]]
    text: str
    detail: dict[str, Any]


def default_batch() -> str:
    return time.strftime("gen-%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class GenerationJob:
    def __init__(
        self,
        store: RunStore,
        model: ChatModel,
        tasks: Sequence[Task],
        out: Path,
        *,
        prompts: GenerationPrompts | None = None,
        n: int = 5,
        k: int = 3,
        sampling: Sampling | None = None,  # distill's answers, synth's answers, paraphrases
        question_sampling: Sampling | None = None,  # synth's questions
        concurrency: int = 8,
        budget_usd: float | None = None,
        budget_tokens: int | None = None,
        dedupe: DedupeMode = "drop",
        dedupe_method: DedupeMethod = "rougeL",
        pool: Iterable[tuple[str, str]] = (),  # (text, where): the source's own texts
        on_progress: Callable[[GenerationProgress], None] | None = None,
        batch: str | None = None,
    ) -> None:
        if n < 1 or k < 1:
            raise ValueError(f"n and k must be at least 1 (got n={n}, k={k})")
        if dedupe not in DEDUPE_MODES:
            raise ValueError(f"dedupe must be one of {DEDUPE_MODES} (got {dedupe!r})")
        kinds = {task.kind for task in tasks}
        if len(kinds) > 1:
            raise ValueError(f"one job makes one kind of example (got {sorted(kinds)})")
        self.store = store
        self.model = model
        self.tasks = list(tasks)
        self.kind: OriginKind = next(iter(kinds), "synth")
        self.out = Path(out)
        self.prompts = prompts or GenerationPrompts()
        self.n, self.k = n, k
        self.sampling = sampling or Sampling(temperature=0.7, max_tokens=1024)
        self.question_sampling = question_sampling or self.sampling
        self.dedupe = dedupe
        self.index = DedupeIndex(dedupe_method)
        self._pool = list(pool)
        self.on_progress = on_progress
        self.batch = batch or default_batch()
        self.metered = MeteredCalls(
            store,
            concurrency=concurrency,
            budget_usd=budget_usd,
            budget_tokens=budget_tokens,
            on_call=self._report_progress,
        )
        self.metered.on_stop = self._report_progress
        self._task_slots = asyncio.Semaphore(concurrency)
        self._existing: list[Any] = []
        # (task's place in the plan, example, origin): written in the plan's order
        self._new: list[tuple[int, dict[str, Any], Origin]] = []
        self._order = {task.id: place for place, task in enumerate(self.tasks)}
        self._duplicates: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.done = 0
        self.resumed = 0
        self.dropped = 0
        self.flagged = 0
        self.short = 0
        self.unparsed = 0
        self._done_with_calls = 0
        self._started = 0.0
        self._created_at = time.time()

    # -- the job --------------------------------------------------------------------------------

    async def run(self) -> GenerationResult:
        self._started = time.monotonic()
        done_ids = self._read_out()
        for text, where in self._pool:
            self.index.add(text, where)
        pending = [task for task in self.tasks if task.id not in done_ids]
        self.resumed = self.done = len(self.tasks) - len(pending)
        self._report_progress()

        async def one(task: Task) -> None:
            async with self._task_slots:
                if self.metered.stopped:
                    return
                calls_before = self.metered.calls
                try:
                    made = await self._task(task)
                except BudgetTooSmall:
                    raise
                except BudgetReached:
                    return
                self._keep(task, made)
                self.done += 1
                if self.metered.calls > calls_before:
                    self._done_with_calls += 1
            self._report_progress()

        try:
            async with asyncio.TaskGroup() as group:
                for task in pending:
                    group.create_task(one(task))
        except* BudgetTooSmall as errors:
            raise GenerationJobError(
                f"{errors.exceptions[0]} (nothing was asked)", bad_input=True
            ) from None
        except* InferenceError as errors:
            raise GenerationJobError(
                f"{errors.exceptions[0]} — {self.what_was_made()}; run the same command again "
                "to go on"
            ) from errors.exceptions[0]
        finally:
            self._write_out()
        self._report_progress()
        return self.result()

    @property
    def stopped(self) -> str | None:
        if self.metered.stopped is None:
            return None
        return (
            f"{self.metered.stopped}; {self.done} of {len(self.tasks)} tasks done, "
            f"{self.what_was_made()}; run again with a higher --budget-usd (or "
            "--budget-tokens) to go on: nothing answered is asked again"
        )

    def what_was_made(self) -> str:
        """What this run wrote, never a file it did not write."""
        made = len(self._new)
        if made:
            return (
                f"{made} new example{'s' if made > 1 else ''} written to {self.out} and every "
                "answer cached"
            )
        if self.metered.calls:
            return f"no new example written ({self.out} unchanged), every answer cached"
        return f"nothing was generated ({self.out} unchanged)"

    def result(self) -> GenerationResult:
        m = self.metered
        return GenerationResult(
            out=self.out,
            batch=self.batch,
            kind=self.kind,
            total=len(self.tasks),
            done=self.done,
            resumed=self.resumed,
            written=len(self._new),
            existing=len(self._existing),
            dropped=self.dropped,
            flagged=self.flagged,
            short=self.short,
            unparsed=self.unparsed,
            calls=m.calls,
            cached=m.cached,
            tokens=m.tokens,
            cost_usd=m.cost_usd,
            cost_unknown=m.cost_unknown,
            elapsed_s=time.monotonic() - self._started if self._started else 0.0,
            stopped=self.stopped,
            duplicates=list(self._duplicates),
            warnings=list(self.warnings),
        )

    # -- OUT: read before, written after ---------------------------------------------------------

    def _read_out(self) -> set[str]:
        """OUT's examples (kept as they are, and put in the dedupe pool) and the ids of the
        tasks they came from."""
        if not self.out.exists():
            return set()
        try:
            if self.out.stat().st_size and detect_format(self.out) is not DatasetFormat.OPENAI:
                raise GenerationJobError(
                    f"{self.out} is not OpenAI chat JSONL; give --out a new file or one that "
                    "ftui generate wrote"
                )
            for record in iter_records(self.out):
                if record.finding is not None or not isinstance(record.value, dict):
                    reason = record.finding.message if record.finding else "not an object"
                    raise GenerationJobError(
                        f"{self.out}:{record.line}: {reason}; fix that line or give --out "
                        "another file (nothing was asked)"
                    )
                self._existing.append(record.value)
                text = _last_user_text(record.value.get("messages"))
                if text:
                    self.index.add(text, f"{self.out.name} line {record.line}")
        except DatasetError as exc:
            raise GenerationJobError(f"{exc}; give --out a new file", bad_input=True) from None
        except OSError as exc:
            raise GenerationJobError(
                f"{self.out}: cannot read it ({exc})", bad_input=True
            ) from None
        keys = [example_key(value) for value in self._existing]
        origins = self.store.origins_by_key(keys)
        self._warn_other_models(origins.values())
        return {str(o.detail.get("task")) for o in origins.values() if o.detail.get("task")}

    def _warn_other_models(self, origins: Iterable[Origin]) -> None:
        """OUT's examples another model made are kept and their tasks skipped: say so, and how
        to start fresh."""
        others: dict[str, int] = {}
        for origin in origins:
            if origin.kind == self.kind and origin.source != self.model.spec.text:
                others[origin.source] = others.get(origin.source, 0) + 1
        if not others:
            return
        count = sum(others.values())
        named = ", ".join(f"{n} by {source}" for source, n in others.items())
        model = self.model.spec.text
        self.warnings.append(
            f"{count} of the {len(self._existing)} examples already in {self.out} came from "
            f"another model ({named}), not {model}: they are kept and their tasks not asked "
            f"again; to generate them with {model}, give a new --out"
        )

    def _write_out(self) -> None:
        if not self._new and not self.out.exists():
            return
        new = sorted(self._new, key=lambda item: item[0])  # stable: a task's own order kept
        try:
            with atomic_writer(self.out, "wb") as handle:
                for value in self._existing:
                    handle.write(dump_record(value) + b"\n")
                for _, example, _ in new:
                    handle.write(orjson.dumps(example) + b"\n")
        except OSError as exc:
            raise GenerationJobError(f"{self.out}: cannot write it ({exc})") from None
        self.store.record_origins(self.out, [(example_key(e), o) for _, e, o in new])

    # -- a task's examples: dedupe and origins ---------------------------------------------------

    def _keep(self, task: Task, made: list[_Made]) -> None:
        for number, item in enumerate(made):
            duplicate = None if self.dedupe == "off" else self.index.check(item.text)
            if duplicate is not None and duplicate.kind == "near" and task.kind == "distill":
                # Distilled prompts are the user's own: a templated dataset's prompts are near
                # one another by design, so only the same prompt asked twice is a duplicate.
                duplicate = None
            detail = {**self._detail(task), **item.detail}
            if duplicate is not None:
                self._duplicates.append(_describe_duplicate(task, item, duplicate, self.dedupe))
                if self.dedupe == "drop":
                    self.dropped += 1
                    continue
                self.flagged += 1
                detail["near_duplicate_of"] = duplicate.of
                detail["duplicate"] = {"kind": duplicate.kind, "score": duplicate.score}
            self.index.add(item.text, f"new: {task.id} #{number + 1}")
            example = {"messages": item.messages}
            origin = Origin(
                kind=self.kind,
                source=self.model.spec.text,
                created_at=self._created_at,
                batch=self.batch,
                detail=detail,
            )
            self._new.append((self._order[task.id], example, origin))

    def _detail(self, task: Task) -> dict[str, Any]:
        detail: dict[str, Any] = {"task": task.id}
        if task.kind == "synth":
            q, a = self.prompts.questions, self.prompts.answer
            detail.update(
                prompt=q.name,
                prompt_sha256=q.sha256,
                answer_prompt=a.name,
                answer_prompt_sha256=a.sha256,
                temperature=self.sampling.temperature,
                question_temperature=self.question_sampling.temperature,
                scenario=task.scenario,
                scenario_line=task.line,
            )
        elif task.kind == "paraphrase":
            p = self.prompts.paraphrase
            detail.update(
                prompt=p.name,
                prompt_sha256=p.sha256,
                temperature=self.sampling.temperature,
                source_row=task.line,
                turn="last user turn",
            )
        else:
            assert task.example is not None
            prompt = orjson.dumps(list(task.example.prompt()), option=orjson.OPT_SORT_KEYS)
            detail.update(
                prompt="source",  # the example's own turns are the prompt
                prompt_sha256=_sha256(prompt),
                temperature=self.sampling.temperature,
                source_row=task.line,
            )
        return detail

    # -- the three kinds -------------------------------------------------------------------------

    async def _task(self, task: Task) -> list[_Made]:
        if task.kind == "synth":
            return await self._synth(task)
        if task.kind == "paraphrase":
            return await self._paraphrase(task)
        return await self._distill(task)

    async def _distill(self, task: Task) -> list[_Made]:
        assert task.example is not None
        prompt = [dict(m) for m in task.example.prompt()]
        answer = await self._answer(prompt, sample=task.sample or None)
        if answer is None:
            return []
        # The whole prompt is what makes a distilled example the same as another: two
        # conversations may end on the same short user turn ("thanks").
        text = "\n".join(str(m.get("content", "")) for m in prompt)
        return [_Made([*prompt, {"role": "assistant", "content": answer}], text, {})]

    async def _synth(self, task: Task) -> list[_Made]:
        assert task.scenario is not None
        asked = self.prompts.questions.render(scenario=task.scenario, n=self.n)
        questions = await self._items(asked, self.question_sampling, task.sample, self.n)
        answers = await asyncio.gather(
            *(
                self._answer(
                    [
                        {
                            "role": "user",
                            "content": self.prompts.answer.render(
                                question=q, scenario=task.scenario
                            ),
                        }
                    ]
                )
                for q in questions
            )
        )
        made = []
        for number, (question, answer) in enumerate(zip(questions, answers, strict=True)):
            if answer is None:
                continue
            messages = [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer},
            ]
            made.append(_Made(messages, question, {"question_number": number + 1}))
        return made

    async def _paraphrase(self, task: Task) -> list[_Made]:
        example = task.example
        assert example is not None
        turn = example.last_user
        original = example.messages[turn]["content"]
        asked = self.prompts.paraphrase.render(question=original, k=self.k)
        rewrites = await self._items(asked, self.sampling, task.sample, self.k)
        made = []
        for number, rewrite in enumerate(rewrites):
            messages = [dict(m) for m in example.messages]
            messages[turn] = {**messages[turn], "content": rewrite}
            made.append(_Made(messages, rewrite, {"paraphrase_number": number + 1}))
        return made

    # -- calls -----------------------------------------------------------------------------------

    async def _items(self, asked: str, sampling: Sampling, sample: int, wanted: int) -> list[str]:
        """The items of a list the model is asked for, asked once more when none can be read."""
        messages: list[dict[str, str]] = [{"role": "user", "content": asked}]
        reply = await self._complete(messages, sampling, sample)
        items = parse_items(reply.text, echo_of=asked)
        if not items:
            follow_up = [
                *messages,
                {"role": "assistant", "content": reply.text},
                {"role": "user", "content": LIST_NUDGE},
            ]
            retry = await self._complete(follow_up, sampling, sample)
            items = parse_items(retry.text, echo_of=asked)
            if not items:
                self.unparsed += 1
        self.short += max(0, wanted - len(items))
        return items[:wanted]

    async def _answer(self, prompt: list[dict[str, str]], sample: int | None = None) -> str | None:
        reply = await self._complete(prompt, self.sampling, sample)
        if reply.text.strip():
            return reply.text.strip()
        follow_up = [
            *prompt,
            {"role": "assistant", "content": reply.text},
            {"role": "user", "content": ANSWER_NUDGE},
        ]
        retry = await self._complete(follow_up, self.sampling, sample)
        if retry.text.strip():
            return retry.text.strip()
        self.unparsed += 1
        return None

    async def _complete(
        self, messages: Messages, sampling: Sampling, sample: int | None
    ) -> Completion:
        # Sample 0 keys as no sample: the first of a kind is the plain call.
        return await self.metered.complete(
            self.model, messages, sampling, sample=sample if sample else None
        )

    # -- progress --------------------------------------------------------------------------------

    def progress(self) -> GenerationProgress:
        elapsed = time.monotonic() - self._started if self._started else 0.0
        total = len(self.tasks)
        eta: float | None = None
        if self.done >= total:
            eta = 0.0
        elif self._done_with_calls:
            eta = elapsed / self._done_with_calls * (total - self.done)
        m = self.metered
        return GenerationProgress(
            done=self.done,
            total=total,
            calls=m.calls,
            cached=m.cached,
            tokens=m.tokens,
            cost_usd=m.cost_usd,
            cost_unknown=m.cost_unknown,
            elapsed_s=elapsed,
            eta_s=eta,
            examples=len(self._new),
            dropped=self.dropped,
            flagged=self.flagged,
            stopped=self.stopped,
        )

    def _report_progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress())


def _last_user_text(messages: Any) -> str | None:
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else None
    return None


def _describe_duplicate(task: Task, item: _Made, duplicate: Duplicate, mode: str) -> dict[str, Any]:
    return {
        "task": task.id,
        "text": item.text,
        "kind": duplicate.kind,
        "of": duplicate.of,
        "score": duplicate.score,
        "action": "dropped" if mode == "drop" else "flagged",
    }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
