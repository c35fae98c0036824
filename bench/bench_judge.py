"""ftui's judge against the guides' sequential loop, on a server that answers each call late.

    python bench/bench_judge.py [--examples 200] [--latency 0.2] [--concurrency 32]

Both sides make the same calls against the same fake OpenAI-compatible server (tests/support/
fake_chat.py), which waits `--latency` seconds before each answer: per example, model A's and
model B's answer, then the judge in both orders — 4 calls. ftui runs `JudgeJob` (bounded
concurrency, the store's cache, a fresh store so nothing is cached); the loop is what the
fine-tuning guides write: the plain `openai` client, one call at a time. Prints both times, the
ratio (the goal is 15x or more at concurrency 32), the calls, and the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ftui.config import Config
from ftui.core.judge.evalset import EvalExample, prompt_key
from ftui.core.judge.prompts import DEFAULT_RUBRIC, pair_messages, render_conversation
from ftui.core.judge.verdicts import parse_verdict
from ftui.services.inference.base import Sampling
from ftui.services.inference.resolve import open_model
from ftui.services.judge_job import JudgeJob
from ftui.services.store import RunStore
from tests.support.fake_chat import FakeChat

SAMPLING = Sampling(temperature=0.0, max_tokens=256)
JUDGE_SAMPLING = Sampling(temperature=0.0, max_tokens=512)


def examples(n: int) -> list[EvalExample]:
    out = []
    for i in range(n):
        messages = ({"role": "user", "content": f"Explain idea number {i} in one sentence."},)
        out.append(EvalExample(prompt_key(messages), messages, f"Idea {i} is simple."))
    return out


def guides_loop(server: FakeChat, evals: list[EvalExample]) -> tuple[float, int]:
    """One call at a time with the plain client, as the guides do."""
    from openai import OpenAI

    client = OpenAI(base_url=server.base_url, api_key="none", max_retries=2)

    def ask(model: str, messages: list[dict[str, str]], sampling: Sampling) -> str:
        response = client.chat.completions.create(
            model=model,
            messages=messages,  # type: ignore[arg-type]
            temperature=sampling.temperature,
            max_tokens=sampling.max_tokens,
        )
        return response.choices[0].message.content or ""

    calls = 0
    start = time.perf_counter()
    for example in evals:
        prompt = list(example.messages)
        answer_a = ask("model-a", prompt, SAMPLING)
        answer_b = ask("model-b", prompt, SAMPLING)
        question = render_conversation(prompt)
        for first, second in ((answer_a, answer_b), (answer_b, answer_a)):
            verdict = ask(
                "judge-longer",
                pair_messages(question, first, second, reference=example.reference),
                JUDGE_SAMPLING,
            )
            parse_verdict(verdict)
        calls += 4
    elapsed = time.perf_counter() - start
    client.close()
    return elapsed, calls


def ftui_job(server: FakeChat, evals: list[EvalExample], concurrency: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as home:
        store = RunStore(Path(home) / "ftui.db", Path(home) / "runs")
        config = Config()

        async def run() -> tuple[float, int]:
            a, b, judge = (
                open_model(server.spec(name), config=config, environ={})
                for name in ("model-a", "model-b", "judge-longer")
            )
            job = JudgeJob(
                store,
                a,
                b,
                judge,
                evals,
                sampling=SAMPLING,
                judge_sampling=JUDGE_SAMPLING,
                rubric=DEFAULT_RUBRIC,
                concurrency=concurrency,
            )
            start = time.perf_counter()
            report = await job.run()
            elapsed = time.perf_counter() - start
            assert len(report.examples) == len(evals), "the job did not finish every example"
            for model in (a, b, judge):
                await model.aclose()
            return elapsed, job.calls

        try:
            return asyncio.run(run())
        finally:
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per answer")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    evals = examples(args.examples)
    import openai  # noqa: F401  (both sides pay the SDK's import before their clock starts)

    load_before = os.getloadavg()
    with FakeChat(latency_s=args.latency) as server:
        ftui_s, ftui_calls = ftui_job(server, evals, args.concurrency)
        most_at_once = server.max_concurrent
        server.reset_counters()
        loop_s, loop_calls = guides_loop(server, evals)
    load_after = os.getloadavg()
    print(f"examples: {args.examples}, latency {args.latency * 1000:.0f} ms per call")
    print(
        f"ftui JudgeJob, concurrency {args.concurrency}: {ftui_s:.2f} s for {ftui_calls} calls "
        f"({ftui_calls / ftui_s:.1f} calls/s; at most {most_at_once} at once on the server)"
    )
    print(
        f"sequential loop (plain openai client): {loop_s:.2f} s for {loop_calls} calls "
        f"({loop_calls / loop_s:.1f} calls/s)"
    )
    ideal = args.latency * ftui_calls / args.concurrency
    print(
        f"ratio: {loop_s / ftui_s:.1f}x faster (goal >= 15x); "
        f"the ideal at this concurrency: {ideal:.2f} s"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after (1 min)"
    )


if __name__ == "__main__":
    main()
