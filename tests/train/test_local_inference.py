"""Local generation: the worker process, LocalChatModel over it, and `ftui serve` spoken to by the
real `openai` client, all with the real tiny model (and a real peft adapter) on the CPU."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftui.services.inference.base import InferenceError, Sampling
from ftui.services.inference.local import LocalChatModel, LocalRequestError
from ftui.services.inference.serve import BadRequest, plan_server, sampling_of, served_name
from ftui.services.inference.spec import ModelSpec, parse_spec

slow = pytest.mark.slow
GREEDY = Sampling(temperature=0.0, max_tokens=8)


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def adapter(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real LoRA adapter on the tiny model, its B matrices random so that it changes outputs
    (peft's default initialisation starts as a no-op)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    config = LoraConfig(r=8, lora_alpha=64, target_modules=["q_proj", "v_proj", "o_proj"],
                        init_lora_weights=False)  # fmt: skip
    out = tmp_path_factory.mktemp("adapters") / "tuned"
    get_peft_model(base, config).save_pretrained(out)
    return out


@slow
def test_worker_answers_a_batch_and_greedy_is_deterministic(tiny_model: Path) -> None:
    async def main() -> tuple[list[str], LocalChatModel]:
        model = LocalChatModel(parse_spec(f"local:{tiny_model}"))
        try:
            terse = [{"role": "system", "content": "Be terse."}, *ask("Hello there")]
            prompts = [
                ask("What is 2 plus 3?"),
                ask("Hello there"),
                ask("What is 2 plus 3?"),
                terse,
            ]
            answers = await asyncio.gather(*(model.complete(p, GREEDY) for p in prompts))
            assert all(a.completion_tokens and 0 < a.completion_tokens <= 8 for a in answers)
            assert all(a.finish_reason in ("stop", "length") for a in answers)
            assert answers[0].prompt_tokens is not None and answers[0].prompt_tokens > 5
            assert answers[0].model == f"local:{tiny_model}"
            again = await model.complete(prompts[1], GREEDY)  # alone, not in a batch
            return [a.text for a in answers] + [again.text], model
        finally:
            await model.aclose()

    texts, model = asyncio.run(main())
    assert texts[0] == texts[2] and texts[0]
    assert texts[1] == texts[4]  # batched with others or alone, the same answer
    assert model.starts == 1 and model.device == "cpu"


@slow
def test_an_adapter_changes_the_output_and_a_dead_worker_is_restarted(
    tiny_model: Path, adapter: Path
) -> None:
    async def main() -> None:
        base = LocalChatModel(parse_spec(f"local:{tiny_model}"))
        tuned = LocalChatModel(parse_spec(f"local:{tiny_model}+{adapter}"))
        try:
            prompt = ask("What is 4 plus 4?")
            plain, changed = await asyncio.gather(
                base.complete(prompt, GREEDY), tuned.complete(prompt, GREEDY)
            )
            assert plain.text != changed.text
            worker = tuned._worker
            assert worker is not None
            os.kill(worker.process.pid, signal.SIGKILL)  # as the OOM killer would
            await worker.process.wait()
            again = await tuned.complete(prompt, GREEDY)
            assert again.text == changed.text
            assert tuned.starts == 2
            with pytest.raises(LocalRequestError, match=r"messages\[0\]\.role is 'robot'"):
                await tuned.complete([{"role": "robot", "content": "hi"}], GREEDY)
        finally:
            await asyncio.gather(base.aclose(), tuned.aclose())
        assert worker.process.returncode is not None

    asyncio.run(main())


@slow
def test_a_bad_path_is_a_clear_error(tmp_path: Path, tiny_model: Path) -> None:
    missing = tmp_path / "no-such-model"
    worker = subprocess.run(
        [sys.executable, "-m", "ftui.train.generate", str(missing)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert worker.returncode == 2
    assert json.loads(worker.stdout.splitlines()[-1]) == {
        "error": f"{missing} does not exist: give the folder of a Hugging Face model (config.json,"
        " the weights and the tokenizer files), for instance one `ftui model build` made"
    }

    async def open_with_bad_adapter() -> None:
        model = LocalChatModel(parse_spec(f"local:{tiny_model}+{tmp_path}"))
        try:
            await model.complete(ask("hi"), GREEDY)
        finally:
            await model.aclose()

    with pytest.raises(InferenceError, match=r"has no adapter_config\.json") as caught:
        asyncio.run(open_with_bad_adapter())
    assert caught.value.model == f"local:{tiny_model}+{tmp_path}"


@pytest.fixture
def served(tiny_model: Path, adapter: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "ftui", "serve", f"local:{tiny_model}+{adapter}", "--port", "0",
         "--engine", "builtin"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "Serving NAME at URL ..." once the model is loaded
        assert line.startswith("Serving tuned at http://127.0.0.1:"), process.stderr.read()
        yield line.split()[3], process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@slow
def test_ftui_serve_answers_the_openai_client(
    served: tuple[str, subprocess.Popen[str]], tiny_model: Path, adapter: Path
) -> None:
    import openai

    url, process = served
    client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=60)
    assert [m.id for m in client.models.list()] == ["tuned"]
    started = time.monotonic()
    reply = client.chat.completions.create(
        model="tuned", messages=ask("What is 4 plus 4?"), temperature=0, max_tokens=8
    )
    assert time.monotonic() - started < 10  # loaded before the line was printed
    assert reply.choices[0].message.content
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert reply.usage is not None and 0 < reply.usage.completion_tokens <= 8

    async def direct() -> str:
        model = LocalChatModel(parse_spec(f"local:{tiny_model}+{adapter}"))
        try:
            return (await model.complete(ask("What is 4 plus 4?"), GREEDY)).text
        finally:
            await model.aclose()

    assert reply.choices[0].message.content == asyncio.run(direct())
    with pytest.raises(openai.NotFoundError, match="serves 'tuned'"):
        client.chat.completions.create(model="gpt-4o", messages=ask("hi"))
    with pytest.raises(openai.BadRequestError, match="send n=1"):
        client.chat.completions.create(model="tuned", messages=ask("hi"), n=2)

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0


def test_serve_uses_vllm_only_with_vllm_and_a_gpu() -> None:
    spec = parse_spec("local:/models/qwen+/runs/abc/adapter")
    common = {"host": "127.0.0.1", "port": 8001, "python": "/venv/bin/python"}
    assert plan_server(spec, vllm_installed=False, gpu_count=2, **common).engine == "builtin"
    assert plan_server(spec, vllm_installed=True, gpu_count=0, **common).engine == "builtin"
    plan = plan_server(spec, vllm_installed=True, gpu_count=1, lora_rank=64, **common)
    assert plan.engine == "vllm" and plan.name == "adapter"
    assert plan.argv == [
        "/venv/bin/python", "-m", "vllm.entrypoints.openai.api_server", "--model", "/models/qwen",
        "--host", "127.0.0.1", "--port", "8001", "--served-model-name", "qwen", "--enable-lora",
        "--lora-modules", "adapter=/runs/abc/adapter", "--max-lora-rank", "64",
    ]  # fmt: skip
    plain = plan_server(
        parse_spec("local:/models/qwen"), vllm_installed=True, gpu_count=1, **common
    )
    assert plain.argv is not None and "--enable-lora" not in plain.argv
    assert plain.argv[-2:] == ["--served-model-name", "qwen"]
    builtin = plan_server(spec, vllm_installed=True, gpu_count=1, engine="builtin", **common)
    assert builtin.argv is None
    with pytest.raises(ValueError, match="vLLM is not installed"):
        plan_server(spec, vllm_installed=False, gpu_count=1, engine="vllm", **common)
    with pytest.raises(ValueError, match="takes a local model"):
        plan_server(parse_spec("openai:gpt-4o"), vllm_installed=True, gpu_count=1, **common)


def test_requests_are_read_with_openais_defaults_and_refused_clearly() -> None:
    assert sampling_of({"messages": []}) == Sampling(temperature=1.0, max_tokens=512, top_p=1.0)
    got = sampling_of({"temperature": 0, "max_completion_tokens": 20, "seed": 3})
    assert got == Sampling(temperature=0.0, max_tokens=20, seed=3)
    for body, message in [
        ({"stream": True}, "streaming is not supported"),
        ({"n": 3}, "send n=1"),
        ({"max_tokens": 0}, "max_tokens must be"),
        ({"temperature": "hot"}, "temperature must be a number"),
    ]:
        with pytest.raises(BadRequest, match=message):
            sampling_of(body)
    assert served_name(ModelSpec("local", "local:/m/base/", path="/m/base/")) == "base"
