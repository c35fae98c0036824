"""GenerationJob against the fake chat server, spoken to by the real `openai` client: each kind
end to end, origins in the store, the budget stops (dollars and tokens), a resume that asks
nothing twice, duplicates dropped and flagged against the pool, an unreadable reply asked once
more, 429s and 500s retried."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ftui.config import Config, OpenAISettings
from ftui.core.dataset.origin import example_key
from ftui.core.generation.plan import plan_distill, plan_paraphrase, plan_synth
from ftui.core.generation.prompts import LIST_NUDGE
from ftui.core.generation.sources import read_examples, read_scenarios
from ftui.services.generation_job import GenerationJob, GenerationProgress
from ftui.services.inference.base import ChatModel, Sampling
from ftui.services.inference.resolve import open_model
from ftui.services.store import RunStore
from tests.support.fake_chat import FakeChat, last_user, made_up_words


@pytest.fixture
def server() -> Iterator[FakeChat]:
    with FakeChat() as chat:
        yield chat


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    runs = RunStore(tmp_path / "ftui.db", tmp_path / "runs")
    yield runs
    runs.close()


def write_dataset(path: Path, questions: list[str], system: str | None = None) -> Path:
    lines = []
    for q in questions:
        messages = [{"role": "system", "content": system}] if system else []
        messages += [{"role": "user", "content": q}, {"role": "assistant", "content": "old"}]
        lines.append(orjson.dumps({"messages": messages}))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def read_out(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def model(server: FakeChat, name: str = "writer") -> ChatModel:
    return open_model(server.spec(name), config=Config(), environ={})


def paid(server: FakeChat) -> ChatModel:
    settings = OpenAISettings(api_key="sk-test", base_url=server.base_url)
    return open_model("openai:gpt-4o-mini", config=Config(openai=settings))


# Twelve questions that share no words but the first (none is a near duplicate of another).
QUESTIONS = [f"Why {made_up_words(str(i), 4)}?" for i in range(12)]
WORDY = [
    "Tell me about the history of the printing press in Europe.",
    "Which planets in our solar system have rings around them?",
    "How should I store fresh basil so that it lasts longer?",
    "What is the difference between a virus and a bacterium?",
    "Why do cats purr when they are being stroked by people?",
    "Explain how a bill becomes a law in a parliamentary system.",
]


def distill_job(store: RunStore, server: FakeChat, src: Path, out: Path, **options: Any):
    examples, _ = read_examples(src)
    chat = options.pop("chat", None) or model(server, "teacher")
    return GenerationJob(
        store,
        chat,
        plan_distill(examples),
        out,
        sampling=Sampling(temperature=0.0, max_tokens=64),
        **options,
    )


def test_distill_answers_every_prompt_and_records_its_origin(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    src = write_dataset(tmp_path / "prompts.jsonl", QUESTIONS[:3], system="Be brief.")
    out = tmp_path / "out.jsonl"
    job = distill_job(store, server, src, out)
    result = asyncio.run(job.run())

    rows = read_out(out)
    assert [r["messages"][-1]["content"] for r in rows] == [f"teacher: {q}" for q in QUESTIONS[:3]]
    # The system prompt is kept, the old answer replaced; the teacher saw no assistant turn.
    assert rows[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert len(rows[0]["messages"]) == 3
    assert all(r["messages"][-1]["role"] != "assistant" for r in server.requests_for("teacher"))
    assert (result.written, result.done, result.total, result.calls) == (3, 3, 3, 3)
    origins = store.origins_by_key([example_key(r) for r in rows])
    assert len(origins) == 3
    origin = origins[example_key(rows[1])]
    assert (origin.kind, origin.source, origin.batch) == (
        "distill",
        server.spec("teacher"),
        job.batch,
    )
    assert origin.detail["source_row"] == 2 and origin.detail["prompt"] == "source"
    assert origin.detail["temperature"] == 0.0 and len(origin.detail["prompt_sha256"]) == 64
    assert store.count_origins(out) == 3


def test_synth_asks_n_questions_then_answers_each_at_its_own_temperature(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    scenarios_file = tmp_path / "scenarios.txt"
    scenarios_file.write_text("# support desk\nA customer cannot log in\n\nA refund is late\n")
    scenarios, _ = read_scenarios(scenarios_file)
    out = tmp_path / "synth.jsonl"
    job = GenerationJob(
        store,
        model(server),
        plan_synth(scenarios),
        out,
        n=3,
        sampling=Sampling(temperature=0.2, max_tokens=64),
        question_sampling=Sampling(temperature=1.0, max_tokens=256),
    )
    result = asyncio.run(job.run())

    rows = read_out(out)
    assert result.written == 6 == len(rows) and result.short == 0
    assert all(r["messages"][0]["content"].startswith("Which q") for r in rows)
    assert all(r["messages"][1]["content"].startswith("Answer to Which q") for r in rows)
    sent = server.requests_for("writer")
    asking = [r for r in sent if "Scenario:" in r["messages"][0]["content"]]
    assert len(asking) == 2 and {r["temperature"] for r in asking} == {1.0}
    assert {r["temperature"] for r in sent if r not in asking} == {0.2}
    origin = store.origins_by_key([example_key(rows[0])])[example_key(rows[0])]
    assert origin.kind == "synth" and origin.detail["scenario"] == "A customer cannot log in"
    assert origin.detail["scenario_line"] == 2 and origin.detail["question_temperature"] == 1.0


def test_fewer_questions_than_asked_are_reported_not_an_error(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    server.script(
        "stingy",
        lambda m: "1. Only one question about it?" if "Scenario" in last_user(m) else "Yes.",
    )
    scenarios_file = tmp_path / "s.txt"
    scenarios_file.write_text("Anything\n")
    scenarios, _ = read_scenarios(scenarios_file)
    job = GenerationJob(
        store, model(server, "stingy"), plan_synth(scenarios), tmp_path / "o.jsonl", n=4
    )
    result = asyncio.run(job.run())
    assert (result.written, result.short, result.unparsed) == (1, 3, 0)


def test_paraphrase_rewrites_the_last_user_turn_and_keeps_the_answer(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    src = write_dataset(tmp_path / "d.jsonl", WORDY[:2], system="sys")
    examples, _ = read_examples(src)
    out = tmp_path / "p.jsonl"
    result = asyncio.run(
        GenerationJob(store, model(server), plan_paraphrase(examples), out, k=3).run()
    )
    rows = read_out(out)
    assert result.written == 6 == len(rows)
    assert all(r["messages"][0] == {"role": "system", "content": "sys"} for r in rows)
    assert all(r["messages"][2] == {"role": "assistant", "content": "old"} for r in rows)
    assert len({r["messages"][1]["content"] for r in rows}) == 6
    origin = store.origins_by_key([example_key(rows[4])])[example_key(rows[4])]
    assert origin.kind == "paraphrase" and origin.detail["source_row"] == 2
    assert origin.detail["turn"] == "last user turn" and origin.detail["prompt"] == "paraphrase"


def test_an_unreadable_list_is_asked_for_once_more(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    def vague(messages: Any) -> str:
        if messages[-1]["content"] == LIST_NUDGE:
            return "1. A first rewrite of it\n2. Another wording, quite unlike the other one"
        return ""

    server.script("vague", vague)
    server.script("hopeless", lambda m: "")
    src = write_dataset(tmp_path / "d.jsonl", WORDY[:2])
    examples, _ = read_examples(src)
    result = asyncio.run(
        GenerationJob(
            store, model(server, "vague"), plan_paraphrase(examples), tmp_path / "a.jsonl", k=2
        ).run()
    )
    assert server.chat_calls("vague") == 4 and result.written == 2  # the second pair: duplicates
    assert result.dropped == 2 and result.unparsed == 0
    hopeless = GenerationJob(
        store, model(server, "hopeless"), plan_paraphrase(examples), tmp_path / "b.jsonl", k=2
    )
    result = asyncio.run(hopeless.run())
    assert server.chat_calls("hopeless") == 4 and result.unparsed == 2 and result.written == 0
    assert not (tmp_path / "b.jsonl").exists()


def test_429s_and_500s_are_retried(tmp_path: Path, server: FakeChat, store: RunStore) -> None:
    server.faults.add("model=teacher", 429, times=2, retry_after=0)
    server.faults.add("model=teacher", 500, times=1)
    src = write_dataset(tmp_path / "p.jsonl", QUESTIONS[:3])
    result = asyncio.run(distill_job(store, server, src, tmp_path / "o.jsonl").run())
    assert result.written == 3 and server.faults.pending() == 0
    assert server.chat_calls("teacher") == 3 + 3


def test_a_cancelled_job_resumes_without_asking_anything_twice(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    server.latency_s = 0.05
    src = write_dataset(tmp_path / "p.jsonl", QUESTIONS)
    out = tmp_path / "o.jsonl"

    async def cancel_midway() -> None:
        halfway = asyncio.Event()

        def watch(progress: GenerationProgress) -> None:
            if progress.done >= 5:
                halfway.set()

        task = asyncio.create_task(
            distill_job(store, server, src, out, concurrency=2, on_progress=watch).run()
        )
        await halfway.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_midway())
    first = read_out(out)  # written on the way out: whole, never half
    assert 5 <= len(first) < 12
    sent_before = server.chat_calls()
    answered = store.count_cached_completions()

    resumed = distill_job(store, server, src, out, concurrency=2)
    result = asyncio.run(resumed.run())
    rows = read_out(out)
    assert len(rows) == 12 and rows[: len(first)] == first
    assert result.resumed == len(first) and result.existing == len(first)
    # The finished tasks were skipped, what was answered came from the cache: only what was
    # never answered (those cut off in flight included) was sent again.
    assert result.calls == 12 - answered and result.cached == answered - len(first)
    assert server.chat_calls() == sent_before + result.calls
    assert result.dropped == 0
    # A third run has nothing to do.
    again = asyncio.run(distill_job(store, server, src, out).run())
    assert (again.calls, again.cached, again.written, again.resumed) == (0, 0, 0, 12)
    assert len(read_out(out)) == 12


def test_the_dollar_budget_stops_the_job_cleanly_and_a_higher_one_goes_on(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    src = write_dataset(tmp_path / "p.jsonl", QUESTIONS)
    out = tmp_path / "o.jsonl"
    seen: list[GenerationProgress] = []
    capped = distill_job(
        store,
        server,
        src,
        out,
        chat=paid(server),
        budget_usd=0.00006,
        concurrency=2,
        on_progress=seen.append,
    )
    result = asyncio.run(capped.run())
    assert result.stopped is not None and "stopped at the budget" in result.stopped
    assert "--budget-usd" in result.stopped
    assert 0 < result.written < 12 and 0 < result.cost_usd <= 0.00006
    assert len(read_out(out)) == result.written
    assert seen[-1].stopped == result.stopped

    more = asyncio.run(
        distill_job(store, server, src, out, chat=paid(server), budget_usd=1.0).run()
    )
    assert more.stopped is None and len(read_out(out)) == 12
    assert server.chat_calls("gpt-4o-mini") == 12


def test_the_token_budget_stops_any_model(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    src = write_dataset(tmp_path / "p.jsonl", QUESTIONS)
    out = tmp_path / "o.jsonl"
    result = asyncio.run(
        distill_job(store, server, src, out, budget_tokens=150, concurrency=1).run()
    )
    assert result.stopped is not None and "token budget" in result.stopped
    assert 0 < result.written < 12 and result.tokens <= 150
    assert server.chat_calls("teacher") == result.written


def test_duplicates_of_the_pool_are_dropped_or_flagged(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    # The paraphraser gives back the question itself, a near copy, and a real rewrite.
    def lazy(messages: Any) -> str:
        original = last_user(messages).split("Message:\n")[1].split("\n\n")[0]
        return (
            f"1. {original}\n2. {original.rstrip('?.')} please?\n3. Something else entirely, truly"
        )

    server.script("lazy", lazy)
    src = write_dataset(tmp_path / "d.jsonl", WORDY[:3])
    examples, _ = read_examples(src)
    pool = [(e.messages[e.last_user]["content"], f"source line {e.line}") for e in examples]

    out = tmp_path / "drop.jsonl"
    dropped = asyncio.run(
        GenerationJob(
            store, model(server, "lazy"), plan_paraphrase(examples), out, k=3, pool=pool
        ).run()
    )
    # Per example: the echo is cut by the parser, the near copy dropped (ROUGE-L > 0.7), the
    # rewrite kept once (its copies from the other examples are exact duplicates of it).
    assert dropped.written == 1 and dropped.dropped == 5
    kinds = sorted(d["kind"] for d in dropped.duplicates)
    assert kinds == ["exact", "exact", "near", "near", "near"]
    near = next(d for d in dropped.duplicates if d["kind"] == "near")
    assert near["of"].startswith("source line") and near["score"] > 0.7

    flagged_out = tmp_path / "flag.jsonl"
    flagged = asyncio.run(
        GenerationJob(
            store,
            model(server, "lazy"),
            plan_paraphrase(examples),
            flagged_out,
            k=3,
            pool=pool,
            dedupe="flag",
            dedupe_method="minhash",
        ).run()
    )
    rows = read_out(flagged_out)
    assert flagged.written == 6 == len(rows) and flagged.dropped == 0 and flagged.flagged >= 2
    origins = store.origins_by_key([example_key(r) for r in rows])
    marked = [o for o in origins.values() if "near_duplicate_of" in o.detail]
    assert marked and all(o.detail["duplicate"]["kind"] in ("exact", "near") for o in marked)


def test_the_existing_output_is_part_of_the_pool(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    out = write_dataset(tmp_path / "out.jsonl", [QUESTIONS[0], "Something unrelated"])
    src = write_dataset(tmp_path / "p.jsonl", QUESTIONS[:3])
    result = asyncio.run(distill_job(store, server, src, out).run())
    # QUESTIONS[0] is there already (made by hand: no origin, so not a finished task).
    assert result.existing == 2 and result.dropped == 1
    assert result.duplicates[0]["of"] == "out.jsonl line 1"
    rows = read_out(out)
    assert len(rows) == 4 and rows[0]["messages"][1]["content"] == "old"


def test_an_output_in_another_format_is_refused_before_any_call(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    from ftui.services.generation_job import GenerationJobError

    out = tmp_path / "alpaca.jsonl"
    out.write_bytes(b'{"instruction": "x", "output": "y"}\n')
    src = write_dataset(tmp_path / "p.jsonl", QUESTIONS[:2])
    with pytest.raises(GenerationJobError, match="not OpenAI chat JSONL"):
        asyncio.run(distill_job(store, server, src, out).run())
    assert server.chat_calls() == 0
    assert out.read_bytes() == b'{"instruction": "x", "output": "y"}\n'


def test_distill_keeps_templated_prompts_and_drops_only_a_whole_prompt_asked_twice(
    tmp_path: Path, server: FakeChat, store: RunStore
) -> None:
    """Prompts built from one template are near one another by design; they are the user's own
    data and all kept. A multi-turn prompt that ends on the same short turn as another is not
    the same prompt either. Only the same whole prompt twice is a duplicate."""
    template = "Read the note below and answer in one paragraph.\n\nNote: {}\n\nWhat should I do?"
    notes = ["the lab closes at noon", "my train is late", "the lab closes at noon"]
    rows = [{"messages": [{"role": "user", "content": template.format(n)}]} for n in notes] + [
        {
            "messages": [
                {"role": "user", "content": q},
                {"role": "assistant", "content": "a"},
                {"role": "user", "content": "thanks"},
            ]
        }
        for q in ("Where is the museum?", "When does the shop open?")
    ]
    src = tmp_path / "templated.jsonl"
    src.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    out = tmp_path / "out.jsonl"
    result = asyncio.run(distill_job(store, server, src, out).run())
    assert result.dropped == 1  # the third prompt is the first one again
    kept = [r["messages"][0]["content"] for r in read_out(out)]
    assert kept == [template.format(n) for n in notes[:2]] + [
        "Where is the museum?",
        "When does the shop open?",
    ]
