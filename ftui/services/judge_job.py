"""One A/B judging job: both models answer an eval set, a judge compares them in both orders.

    job = JudgeJob(store, a, b, judge, examples, sampling=Sampling(), judge_sampling=Sampling(),
                   rubric=DEFAULT_RUBRIC, concurrency=8, budget_usd=2.0, on_progress=print)
    report = await job.run()

- Every call goes through `MeteredCalls` (services/inference/metered.py): the store's completions
  cache, keyed by the model spec, the messages and the sampling (a second run, a run resumed
  after a kill, or a run with only a new judge pays for nothing it already has; a row is written
  the moment its call returns), at most `concurrency` calls at once, and the dollar budget.
- At most `concurrency` examples are open at once, so examples finish steadily rather than all
  at the end.
- The judge sees each pair twice, B as Assistant B and then swapped; `combine` turns two
  disagreeing verdicts into a tie. A reply with no verdict is asked once more for one (a follow-up
  turn), then recorded as unknown, never guessed.
- `budget_usd` caps what paid APIs may cost: when the next call would pass it, the job stops
  cleanly and reports the examples it finished (`stopped`). A model missing from the price table
  runs with its cost unknown.
- Each finished example is written to the store's judge results under this job's `session`.
- Errors from a model (`InferenceError`, after its own retries) stop the job with that message;
  what was answered before stays cached, so running again resumes.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ftui.core.judge.evalset import EvalExample, with_system_prompt
from ftui.core.judge.metrics import answer_length
from ftui.core.judge.prompts import pair_messages, render_conversation
from ftui.core.judge.report import ExampleResult, JudgeReport
from ftui.core.judge.verdicts import Verdict, parse_verdict
from ftui.services.inference.base import ChatModel, Completion, InferenceError, Sampling
from ftui.services.inference.metered import BudgetReached, MeteredCalls

if TYPE_CHECKING:
    from ftui.services.store import RunStore

# A follow-up turn for a judge reply that ended without a verdict.
VERDICT_NUDGE = (
    "Your reply did not end with a verdict. Reply with only your final verdict: "
    '"[[A]]" if assistant A is better, "[[B]]" if assistant B is better, "[[C]]" for a tie.'
)


@dataclass(frozen=True)
class JudgeProgress:
    done: int  # examples finished
    total: int
    calls: int  # calls sent to a model
    cached: int  # calls answered from the cache
    cost_usd: float  # what the priced calls cost so far
    cost_unknown: bool  # some paid call had no price: the real cost is higher than cost_usd
    elapsed_s: float
    eta_s: float | None  # None until an example needed a call
    stopped: str | None = None  # why the job stopped early (the budget), once it has


class JudgeJobError(Exception):
    """A model failed for good: the message says which, what happened and what to do."""


def model_name(model: ChatModel) -> str:
    """How a model is named in reports and the store: a run of the history by its run (`run:ID`,
    so its results stay with it), any other by its spec."""
    if model.label.startswith("run:"):
        return model.label
    return model.spec.text


def default_session() -> str:
    return time.strftime("judge-%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class JudgeJob:
    def __init__(
        self,
        store: RunStore,
        a: ChatModel,
        b: ChatModel,
        judge: ChatModel | None,
        examples: list[EvalExample],
        *,
        sampling: Sampling,
        judge_sampling: Sampling,
        rubric: str,
        concurrency: int = 8,
        budget_usd: float | None = None,
        on_progress: Callable[[JudgeProgress], None] | None = None,
        session: str | None = None,
        eval_set: str | None = None,
        system_prompt: str | None = None,
    ) -> None:
        self.metered = MeteredCalls(
            store, concurrency=concurrency, budget_usd=budget_usd, on_call=self._report_progress
        )
        self.metered.on_stop = self._report_progress
        self.store = store
        self.a, self.b, self.judge = a, b, judge
        self.examples = list(examples)
        self.sampling = sampling
        self.judge_sampling = judge_sampling
        self.rubric = rubric
        self.concurrency = concurrency
        self.budget_usd = budget_usd
        self.on_progress = on_progress
        self.session = session or default_session()
        self.eval_set = eval_set
        self.system_prompt = system_prompt or None  # both models answer with it, when given
        self._done = 0
        self._done_with_calls = 0
        self._started = 0.0
        self._example_slots = asyncio.Semaphore(concurrency)

    # What the calls so far have used, and why the job stopped early (the budget), once it has.
    @property
    def calls(self) -> int:
        return self.metered.calls

    @property
    def cached(self) -> int:
        return self.metered.cached

    @property
    def cost_usd(self) -> float:
        return self.metered.cost_usd

    @property
    def cost_unknown(self) -> bool:
        return self.metered.cost_unknown

    @property
    def stopped(self) -> str | None:
        if self.metered.stopped is None:
            return None
        return (
            f"{self.metered.stopped}, {self._done} of {len(self.examples)} examples finished; "
            "run again with a higher --budget-usd to go on (what was answered is cached and "
            "not paid again)"
        )

    # -- the job ------------------------------------------------------------------------------

    async def run(self) -> JudgeReport:
        self._started = time.monotonic()
        self._report_progress()
        results: list[ExampleResult | None] = [None] * len(self.examples)

        async def one(index: int, example: EvalExample) -> None:
            async with self._example_slots:
                if self.stopped:
                    return
                try:
                    results[index] = await self._example(example)
                except BudgetReached:
                    return
            self._report_progress()

        try:
            async with asyncio.TaskGroup() as group:
                for index, example in enumerate(self.examples):
                    group.create_task(one(index, example))
        except* InferenceError as errors:
            raise JudgeJobError(str(errors.exceptions[0])) from errors.exceptions[0]
        self._report_progress()
        return JudgeReport(
            a=model_name(self.a),
            b=model_name(self.b),
            judge=model_name(self.judge) if self.judge else None,
            n=len(self.examples),
            examples=[result for result in results if result is not None],
            eval_set=self.eval_set,
            settings=self.settings(),
        )

    def settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "temperature": self.sampling.temperature,
            "max_tokens": self.sampling.max_tokens,
            "top_p": self.sampling.top_p,
            "session": self.session,
        }
        if self.sampling.seed is not None:
            out["seed"] = self.sampling.seed
        if self.system_prompt is not None:
            out["system_prompt"] = self.system_prompt
        if self.judge is not None:
            out["judge_temperature"] = self.judge_sampling.temperature
            out["rubric"] = self.rubric
        if self.budget_usd is not None:
            out["budget_usd"] = self.budget_usd
        return out

    async def _example(self, example: EvalExample) -> ExampleResult:
        calls_before = self.calls
        prompt = with_system_prompt(example.messages, self.system_prompt)
        answer_a, answer_b = await asyncio.gather(
            self._complete(self.a, prompt, self.sampling),
            self._complete(self.b, prompt, self.sampling),
        )
        question = render_conversation(prompt)
        verdicts: tuple[Verdict | None, Verdict | None] | None = None
        explanation: str | None = None
        if self.judge is not None:
            (ab, ab_text), (ba, _) = await asyncio.gather(
                self._verdict(question, answer_a.text, answer_b.text, example.reference),
                self._verdict(question, answer_b.text, answer_a.text, example.reference),
            )
            verdicts = (ab, ba)
            explanation = ab_text
        result = ExampleResult.build(
            example.key,
            question,
            example.reference,
            answer_a.text,
            answer_b.text,
            verdicts=verdicts,
            explanation=explanation,
        )
        self._record(result)
        self._done += 1
        if self.calls > calls_before:
            self._done_with_calls += 1
        return result

    async def _verdict(
        self, question: str, first: str, second: str, reference: str | None
    ) -> tuple[Verdict | None, str]:
        """The judge's verdict with `first` as Assistant A, and its reply."""
        assert self.judge is not None
        messages = pair_messages(question, first, second, reference=reference, rubric=self.rubric)
        reply = await self._complete(self.judge, messages, self.judge_sampling)
        verdict = parse_verdict(reply.text)
        if verdict is not None:
            return verdict, reply.text
        follow_up = [
            *messages,
            {"role": "assistant", "content": reply.text},
            {"role": "user", "content": VERDICT_NUDGE},
        ]
        retry = await self._complete(self.judge, follow_up, self.judge_sampling)
        return parse_verdict(retry.text), reply.text + "\n\n" + retry.text

    def _record(self, result: ExampleResult) -> None:
        self.store.add_judge_result(
            self.session,
            model_name(self.a),
            model_name(self.b),
            example_key=result.key,
            winner=result.outcome,
            scores={"a": result.metrics_a, "b": result.metrics_b},
            details={
                "judge": model_name(self.judge) if self.judge else None,
                "models": {"a": self.a.spec.text, "b": self.b.spec.text},  # as resolved
                "verdicts": list(result.verdicts),
                "explanation": result.explanation,
                "len_a": answer_length(result.answer_a),
                "len_b": answer_length(result.answer_b),
                "len_diff": result.len_diff,
                "question": result.question,
                "reference": result.reference,
                "answer_a": result.answer_a,
                "answer_b": result.answer_b,
            },
        )

    async def _complete(
        self, model: ChatModel, messages: Sequence[Mapping[str, str]], sampling: Sampling
    ) -> Completion:
        return await self.metered.complete(model, messages, sampling)

    # -- progress -----------------------------------------------------------------------------

    def progress(self) -> JudgeProgress:
        elapsed = time.monotonic() - self._started if self._started else 0.0
        total = len(self.examples)
        eta: float | None = None
        if self._done >= total:
            eta = 0.0
        elif self._done_with_calls:
            eta = elapsed / self._done_with_calls * (total - self._done)
        return JudgeProgress(
            done=self._done,
            total=total,
            calls=self.calls,
            cached=self.cached,
            cost_usd=self.cost_usd,
            cost_unknown=self.cost_unknown,
            elapsed_s=elapsed,
            eta_s=eta,
            stopped=self.stopped,
        )

    def _report_progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress())
