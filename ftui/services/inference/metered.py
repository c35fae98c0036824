"""Model calls through the store's completions cache, a concurrency cap and a budget.

    calls = MeteredCalls(store, concurrency=8, budget_usd=2.0, budget_tokens=None)
    completion = await calls.complete(model, messages, sampling)              # deterministic
    completion = await calls.complete(model, messages, sampling, sample=2)    # the 3rd sample

One piece for every job that asks models many questions (the judge, data generation):

- Every call goes through the store's completions cache, keyed by the model spec, the messages
  and the sampling. `sample=i` adds the sample's index to the key: k paraphrases asked of the same
  messages at a temperature above 0 are k different calls, and a resumed job gets the same k
  answers back from the cache instead of asking again. A call with no `sample` keys exactly as
  before (caches written by older versions stay valid).
- At most `concurrency` calls are in flight at once (one semaphore for every model).
- `budget_usd` caps what paid APIs (OpenAI models in `ftui.core.pricing.inference`) may cost, and
  `budget_tokens` the tokens sent and received by any model: a call starts only while what was
  spent, plus what the calls in flight may spend, plus its own estimate (its prompt and its whole
  `max_tokens`), stays under each cap. A call that only the calls in flight crowd out waits for
  them; one the budget can't cover at all stops every call (`BudgetReached`, and `stopped` says
  which budget and how much of it was spent, counted when it is read: the calls that were in
  flight at the stop included). A budget that cannot cover even the first call on its own
  raises `BudgetTooSmall`, saying what one call may use. A model missing from the price table
  runs with its cost unknown (`cost_unknown`). Answers from the cache cost nothing.
- An answer is cached the moment it returns, so a kill loses only the calls in flight.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ftui.core.pricing.inference import inference_cost_usd
from ftui.services.inference.base import ChatModel, Completion, Sampling
from ftui.services.store.generations import completion_key

if TYPE_CHECKING:
    from ftui.services.store import RunStore

# Rough tokens per character, for a budget estimate before a call (and when usage is missing).
CHARS_PER_TOKEN = 4
# What each message adds to a prompt beyond its text (role, separators), as OpenAI counts.
TOKENS_PER_MESSAGE = 4


class BudgetReached(Exception):
    """No more calls: a budget would be passed (`MeteredCalls.stopped` says which)."""


class BudgetTooSmall(BudgetReached):
    """The budget cannot cover even one call (its prompt and its whole `max_tokens`): bad
    input, said before any call is sent."""


@dataclass(frozen=True)
class Meter:
    """What the calls so far have used."""

    calls: int  # calls sent to a model
    cached: int  # calls answered from the cache
    cost_usd: float  # what the priced calls cost
    cost_unknown: bool  # some paid call had no price: the real cost is higher than cost_usd
    tokens: int  # prompt + completion tokens of the calls sent (usage, or an estimate)


def sampling_key(sampling: Sampling) -> dict[str, Any]:
    return dataclasses.asdict(sampling)


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def estimate_prompt_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    return sum(estimate_tokens(m.get("content", "")) + TOKENS_PER_MESSAGE for m in messages)


def paid_model_name(model: ChatModel, answered_as: str | None = None) -> str | None:
    """The OpenAI model name a call to `model` is billed as; None for models that cost nothing
    (local models, other OpenAI-compatible servers). A `run:` spec resolves to what the run
    made (`openai:ft:...` or `local:...`), so it is billed (or not) as that."""
    if model.spec.kind == "openai":
        return model.spec.model or answered_as
    return None


def call_key(
    model: ChatModel,
    messages: Sequence[Mapping[str, str]],
    sampling: Sampling,
    sample: int | None = None,
) -> str:
    """The cache key of one call (the sample's index in it, when there is one)."""
    settings = sampling_key(sampling)
    if sample is not None:
        settings["sample"] = sample
    return completion_key(model.spec.text, messages, settings)


class MeteredCalls:
    def __init__(
        self,
        store: RunStore,
        *,
        concurrency: int = 8,
        budget_usd: float | None = None,
        budget_tokens: int | None = None,
        on_call: Callable[[], None] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1 (got {concurrency})")
        if budget_usd is not None and budget_usd < 0:
            raise ValueError(f"the budget must be 0 or more dollars (got {budget_usd})")
        if budget_tokens is not None and budget_tokens < 0:
            raise ValueError(f"the token budget must be 0 or more (got {budget_tokens})")
        self.store = store
        self.concurrency = concurrency
        self.budget_usd = budget_usd
        self.budget_tokens = budget_tokens
        self.on_call = on_call  # after each call sent (not the cached ones): a progress hook
        self.on_stop: Callable[[], None] | None = None  # once, when a budget stops the calls
        self.calls = 0
        self.cached = 0
        self.cost_usd = 0.0
        self.cost_unknown = False
        self.tokens = 0
        self._stopped_at: str | None = None  # the budget that stopped the calls: "usd", "tokens"
        self._next_call: tuple[float, int] = (0.0, 0)  # what the call it refused asked for
        self._reserved_usd = 0.0
        self._reserved_tokens = 0
        self._slots = asyncio.Semaphore(concurrency)
        self._budget = asyncio.Condition()

    @property
    def stopped(self) -> str | None:
        """Which budget stopped the calls and how much of it the calls used, now."""
        if self._stopped_at == "usd":
            assert self.budget_usd is not None
            return (
                f"stopped at the budget: ${self.cost_usd:.4f} of ${self.budget_usd:.4f} spent "
                f"(the next call might have cost up to ${self._next_call[0]:.4f})"
            )
        if self._stopped_at == "tokens":
            assert self.budget_tokens is not None
            return (
                f"stopped at the token budget: {self.tokens:,} of {self.budget_tokens:,} "
                f"tokens used (the next call might have used up to {self._next_call[1]:,})"
            )
        return None

    def meter(self) -> Meter:
        return Meter(self.calls, self.cached, self.cost_usd, self.cost_unknown, self.tokens)

    async def complete(
        self,
        model: ChatModel,
        messages: Sequence[Mapping[str, str]],
        sampling: Sampling,
        *,
        sample: int | None = None,
    ) -> Completion:
        """The answer of `model`, from the cache when it was asked before.

        Raises `BudgetReached` when a budget stops the calls, and whatever the model raises
        (`InferenceError` after its own retries)."""
        key = call_key(model, messages, sampling, sample)
        cached = self.store.cached_completion(key)
        if cached is not None:
            self.cached += 1
            return Completion(
                text=cached.text,
                model=cached.model,
                prompt_tokens=cached.prompt_tokens,
                completion_tokens=cached.completion_tokens,
            )
        async with self._slots:
            reserved = await self._reserve(model, messages, sampling)
            try:
                completion = await model.complete(messages, sampling)
                self._charge(model, messages, completion)
            finally:
                await self._release(reserved)
        self.calls += 1
        self.store.cache_completion(
            key,
            completion.model,
            completion.text,
            completion.prompt_tokens,
            completion.completion_tokens,
        )
        if self.on_call is not None:
            self.on_call()
        return completion

    # -- the budgets ----------------------------------------------------------------------------

    async def _reserve(
        self, model: ChatModel, messages: Sequence[Mapping[str, str]], sampling: Sampling
    ) -> tuple[float, int]:
        """What this call may cost at most (by estimate), held against the budgets while it
        runs: (dollars, tokens)."""
        if self.stopped:
            raise BudgetReached(self.stopped)
        name = paid_model_name(model)
        tokens = estimate_prompt_tokens(messages) + sampling.max_tokens
        usd = 0.0
        if name is not None and self.budget_usd is not None:
            usd = inference_cost_usd(name, tokens - sampling.max_tokens, sampling.max_tokens) or 0.0
        if self.budget_tokens is None:
            tokens = 0
        if not usd and not tokens:
            return 0.0, 0
        async with self._budget:
            while True:
                if self.stopped:
                    raise BudgetReached(self.stopped)
                over = self._over_budget(usd, tokens, in_flight=False)
                if over is not None:
                    nothing_spent = not self.calls and not self._reserved_tokens
                    nothing_spent = nothing_spent and not self._reserved_usd
                    self._next_call = (usd, tokens)
                    self._stop(over)
                    self._budget.notify_all()
                    if nothing_spent:
                        raise BudgetTooSmall(
                            self._too_small(over, usd, tokens - sampling.max_tokens, sampling)
                        )
                    raise BudgetReached(self.stopped)
                if self._over_budget(usd, tokens, in_flight=True) is None:
                    self._reserved_usd += usd
                    self._reserved_tokens += tokens
                    return usd, tokens
                await self._budget.wait()

    def _over_budget(self, usd: float, tokens: int, *, in_flight: bool) -> str | None:
        """Which budget a call of (usd, tokens) would pass ("usd", "tokens"); None if none."""
        held_usd = self._reserved_usd if in_flight else 0.0
        held_tokens = self._reserved_tokens if in_flight else 0
        if self.budget_usd is not None and usd and self.cost_usd + held_usd + usd > self.budget_usd:
            return "usd"
        if (
            self.budget_tokens is not None
            and tokens
            and self.tokens + held_tokens + tokens > self.budget_tokens
        ):
            return "tokens"
        return None

    def _too_small(self, budget: str, usd: float, prompt: int, sampling: Sampling) -> str:
        if budget == "usd":
            return (
                f"--budget-usd {self.budget_usd:g} cannot cover one call: a call may cost up to "
                f"${usd:.4f} (~{prompt:,} prompt + {sampling.max_tokens:,} --max-tokens "
                "tokens); raise the budget or lower --max-tokens"
            )
        return (
            f"--budget-tokens {self.budget_tokens:,} cannot cover one call: a call may use up "
            f"to ~{prompt:,} prompt + {sampling.max_tokens:,} --max-tokens tokens; raise the "
            "budget or lower --max-tokens"
        )

    def _stop(self, reason: str) -> None:
        self._stopped_at = reason
        if self.on_stop is not None:
            self.on_stop()

    async def _release(self, reserved: tuple[float, int]) -> None:
        if reserved == (0.0, 0):
            return
        async with self._budget:
            self._reserved_usd -= reserved[0]
            self._reserved_tokens -= reserved[1]
            self._budget.notify_all()

    def _charge(
        self, model: ChatModel, messages: Sequence[Mapping[str, str]], completion: Completion
    ) -> None:
        prompt = completion.prompt_tokens
        if prompt is None:
            prompt = estimate_prompt_tokens(messages)
        output = completion.completion_tokens
        if output is None:
            output = estimate_tokens(completion.text)
        self.tokens += prompt + output
        name = paid_model_name(model, completion.model)
        if name is None:
            return
        cost = inference_cost_usd(name, prompt, output)
        if cost is None:
            self.cost_unknown = True
        else:
            self.cost_usd += cost
