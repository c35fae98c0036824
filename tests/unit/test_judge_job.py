"""JudgeJob against the fake chat server, spoken to by the real `openai` client: both sides
answer, the judge sees both orders, no verdict is unknown, 429s are retried, the cache makes a
second run free, a cancelled job resumes without repeating a finished call, the budget stops it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ftui.config import Config, OpenAISettings
from ftui.core.judge.evalset import EvalExample, read_eval_set
from ftui.core.judge.prompts import DEFAULT_RUBRIC
from ftui.services.inference.base import ChatModel, Sampling
from ftui.services.inference.resolve import open_model
from ftui.services.judge_job import VERDICT_NUDGE, JudgeJob, JudgeProgress
from ftui.services.store import RunStore
from tests.support.fake_chat import FakeChat, answers_in, last_user


@pytest.fixture
def server() -> Iterator[FakeChat]:
    with FakeChat() as chat:
        # B knows the reference answers; A answers something else.
        chat.script("model-b", lambda messages: REFERENCES[last_user(messages)])
        yield chat


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    runs = RunStore(tmp_path / "ftui.db", tmp_path / "runs")
    yield runs
    runs.close()


QUESTIONS = [f"What is {i} plus {i}?" for i in range(40)]
REFERENCES = {q: f"{i} plus {i} is {2 * i}." for i, q in enumerate(QUESTIONS)}


def eval_set(tmp_path: Path, n: int) -> list[EvalExample]:
    path = tmp_path / "eval.jsonl"
    lines = [
        orjson.dumps(
            {
                "messages": [
                    {"role": "user", "content": q},
                    {"role": "assistant", "content": REFERENCES[q]},
                ]
            }
        )
        for q in QUESTIONS[:n]
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return read_eval_set(path)


def model(server: FakeChat, name: str) -> ChatModel:
    return open_model(server.spec(name), config=Config(), environ={})


def job(
    store: RunStore,
    server: FakeChat,
    examples: list[EvalExample],
    *,
    judge: str | ChatModel | None = "judge-a",
    a: str | ChatModel = "model-a",
    concurrency: int = 8,
    **options: Any,
) -> JudgeJob:
    def chat(m: str | ChatModel) -> ChatModel:
        return model(server, m) if isinstance(m, str) else m

    return JudgeJob(
        store,
        chat(a),
        model(server, "model-b"),
        None if judge is None else chat(judge),
        examples,
        sampling=Sampling(temperature=0.0, max_tokens=64),
        judge_sampling=Sampling(temperature=0.0, max_tokens=256),
        rubric=DEFAULT_RUBRIC,
        concurrency=concurrency,
        **options,
    )


def test_both_sides_answer_and_are_scored_against_the_reference(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    examples = eval_set(tmp_path, 5)
    the_job = job(store, server, examples, judge=None)
    report = asyncio.run(the_job.run())

    assert (server.chat_calls("model-a"), server.chat_calls("model-b")) == (5, 5)
    assert report.n == 5 and len(report.examples) == 5
    first = report.examples[0]
    assert first.answer_a == "model-a: What is 0 plus 0?"
    assert first.answer_b == "0 plus 0 is 0." == first.reference
    means = report.metric_means()
    assert means["exact_match"] == {"a": 0.0, "b": 1.0}
    assert means["rougeL"]["b"] == 1.0 and means["rougeL"]["a"] < 1.0
    assert all(e.outcome is None for e in report.examples)
    # Sampling is sent explicitly, n=1.
    sent = server.requests_for("model-a")[0]
    assert (sent["temperature"], sent["max_tokens"], sent.get("n", 1)) == (0.0, 64, 1)
    # One judge result per example under this job's session, with the metrics as scores.
    rows = store.list_judge_results(session=the_job.session)
    assert sorted(r.example_key or "" for r in rows) == sorted(e.key for e in examples)
    assert rows[0].model_b == server.spec("model-b") and rows[0].winner is None
    assert rows[0].scores["b"]["exact_match"] == 1.0
    assert rows[0].details["answer_b"] == "0 plus 0 is 0."


def test_a_judge_that_always_says_a_gives_all_ties(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    examples = eval_set(tmp_path, 4)
    report = asyncio.run(job(store, server, examples, judge="judge-a").run())

    assert [e.outcome for e in report.examples] == ["tie"] * 4
    assert all(e.verdicts == ("A", "A") for e in report.examples)
    tally = report.llm_tally()
    assert (tally.ties, tally.b_wins, tally.a_wins, tally.b_win_rate) == (4, 0, 0, 0.5)
    # The judge saw each pair twice, the answers swapped between the two.
    asked = [answers_in(r["messages"]) for r in server.requests_for("judge-a")]
    assert len(asked) == 8
    pair = {"A": "model-a: What is 0 plus 0?", "B": "0 plus 0 is 0."}
    assert pair in asked and {"A": pair["B"], "B": pair["A"]} in asked


def test_a_judge_that_prefers_b_makes_b_win(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    # "judge-longer" picks the longer answer whatever its position: B's answers are longer.
    server.script("model-a", lambda messages: "No.")
    report = asyncio.run(job(store, server, eval_set(tmp_path, 3), judge="judge-longer").run())
    assert [e.outcome for e in report.examples] == ["b"] * 3
    assert report.examples[0].verdicts == ("B", "A")
    assert report.to_json_dict()["judge"]["b_wins"] == 3


def test_no_verdict_is_asked_again_once_then_unknown(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    report = asyncio.run(job(store, server, eval_set(tmp_path, 3), judge="judge-none").run())

    assert [e.outcome for e in report.examples] == ["unknown"] * 3
    assert report.examples[0].verdicts == (None, None)
    assert report.llm_tally().unknown == 3 and report.llm_tally().n == 0
    requests = server.requests_for("judge-none")
    assert len(requests) == 3 * 2 * 2  # both orders, each asked twice
    retries = [r for r in requests if r["messages"][-1]["content"] == VERDICT_NUDGE]
    assert len(retries) == 6
    assert retries[0]["messages"][-2]["role"] == "assistant"


def test_429s_are_retried(tmp_path: Path, server: FakeChat, store: RunStore) -> None:
    server.faults.add("model=model-b", 429, times=2, retry_after=0)
    report = asyncio.run(job(store, server, eval_set(tmp_path, 3)).run())
    assert len(report.examples) == 3
    assert server.chat_calls("model-b") == 3 + 2
    assert server.faults.pending() == 0


def test_a_second_run_is_answered_from_the_cache(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    examples = eval_set(tmp_path, 6)
    first = job(store, server, examples, judge="judge-longer")
    report1 = asyncio.run(first.run())
    assert (first.calls, first.cached) == (24, 0)
    assert server.chat_calls() == 24

    second = job(store, server, examples, judge="judge-longer")
    report2 = asyncio.run(second.run())
    assert (second.calls, second.cached) == (0, 24)
    assert server.chat_calls() == 24
    assert [e.outcome for e in report2.examples] == [e.outcome for e in report1.examples]
    assert second.session != first.session

    # Only the judge changed: no generation is paid again, the new judge sees every pair.
    third = job(store, server, examples, judge="judge-tie")
    asyncio.run(third.run())
    assert (server.chat_calls("model-a"), server.chat_calls("model-b")) == (6, 6)
    assert server.chat_calls("judge-tie") == 12 and third.cached == 12

    # Other sampling settings are other calls.
    changed = JudgeJob(
        store,
        model(server, "model-a"),
        model(server, "model-b"),
        None,
        examples,
        sampling=Sampling(temperature=0.7, max_tokens=64),
        judge_sampling=Sampling(),
        rubric=DEFAULT_RUBRIC,
    )
    asyncio.run(changed.run())
    assert changed.calls == 12 and changed.cached == 0


def test_a_cancelled_job_resumes_without_repeating_finished_calls(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    server.latency_s = 0.05
    examples = eval_set(tmp_path, 20)

    async def cancel_midway() -> None:
        halfway = asyncio.Event()

        def watch(progress: JudgeProgress) -> None:
            if progress.calls >= 30:
                halfway.set()

        task = asyncio.create_task(
            job(store, server, examples, concurrency=4, on_progress=watch).run()
        )
        await halfway.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_midway())
    finished = store.count_cached_completions()
    sent_before = server.chat_calls()
    assert 30 <= finished < 80 and sent_before >= finished

    resumed = job(store, server, examples, concurrency=4)
    report = asyncio.run(resumed.run())
    assert len(report.examples) == 20
    # Every finished call came from the cache; only the rest (and those cut off in flight) ran.
    assert resumed.cached == finished
    assert resumed.calls == 80 - finished
    assert store.count_cached_completions() == 80


def test_the_budget_stops_the_job_cleanly(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    def paid() -> ChatModel:  # a client per event loop
        settings = OpenAISettings(api_key="sk-test", base_url=server.base_url)
        return open_model("openai:gpt-4o-mini", config=Config(openai=settings))

    examples = eval_set(tmp_path, 20)
    seen: list[JudgeProgress] = []
    capped = job(
        store,
        server,
        examples,
        a=paid(),
        judge=None,
        budget_usd=0.0001,
        concurrency=2,
        on_progress=seen.append,
    )
    report = asyncio.run(capped.run())

    assert capped.stopped is not None and "budget" in capped.stopped
    assert 0 < len(report.examples) < 20
    assert 0 < capped.cost_usd <= 0.0001
    assert seen[-1].stopped == capped.stopped and seen[-1].cost_usd == capped.cost_usd
    assert report.warnings()[0].startswith(f"Only {len(report.examples)} of 20")
    assert server.chat_calls("gpt-4o-mini") < 20

    # A higher budget goes on from where it stopped, paying only for the rest.
    more = job(store, server, examples, a=paid(), judge=None, budget_usd=1.0)
    assert len(asyncio.run(more.run()).examples) == 20
    assert more.stopped is None and server.chat_calls("gpt-4o-mini") == 20


def test_a_model_missing_from_the_price_table_runs_with_its_cost_unknown(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    # davinci-002's fine-tuned models have no inference price in the table.
    tuned = open_model(
        "openai:ft:davinci-002:acme::abc123",
        config=Config(openai=OpenAISettings(api_key="sk-test", base_url=server.base_url)),
    )
    unpriced = job(store, server, eval_set(tmp_path, 3), a=tuned, judge=None, budget_usd=0.0)
    report = asyncio.run(unpriced.run())
    assert len(report.examples) == 3 and unpriced.stopped is None
    assert unpriced.cost_unknown and unpriced.cost_usd == 0.0


def test_a_fine_tuned_model_is_charged_at_the_fine_tuned_rates(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    def tuned() -> ChatModel:
        settings = OpenAISettings(api_key="sk-test", base_url=server.base_url)
        return open_model(
            "openai:ft:gpt-4o-mini-2024-07-18:acme::abc123", config=Config(openai=settings)
        )

    examples = eval_set(tmp_path, 3)
    # A budget of nothing is not enough for a priced model: it stops before the first call.
    capped = job(store, server, examples, a=tuned(), judge=None, budget_usd=0.0)
    assert asyncio.run(capped.run()).examples == [] and capped.stopped is not None
    priced = job(store, server, examples, a=tuned(), judge=None, budget_usd=1.0)
    assert len(asyncio.run(priced.run()).examples) == 3
    assert not priced.cost_unknown and priced.cost_usd > 0


def test_progress_counts_calls_cache_hits_and_the_eta(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    seen: list[JudgeProgress] = []
    examples = eval_set(tmp_path, 4)
    asyncio.run(job(store, server, examples, on_progress=seen.append).run())
    assert seen[0].done == 0 and seen[0].eta_s is None
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    last = seen[-1]
    assert (last.done, last.total, last.calls, last.cached, last.eta_s) == (4, 4, 16, 0, 0.0)
    assert any(p.eta_s is not None and 0 < p.done < 4 for p in seen)


def test_a_system_prompt_is_the_same_for_both_sides_and_keys_the_cache(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    examples = eval_set(tmp_path, 3)
    system = "You are a terse calculator."
    asyncio.run(job(store, server, examples, judge=None, system_prompt=system).run())
    for name in ("model-a", "model-b"):
        sent = server.requests_for(name)
        assert len(sent) == 3
        assert all(r["messages"][0] == {"role": "system", "content": system} for r in sent)
    # Another system prompt is another question: nothing is answered from the cache for it.
    server.reset_counters()
    asyncio.run(job(store, server, examples, judge=None, system_prompt="Be verbose.").run())
    assert (server.chat_calls("model-a"), server.chat_calls("model-b")) == (3, 3)
    server.reset_counters()
    asyncio.run(job(store, server, examples, judge=None, system_prompt=system).run())
    assert (server.chat_calls("model-a"), server.chat_calls("model-b")) == (0, 0)
