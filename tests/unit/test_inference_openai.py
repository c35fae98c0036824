"""The OpenAI-compatible chat model against a real local server, spoken to by the real SDK."""

from __future__ import annotations

import asyncio
import time

import pytest

from ftui.services.backends.openai_client import RetryPolicy
from ftui.services.inference.base import Completion, InferenceError, Sampling
from ftui.services.inference.openai_compat import OpenAICompatibleModel
from ftui.services.inference.spec import parse_spec
from tests.support.fake_chat import FakeChat

FAST = RetryPolicy(attempts=4, base_s=0.01, max_s=0.02, max_retry_after_s=5.0)
QUESTION = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}]
KEY = "sk-test-Zq8Lm3Vx7Np2Rt5Wk9Hb4Jc6"


def model_on(server: FakeChat, name: str, **kwargs) -> OpenAICompatibleModel:
    kwargs.setdefault("policy", FAST)
    kwargs.setdefault("api_key", "none")
    return OpenAICompatibleModel(parse_spec(server.spec(name)), base_url=server.base_url, **kwargs)


def chat_times(server: FakeChat) -> list[float]:
    return [c.time for c in server.calls if c.path == "/v1/chat/completions"]


async def test_sampling_is_sent_explicitly_with_one_answer_asked_for(fake_chat: FakeChat) -> None:
    model = model_on(fake_chat, "echo")
    try:
        answer = await model.complete(
            QUESTION, Sampling(temperature=0.3, max_tokens=64, top_p=0.9, seed=7)
        )
        await model.complete(QUESTION, Sampling())
    finally:
        await model.aclose()
    assert answer == Completion(
        text="Say hi", model="echo", prompt_tokens=4, completion_tokens=2, finish_reason="stop"
    )
    first, second = fake_chat.requests_for("echo")
    assert first["messages"] == QUESTION
    assert (first["n"], first["temperature"], first["top_p"], first["max_tokens"]) == (
        1,
        0.3,
        0.9,
        64,
    )
    assert first["seed"] == 7
    # The defaults go out too (a server's own would differ), and no seed when none is given.
    assert (second["n"], second["temperature"], second["top_p"], second["max_tokens"]) == (
        1,
        0.0,
        1.0,
        512,
    )
    assert "seed" not in second
    assert not second.get("stream")


async def test_a_cut_answer_says_length_and_missing_usage_is_fine(fake_chat: FakeChat) -> None:
    fake_chat.script("talker", lambda messages: "one two three four five six")
    talker, quiet = model_on(fake_chat, "talker"), model_on(fake_chat, "no-usage")
    try:
        cut = await talker.complete(QUESTION, Sampling(max_tokens=3))
        bare = await quiet.complete(QUESTION, Sampling())
    finally:
        await talker.aclose()
        await quiet.aclose()
    assert (cut.text, cut.finish_reason, cut.completion_tokens) == ("one two three", "length", 3)
    assert bare == Completion("Say hi", "no-usage", None, None, "stop")


async def test_a_429_waits_what_retry_after_asks_then_succeeds(fake_chat: FakeChat) -> None:
    fake_chat.faults.add("model=echo", 429, times=1, retry_after=1)
    waits: list[float] = []
    model = model_on(fake_chat, "echo", on_retry=lambda retry, failure, delay: waits.append(delay))
    try:
        answer = await model.complete(QUESTION, Sampling())
    finally:
        await model.aclose()
    assert answer.text == "Say hi"
    first, second = chat_times(fake_chat)
    assert waits == [1.0]
    assert 0.95 <= second - first < 1.6  # the backoff alone would have waited 0.02 s


async def test_a_long_retry_after_is_capped(fake_chat: FakeChat) -> None:
    fake_chat.faults.add("model=echo", 429, times=1, retry_after=3600)
    capped = RetryPolicy(attempts=3, base_s=0.01, max_s=0.02, max_retry_after_s=0.3)
    model = model_on(fake_chat, "echo", policy=capped)
    try:
        await model.complete(QUESTION, Sampling())
    finally:
        await model.aclose()
    first, second = chat_times(fake_chat)
    assert 0.28 <= second - first < 1.0


