"""The fake chat server itself, spoken to by the plain `openai` client: what other tests rely on."""

from __future__ import annotations

import asyncio

import openai
import pytest
from openai import AsyncOpenAI

from tests.support.fake_chat import FakeChat, answers_in

PAIR = (
    "[Question]\nWhy?\n\n[The Start of Assistant A's Answer]\nBecause.\n"
    "[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\n"
    "Because the sky scatters blue light most.\n[The End of Assistant B's Answer]"
)


async def ask(client: AsyncOpenAI, model: str, content: str, **kwargs) -> str:
    response = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": content}], **kwargs
    )
    return response.choices[0].message.content or ""


@pytest.fixture
async def client(fake_chat: FakeChat):
    client = AsyncOpenAI(base_url=fake_chat.base_url, api_key="none", max_retries=0)
    yield client
    await client.close()


async def test_scripted_judges_and_unscripted_models(client: AsyncOpenAI) -> None:
    assert (await ask(client, "judge-a", PAIR)).endswith("[[A]]")
    assert (await ask(client, "judge-tie", PAIR)).endswith("[[C]]")
    assert "[[" not in await ask(client, "judge-none", PAIR)
    assert (await ask(client, "judge-longer", PAIR)).endswith("[[B]]")
    assert "[[" not in await ask(client, "judge-longer", "no answers here")
    assert await ask(client, "echo", "hello") == "hello"
    assert await ask(client, "base-model", "hello") == "base-model: hello"
    assert await ask(client, "tuned-model", "hello") == "tuned-model: hello"


def test_the_pairwise_answers_are_found() -> None:
    found = answers_in([{"role": "user", "content": PAIR}])
    assert found == {"A": "Because.", "B": "Because the sky scatters blue light most."}


async def test_n_other_than_one_is_refused_as_llama_cpp_does(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.InternalServerError, match="only n = 1 is supported"):
        await ask(client, "echo", "hi", n=2)


async def test_faults_hit_the_model_they_name_only(
    client: AsyncOpenAI, fake_chat: FakeChat
) -> None:
    fake_chat.faults.add("model=judge-a", 429, times=1, retry_after=2)
    assert await ask(client, "echo", "fine") == "fine"
    with pytest.raises(openai.RateLimitError) as caught:
        await ask(client, "judge-a", PAIR)
    assert caught.value.response.headers["retry-after"] == "2"
    assert (await ask(client, "judge-a", PAIR)).endswith("[[A]]")
    assert fake_chat.chat_calls("judge-a") == 2 and fake_chat.chat_calls("echo") == 1


async def test_latency_overlaps_and_is_counted() -> None:
    with FakeChat(latency_s=0.2) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key="none", max_retries=0)
        try:
            await asyncio.gather(*(ask(client, "echo", str(i)) for i in range(8)))
        finally:
            await client.close()
        assert server.max_concurrent >= 4  # all 8 usually; a loaded machine may stagger a few
        assert server.chat_calls() == 8
        assert sorted(r["messages"][0]["content"] for r in server.requests) == [
            str(i) for i in range(8)
        ]
