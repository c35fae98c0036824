"""The OpenAI client's retries and messages, against the test server with the real SDK."""

from __future__ import annotations

import asyncio
import email.utils
import time

import pytest

from ftui.config import OpenAISettings
from ftui.services.backends.openai_client import (
    KeyRefused,
    MissingKey,
    Refused,
    RetryPolicy,
    Unreachable,
    account_name,
    build_client,
    call,
    retry_after_s,
    scrub,
)

KEY = "sk-test-client-0123456789abcdef"


def test_retry_after_reads_milliseconds_first_then_seconds_then_a_date() -> None:
    assert retry_after_s({"retry-after-ms": "1500", "Retry-After": "9"}) == 1.5
    assert retry_after_s({"Retry-After": "7"}) == 7.0
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (retry_after_s({"retry-after": when}) or 0) <= 31
    assert retry_after_s({"retry-after": "soon"}) is None
    assert retry_after_s({}) is None


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base_s=1.0, max_s=8.0)
    assert policy.backoff_s(1, lambda: 1.0) == 1.0
    assert policy.backoff_s(3, lambda: 1.0) == 4.0
    assert policy.backoff_s(10, lambda: 1.0) == 8.0
    assert policy.backoff_s(10, lambda: 0.0) == 4.0  # jitter: half to all of the ceiling


def test_no_key_is_a_clear_message_and_the_key_is_never_in_names() -> None:
    with pytest.raises(MissingKey, match="OPENAI_API_KEY"):
        build_client(OpenAISettings())
    settings = OpenAISettings(api_key=KEY, organization="org-1")
    assert KEY not in account_name(settings)
    assert KEY not in repr(settings)
    assert KEY not in scrub(f"bad key {KEY} given", KEY)
    assert "sk-other-secret-value" not in scrub("Incorrect API key: sk-other-secret-value", None)


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _client(server, key: str | None = None, timeout: float = 5.0):
    settings = OpenAISettings(api_key=key or server.api_key, base_url=server.base_url)
    return build_client(settings, timeout=timeout)


def test_429_waits_what_the_server_asks(fake_openai) -> None:
    fake_openai.faults.add(r"/v1/models", "429", times=1, retry_after=3)
    fake_openai.faults.add(r"/v1/models", "429", times=1, retry_after_ms=1200)
    sleeps = Sleeps()

    async def go():
        client = _client(fake_openai)
        try:
            return await call(
                lambda: client.models.list(), what="list models", sleep=sleeps, random=lambda: 0.0
            )
        finally:
            await client.close()

    asyncio.run(go())
    assert sleeps.waits == [3.0, 1.2]


def test_5xx_and_dropped_connections_are_retried_then_succeed(fake_openai) -> None:
    fake_openai.faults.add(r"/v1/models", "500", times=1)
    fake_openai.faults.add(r"/v1/models", "503", times=1)
    fake_openai.faults.add(r"/v1/models", "drop", times=1)
    sleeps = Sleeps()

    async def go():
        client = _client(fake_openai)
        try:
            return await call(lambda: client.models.list(), what="list models", sleep=sleeps)
        finally:
            await client.close()

    page = asyncio.run(go())
    assert page.data is not None
    assert len(sleeps.waits) == 3


def test_a_timeout_is_retried(fake_openai) -> None:
    fake_openai.faults.add(r"/v1/models", "slow", times=1, seconds=1.5)
    sleeps = Sleeps()

    async def go():
        client = _client(fake_openai, timeout=0.5)
        try:
            return await call(lambda: client.models.list(), what="list models", sleep=sleeps)
        finally:
            await client.close()

    asyncio.run(go())
    assert len(sleeps.waits) == 1


def test_a_service_that_stays_down_is_unreachable_with_what_to_do(fake_openai) -> None:
    fake_openai.faults.add(r"/v1/models", "502", times=10)

    async def go():
        client = _client(fake_openai)
        try:
            return await call(
                lambda: client.models.list(),
                what="list models",
                policy=RetryPolicy(attempts=3),
                sleep=Sleeps(),
            )
        finally:
            await client.close()

    with pytest.raises(Unreachable, match=r"after 3 tries.*try again later"):
        asyncio.run(go())


@pytest.mark.parametrize("status", ["401", "403"])
def test_a_refused_key_is_not_retried_and_never_quoted(fake_openai, status: str) -> None:
    if status == "401":
        key = "sk-wrong-key-abcdefghijklmnop"
    else:
        key = fake_openai.api_key
        fake_openai.faults.add(r"/v1/models", "403", times=1)
    sleeps = Sleeps()

    async def go():
        client = _client(fake_openai, key=key)
        try:
            return await call(lambda: client.models.list(), what="list models", sleep=sleeps)
        finally:
            await client.close()

    with pytest.raises(KeyRefused) as caught:
        asyncio.run(go())
    assert sleeps.waits == []
    assert key not in str(caught.value)
    assert "OPENAI_API_KEY" in str(caught.value)


def test_a_missing_job_is_refused_with_openais_message(fake_openai) -> None:
    async def go():
        client = _client(fake_openai)
        try:
            return await call(
                lambda: client.fine_tuning.jobs.retrieve("ftjob-nope"), what="read the job"
            )
        finally:
            await client.close()

    with pytest.raises(Refused) as caught:
        asyncio.run(go())
    assert caught.value.status == 404