async def test_500s_are_retried_then_given_up_with_a_clear_error(fake_chat: FakeChat) -> None:
    fake_chat.faults.add("model=echo", 500, times=2)
    model = model_on(fake_chat, "echo")
    try:
        assert (await model.complete(QUESTION, Sampling())).text == "Say hi"
        assert fake_chat.chat_calls("echo") == 3
        fake_chat.faults.add("model=echo", 503, times=100)
        with pytest.raises(InferenceError) as caught:
            await model.complete(QUESTION, Sampling())
    finally:
        await model.aclose()
    assert fake_chat.chat_calls("echo") == 3 + FAST.attempts
    error = caught.value
    assert (error.status, error.retryable, error.model) == (503, True, fake_chat.spec("echo"))
    message = str(error)
    assert fake_chat.spec("echo") in message
    assert "HTTP 503" in message
    assert f"still after {FAST.attempts} tries" in message
    assert "try again later" in message


async def test_a_dropped_connection_is_retried(fake_chat: FakeChat) -> None:
    fake_chat.faults.add("model=echo", "drop", times=2)
    model = model_on(fake_chat, "echo")
    try:
        answer = await model.complete(QUESTION, Sampling())
    finally:
        await model.aclose()
    assert answer.text == "Say hi"
    assert fake_chat.chat_calls("echo") == 3


async def test_a_refused_key_fails_at_once_and_never_shows_the_key() -> None:
    with FakeChat(api_key="sk-the-right-one-000000") as server:
        model = model_on(server, "echo", api_key=KEY)
        try:
            with pytest.raises(InferenceError) as caught:
                await model.complete(QUESTION, Sampling())
        finally:
            await model.aclose()
        assert server.chat_calls("echo") == 1  # a wrong key is not worth retrying
    message = str(caught.value)
    assert caught.value.status == 401
    assert "refused the API key" in message
    assert "FTUI_JUDGE_API_KEY" in message
    assert KEY not in message and KEY not in repr(model)


async def test_an_unknown_model_names_those_the_server_has() -> None:
    with FakeChat(known_only=True, scripts={"tiny-chat": lambda m: "hi"}) as server:
        model = model_on(server, "tiny-chta")
        try:
            with pytest.raises(InferenceError) as caught:
                await model.complete(QUESTION, Sampling())
        finally:
            await model.aclose()
    message = str(caught.value)
    assert "HTTP 404" in message
    assert "this server offers tiny-chat" in message
    assert caught.value.retryable is False


async def test_list_models_names_what_the_server_serves(fake_chat: FakeChat) -> None:
    fake_chat.script("my-tuned-model", lambda messages: "tuned")
    model = model_on(fake_chat, "echo")
    try:
        names = await model.list_models()
    finally:
        await model.aclose()
    assert "my-tuned-model" in names and "judge-a" in names and "echo" in names


async def test_concurrent_calls_overlap() -> None:
    """32 calls of 200 ms at once take about one call's time, not 32 × 200 ms = 6.4 s."""
    with FakeChat(latency_s=0.2) as server:
        model = model_on(server, "echo")
        try:
            await model.complete(QUESTION, Sampling())  # the SDK's import and first connection
            server.reset_counters()
            started = time.perf_counter()
            answers = await asyncio.gather(
                *(
                    model.complete([{"role": "user", "content": f"q{i}"}], Sampling())
                    for i in range(32)
                )
            )
            elapsed = time.perf_counter() - started
        finally:
            await model.aclose()
        assert [a.text for a in answers] == [f"q{i}" for i in range(32)]
        assert server.chat_calls("echo") == 32
        assert server.max_concurrent >= 16
    assert elapsed < 1.6, f"32 concurrent calls of 200 ms took {elapsed:.2f} s"


async def test_a_timed_out_call_is_retried(fake_chat: FakeChat) -> None:
    model = model_on(fake_chat, "echo", timeout_s=0.3)
    try:
        await model.complete(QUESTION, Sampling())  # the SDK's import and first connection
        fake_chat.faults.add("model=echo", "slow", times=1, seconds=1.0)
        started = time.perf_counter()
        answer = await model.complete(QUESTION, Sampling())
        elapsed = time.perf_counter() - started
    finally:
        await model.aclose()
    assert answer.text == "Say hi"
    assert fake_chat.chat_calls("echo") == 3
    assert elapsed < 0.95  # it gave up on the slow answer rather than waiting it out
