"""The judge on two real tiny local models: the base through `local:` and a run of the history
(its adapter on that base) through `run:`, judged by a model of the test chat server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ftui.config import Config
from ftui.core.judge.evalset import read_eval_set
from ftui.core.judge.prompts import DEFAULT_RUBRIC
from ftui.core.runs.events import EventWriter
from ftui.services.inference.base import Sampling
from ftui.services.inference.resolve import open_model
from ftui.services.judge_job import JudgeJob
from ftui.services.store import RunStore
from tests.support.fake_chat import FakeChat

pytestmark = pytest.mark.slow


def finished_local_run(store: RunStore, base: Path, adapter: Path) -> str:
    """A local run of the history that trained `adapter` on `base` and succeeded."""
    run = store.create_run(backend="local", base_model=str(base), config={"max_steps": 1})
    with EventWriter(run.events_path) as writer:
        writer.status("running")
        writer.emit("artifact", kind="adapter", path=str(adapter))
        writer.status("succeeded")
    store.ingest_events(run.id)
    return run.id


def write_eval(path: Path, count: int) -> Path:
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"What is {n} plus {n}?"},
                {"role": "assistant", "content": f"{n} plus {n} is {2 * n}."},
            ]
        }
        for n in range(1, count + 1)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_a_base_and_its_run_are_judged_side_by_side(
    tiny_model: Path, adapter: Path, store: RunStore, app_config: Config, tmp_path: Path
) -> None:
    run_id = finished_local_run(store, tiny_model, adapter)
    examples = read_eval_set(write_eval(tmp_path / "eval.jsonl", 4))

    async def judge(server: FakeChat) -> tuple[list[str], list[str], str, int]:
        a = open_model(f"local:{tiny_model}", config=app_config, store=store)
        b = open_model(f"run:{run_id[:6]}", config=app_config, store=store)  # a prefix works
        referee = open_model(server.spec("judge-longer"), config=app_config)
        try:
            job = JudgeJob(
                store,
                a,
                b,
                referee,
                examples,
                sampling=Sampling(temperature=0.0, max_tokens=8),
                judge_sampling=Sampling(temperature=0.0, max_tokens=64),
                rubric=DEFAULT_RUBRIC,
                concurrency=4,
            )
            report = await job.run()
        finally:
            for model in (a, b, referee):
                await model.aclose()
        answers_a = [example.answer_a for example in report.examples]
        answers_b = [example.answer_b for example in report.examples]
        tally = report.llm_tally()
        rows = store.session_judgements(job.session)
        # The results stay with the run they concern: B is named by its run, not its files.
        assert report.b == f"run:{run_id}" and {row.model_b for row in rows} == {f"run:{run_id}"}
        return answers_a, answers_b, b.spec.text, tally.n + tally.unknown

    with FakeChat() as server:
        answers_a, answers_b, b_spec, verdicts = asyncio.run(judge(server))
        judged = server.chat_calls("judge-longer")
    # Each side answered every prompt, the adapter changed what the base says, and the run was
    # opened as its adapter on its base.
    assert len(answers_a) == len(answers_b) == 4 and all(answers_a) and all(answers_b)
    assert answers_a != answers_b
    assert b_spec == f"local:{tiny_model}+{adapter}"
    assert judged == 8  # both orders of every pair
    assert verdicts == 4  # an outcome for every example
    # A second judging of the same pairs answers from the cache: no model is asked again.
    assert store.count_cached_completions() >= 16
