"""A chat model behind OpenAI's API or any server that speaks it (vLLM, Ollama, llama.cpp, TGI...).

The real `openai.AsyncOpenAI` with its own retries off (`max_retries=0`); ftui retries instead,
with the policy and the error classification of `backends.openai_client`:

- 429: waits what the server asks (`retry-after-ms` / `Retry-After`), never less than the backoff,
  capped at the policy's `max_retry_after_s`;
- 5xx, 408, 409, timeouts and dropped connections: capped exponential backoff with jitter;
- 401/403 and other refusals (400, 404, 422): at once, as an `InferenceError` saying what to do.

Every request asks for one answer (`n=1`) and sends temperature, top_p and max_tokens (and the
seed when there is one): servers' defaults differ. `usage` may be missing. No message made here
holds the API key. The SDK is imported on the first call, not with this module.
"""

from __future__ import annotations

import asyncio
import random as random_module
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ftui.services.backends.openai_client import (
    HOW_TO_SET_KEY,
    Failure,
    RetryPolicy,
    classify,
    scrub,
)
from ftui.services.inference.base import Completion, InferenceError, Sampling
from ftui.services.inference.spec import ModelSpec

if TYPE_CHECKING:
    from openai import AsyncOpenAI

T = TypeVar("T")

# Inference calls are many and short: the same shape as the fine-tuning client's policy, with a
# shorter cap on what a 429 may make us wait (a judge job shows its progress meanwhile).
INFERENCE_POLICY = RetryPolicy(attempts=6, base_s=0.5, max_s=20.0, max_retry_after_s=120.0)
REQUEST_TIMEOUT_S = 300.0  # a local server writing 512 tokens on a CPU takes its time
COMPATIBLE_KEY_HELP = (
    "Set FTUI_JUDGE_API_KEY (or OPENAI_API_KEY) to the key this server expects; servers on your "
    "own machine usually need none."
)
MODELS_SHOWN = 8

RetryHook = Callable[[int, Failure, float], None]


class OpenAICompatibleModel:
    """`openai:MODEL` or `openai-compatible:URL#MODEL` as a `ChatModel`."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        base_url: str,
        api_key: str,
        label: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        policy: RetryPolicy = INFERENCE_POLICY,
        timeout_s: float = REQUEST_TIMEOUT_S,
        on_retry: RetryHook | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        if not spec.model:
            raise ValueError(f"{spec.text!r} names no model")
        self.spec = spec
        self.label = label or spec.text
        self.model = spec.model
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._organization = organization
        self._project = project
        self._policy = policy
        self._timeout_s = timeout_s
        self._on_retry = on_retry
        self._sleep = sleep
        self._random = random
        self._client: AsyncOpenAI | None = None

    def __repr__(self) -> str:  # never the key
        return f"OpenAICompatibleModel({self.label!r}, base_url={self.base_url!r})"

    def _get_client(self) -> AsyncOpenAI:
        if self._client is None:
            from openai import AsyncOpenAI

            self._client = AsyncOpenAI(
                api_key=self._api_key,
                base_url=self.base_url,
                organization=self._organization,
                project=self._project,
                timeout=self._timeout_s,
                max_retries=0,  # ours below: Retry-After honoured, capped, and our messages
            )
        return self._client

    async def complete(
        self, messages: Sequence[Mapping[str, str]], sampling: Sampling
    ) -> Completion:
        client = self._get_client()
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(message) for message in messages],
            "n": 1,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
        }
        if sampling.seed is not None:
            request["seed"] = sampling.seed
        response = await self._call(
            lambda: client.chat.completions.create(**request), what="answer"
        )
        return self._completion(response)

    def _completion(self, response: Any) -> Completion:
        choices = getattr(response, "choices", None) or []
        if not choices:
            raise InferenceError(
                f"{self.label} answered with no choices at {self.base_url}: the server is not "
                "speaking OpenAI's chat API as expected. Check the URL and the model name.",
                model=self.label,
            )
        choice = choices[0]
        message = getattr(choice, "message", None)
        text = getattr(message, "content", None) or getattr(message, "refusal", None) or ""
        usage = getattr(response, "usage", None)
        return Completion(
            text=str(text),
            model=str(getattr(response, "model", None) or self.model),
            prompt_tokens=_int_or_none(getattr(usage, "prompt_tokens", None)),
            completion_tokens=_int_or_none(getattr(usage, "completion_tokens", None)),
            finish_reason=getattr(choice, "finish_reason", None),
        )

    async def list_models(self) -> list[str]:
        """The model names the server offers (GET /v1/models)."""
        client = self._get_client()

        async def fetch() -> list[str]:
            page = await client.models.list()
            return [str(model.id) for model in page.data]

        return await self._call(fetch, what="list its models")

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    # -- retries and messages -----------------------------------------------------------------

    async def _call(self, operation: Callable[[], Awaitable[T]], *, what: str) -> T:
        policy = self._policy
        for attempt in range(1, policy.attempts + 1):
            try:
                return await operation()
            except Exception as exc:
                failure = classify(exc, self._api_key)
                if failure is None:
                    raise
                if not failure.retryable or attempt == policy.attempts:
                    raise await self._error(failure, what, attempt) from None
                delay = policy.backoff_s(attempt, self._random)
                if failure.wait_s is not None:
                    delay = max(delay, min(failure.wait_s, policy.max_retry_after_s))
                if self._on_retry is not None:
                    self._on_retry(attempt, failure, delay)
                await self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _error(self, failure: Failure, what: str, attempts: int) -> InferenceError:
        where = f"{self.label} ({self.base_url})" if self.spec.kind != "openai" else self.label
        status = f"HTTP {failure.status}: " if failure.status else ""
        said = scrub(f"{status}{failure.message}", self._api_key)
        if failure.auth:
            help_text = HOW_TO_SET_KEY if self.spec.kind == "openai" else COMPATIBLE_KEY_HELP
            verb = "refused the API key" if failure.status == 401 else "denied access"
            message = f"{where} {verb} ({said}). {help_text}"
        elif failure.retryable:
            message = (
                f"{where} could not {what}: {said}, still after {attempts} tries. The server is "
                "down or overloaded: try again later, or lower the concurrency."
            )
        elif failure.status == 404:
            message = f"{where} could not {what} ({said}). " + await self._models_hint()
        else:
            message = f"{where} refused to {what} ({said}). Check the model name and the settings."
        return InferenceError(
            scrub(message, self._api_key),
            model=self.label,
            status=failure.status,
            retryable=failure.retryable,
        )

    async def _models_hint(self) -> str:
        """What to do about a 404: the names the server does have, when it will say."""
        try:
            page = await self._get_client().models.list()
            names = [str(model.id) for model in page.data]
        except Exception:
            names = []
        if not names:
            return "Check the URL (it usually ends in /v1) and the model name."
        shown = ", ".join(names[:MODELS_SHOWN]) + (", ..." if len(names) > MODELS_SHOWN else "")
        return f"Check the model name: this server offers {shown}."


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
