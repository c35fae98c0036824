"""Talking to OpenAI (or any OpenAI-compatible server): the client, the retries, the messages.

`build_client(settings)` makes an `AsyncOpenAI` from the `[openai]` settings, with the SDK's own
retries off: every call goes through `call()`, which retries what is worth retrying and turns
everything else into an `OpenAIProblem` whose message says what to do.

- 429: waits what the server asks (`retry-after-ms`, else `Retry-After` in seconds or as a date),
  never less than the backoff, capped at `RetryPolicy.max_retry_after_s`.
- 5xx, 408, 409, timeouts and dropped connections: capped exponential backoff with full jitter.
- 401/403: `KeyRefused` at once (retrying a wrong key only burns the rate limit).
- After `RetryPolicy.attempts` tries: `Unreachable`, which callers treat as "try again later",
  never as the run having failed.

No message made here holds the key: the SDK's own texts are scrubbed of it (`scrub`), and the
settings object masks it in its repr.
"""

from __future__ import annotations

import asyncio
import email.utils
import random as random_module
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ftui.config import MASK, OpenAISettings
from ftui.services.backends.base import LaunchError

if TYPE_CHECKING:
    from openai import AsyncOpenAI

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
REQUEST_TIMEOUT_S = 60.0
HOW_TO_SET_KEY = (
    "Set OPENAI_API_KEY in the environment, or `api_key` in the [openai] section of the settings "
    "file (`ftui config path` says where it is)."
)
RETRYABLE_STATUS = frozenset({408, 409, 429})


class OpenAIProblem(LaunchError):
    """A call to OpenAI that did not work; the message says what happened and what to do."""


class MissingKey(OpenAIProblem):
    def __init__(self) -> None:
        super().__init__("No OpenAI API key is configured. " + HOW_TO_SET_KEY)


class KeyRefused(OpenAIProblem):
    """401 or 403: the key is wrong, revoked, or lacks access to this organization or project."""


class Unreachable(OpenAIProblem):
    """The network or the service stayed down through every retry: try again later.

    `retry_after_s` is what the last answer asked us to wait (a 429's Retry-After), if any."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Refused(OpenAIProblem):
    """The service answered and said no (400, 404, 422...): OpenAI's own message is kept."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # tries in all, the first included
    base_s: float = 0.5
    max_s: float = 30.0
    max_retry_after_s: float = 300.0

    def backoff_s(self, retry: int, random: Callable[[], float]) -> float:
        """Full jitter over a capped exponential: retry 1 waits up to base, 2 up to 2*base..."""
        ceiling = min(self.max_s, self.base_s * (2 ** max(0, retry - 1)))
        return ceiling * (0.5 + 0.5 * random())


DEFAULT_POLICY = RetryPolicy()


def account_name(settings: OpenAISettings) -> str:
    """Where files and jobs live: the base URL, organization and project (never the key)."""
    base = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
    return f"{base}|{settings.organization or ''}|{settings.project or ''}"


def build_client(
    settings: OpenAISettings, *, timeout: float = REQUEST_TIMEOUT_S, max_retries: int = 0
) -> AsyncOpenAI:
    """An `AsyncOpenAI` from the settings; `MissingKey` without a key. Every value is passed
    explicitly, so the SDK never falls back on environment variables of its own."""
    if not settings.api_key:
        raise MissingKey()
    from openai import AsyncOpenAI

    return AsyncOpenAI(
        api_key=settings.api_key,
        base_url=settings.base_url or DEFAULT_BASE_URL,
        organization=settings.organization,
        project=settings.project,
        timeout=timeout,
        max_retries=max_retries,
    )


def scrub(text: str, secret: str | None) -> str:
    """`text` with the key (and any `sk-...` looking token) masked."""
    if secret:
        text = text.replace(secret, MASK)
    return re.sub(r"\bsk-[A-Za-z0-9_\-]{8,}", MASK, text)


def retry_after_s(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """What a response asks us to wait: `retry-after-ms`, else `Retry-After` (seconds or date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class Failure:
    """One failed attempt, classified."""

    retryable: bool
    message: str
    wait_s: float | None = None  # what the server asked for
    status: int | None = None
    code: str | None = None
    auth: bool = False


def _body_error(body: Any) -> tuple[str | None, str | None]:
    if isinstance(body, Mapping):
        message = body.get("message")
        code = body.get("code")
        return (str(message) if message else None), (str(code) if code else None)
    return None, None


def classify(exc: BaseException, secret: str | None = None) -> Failure | None:
    """What an exception from the SDK means; None when it is not the SDK's (a bug: re-raised)."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return Failure(True, "the request timed out")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return Failure(True, scrub(f"the connection failed ({cause})", secret))
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        message, code = _body_error(exc.body)
        text = scrub(message or str(exc), secret)
        if status in (401, 403):
            return Failure(False, text, status=status, code=code, auth=True)
        if status in RETRYABLE_STATUS or status >= 500:
            headers = dict(exc.response.headers) if exc.response is not None else None
            return Failure(True, text, retry_after_s(headers), status, code)
        return Failure(False, text, status=status, code=code)
    if isinstance(exc, openai.APIError):
        return Failure(False, scrub(str(exc), secret))
    return None


def problem_for(failure: Failure, what: str, attempts: int) -> OpenAIProblem:
    """The exception a caller sees once `call()` gives up."""
    if failure.auth:
        verb = "refused the API key" if failure.status == 401 else "denied access"
        return KeyRefused(
            f"OpenAI {verb} while trying to {what} (HTTP {failure.status}: {failure.message}). "
            "Check the key, and the organization and project if you set them. " + HOW_TO_SET_KEY
        )
    if failure.retryable:
        return Unreachable(
            f"Could not {what}: {failure.message}, still after {attempts} tries. The network or "
            "OpenAI is down; nothing was lost: try again later (the run stays followable).",
            retry_after_s=failure.wait_s,
        )
    status = f"HTTP {failure.status}" if failure.status else "error"
    code = f" [{failure.code}]" if failure.code else ""
    return Refused(
        f"OpenAI refused to {what} ({status}{code}): {failure.message}",
        status=failure.status,
        code=failure.code,
    )


RetryHook = Callable[[int, Failure, float], None]


async def call(
    operation: Callable[[], Awaitable[T]],
    *,
    what: str,
    policy: RetryPolicy = DEFAULT_POLICY,
    secret: str | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    random: Callable[[], float] = random_module.random,
    on_retry: RetryHook | None = None,
) -> T:
    """Run `operation` (one API request) with retries; raises an `OpenAIProblem` at the end.

    `what` names the action for the message ("create the fine-tuning job"); `on_retry(retry,
    failure, delay)` is told before each wait (the follower logs long ones)."""
    failure: Failure | None = None
    for attempt in range(1, policy.attempts + 1):
        try:
            return await operation()
        except Exception as exc:
            failure = classify(exc, secret)
            if failure is None:
                raise
            if not failure.retryable or attempt == policy.attempts:
                raise problem_for(failure, what, attempt) from None
            delay = policy.backoff_s(attempt, random)
            if failure.wait_s is not None:
                delay = max(delay, min(failure.wait_s, policy.max_retry_after_s))
            if on_retry is not None:
                on_retry(attempt, failure, delay)
            await sleep(delay)
    assert failure is not None
    raise problem_for(failure, what, policy.attempts)


def settings_without_key(settings: OpenAISettings) -> dict[str, str | None]:
    """The settings that may be written down (a run's config, `--json`): no key."""
    return {
        "base_url": settings.base_url,
        "organization": settings.organization,
        "project": settings.project,
    }
