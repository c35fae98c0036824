"""Real training of the tiny model on the CPU, through the detached launcher, as a user runs it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from statistics import mean
from typing import Any

import pytest
from train_helpers import (
    CPU_ONLY,
    ChatData,
    events_of,
    fast_config,
    metric_series,
    train_log,
    wait_for,
    wait_step,
    wait_terminal,
)

from ftui.config import Config
from ftui.services import launcher
from ftui.services.backends.local import LocalBackend
from ftui.services.store import RunStore

pytestmark = pytest.mark.slow


def test_run_outlives_a_hung_up_launcher_learns_and_its_adapter_generates(
    tiny_model: Path, chat_data: ChatData, store: RunStore, app_config: Config
) -> None:
    # The launching process is the real CLI following the run, in its own session like a login
    # shell over SSH; the hang-up it gets is what a dropped connection sends.
    command = [
        sys.executable, "-m", "ftui", "--home", str(app_config.home), "train", "local",
        str(chat_data.train), "--model", str(tiny_model), "--validation-file", str(chat_data.valid),
        "--max-steps", "24", "--batch-size", "4", "--grad-accum", "1", "--lr", "5e-3",
        "--warmup", "0", "--max-length", "96", "--lora-r", "8", "--lora-alpha", "16",
        "--eval-steps", "8", "--save-steps", "12", "--no-gradient-checkpointing",
        "--device", "cpu", "--merge", "--yes", "--wait",
    ]  # fmt: skip
    cli = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:

        def recorded() -> Any:
            if cli.poll() is not None:
                output = cli.stdout.read().decode() if cli.stdout else ""
                raise AssertionError(f"the CLI exited {cli.returncode}:\n{output}")
            return next(iter(store.list_runs()), None)

        run = wait_for(recorded, 60, "the run to be recorded")
        wait_step(run, 2)
        os.killpg(cli.pid, signal.SIGHUP)
        assert cli.wait(timeout=15) == -signal.SIGHUP
    finally:
        if cli.poll() is None:
            cli.kill()
        cli.wait()
    assert launcher.is_running(run.run_dir), train_log(run)

    final = wait_terminal(store, run)
    assert final.status == "succeeded", train_log(run)
    losses = [value for _, value in metric_series(final, "train_loss")]
    assert len(losses) == 24
    assert mean(losses[-4:]) < mean(losses[:4]) - 0.1
    valid = metric_series(final, "valid_loss")
    assert [step for step, _ in valid] == [8, 16, 24]
    assert valid[-1][1] < valid[0][1]
    assert any("tokens_per_second" in e["values"] for e in events_of(final, "metric"))
    assert [e["step"] for e in events_of(final, "checkpoint")] == [12, 24]
    assert {e["kind"] for e in events_of(final, "artifact")} == {"adapter", "merged_model"}
    assert final.adapter_path == str(run.run_dir / "adapter")
    assert store.metrics(run.id)["train_loss"][-1][0] == 24  # the store indexed the whole run

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(final.adapter_path)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2 plus 3?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    tuned = PeftModel.from_pretrained(base, final.adapter_path)
    output = tuned.generate(**prompt, max_new_tokens=8, do_sample=False)
    assert output.shape[1] > prompt["input_ids"].shape[1]
    merged = AutoModelForCausalLM.from_pretrained(run.run_dir / "merged")
    with torch.no_grad():
        expected = tuned(**prompt).logits
        got = merged(**prompt).logits
    assert torch.allclose(expected, got, atol=1e-4)


def test_sigterm_leaves_a_checkpoint_and_the_run_resumes_from_it(
    tiny_model: Path, chat_data: ChatData, store: RunStore, backend: LocalBackend
) -> None:
    config = fast_config(tiny_model, chat_data, validation_path=None, max_steps=400, device="cpu")
    checked = asyncio.run(backend.preflight(config, capacity=CPU_ONLY))
    assert checked.ok, checked.problems
    run = asyncio.run(backend.launch(config, checked=checked))
    wait_step(run, 3)

    cancelled = asyncio.run(backend.cancel(run.id, grace_s=60))
    assert cancelled.status == "cancelled", train_log(run)
    status = events_of(cancelled, "status")[-1]
    assert "checkpoint saved" in status["message"]
    checkpoint = events_of(cancelled, "checkpoint")[-1]
    stopped_at = checkpoint["step"]
    assert 3 <= stopped_at < 400
    assert (run.run_dir / checkpoint["path"] / "adapter_model.safetensors").is_file()
    assert not launcher.is_running(run.run_dir)
    said = [e["message"] for e in events_of(cancelled, "log")]
    assert any(m.startswith(f"Training stopped at step {stopped_at} of 400") for m in said), said
    assert not any(m.startswith("Training finished") for m in said)

    # Resume for fewer total steps than it had planned, so the test stays short.
    store.update_run(run.id, config={**cancelled.config, "max_steps": stopped_at + 6})
    resumed = asyncio.run(backend.resume(run.id))
    final = wait_terminal(store, resumed)
    assert final.status == "succeeded", train_log(run)
    logs = [e["message"] for e in events_of(final, "log")]
    assert f"Resuming from checkpoint-{stopped_at}." in logs
    steps = [step for step, _ in metric_series(final, "train_loss")]
    after = steps[steps.index(stopped_at) + 1 :]
    assert after == list(range(stopped_at + 1, stopped_at + 7))


def test_a_run_cancelled_while_loading_stops_at_once(
    tiny_model: Path, chat_data: ChatData, store: RunStore, backend: LocalBackend
) -> None:
    config = fast_config(tiny_model, chat_data, device="cpu")
    run = asyncio.run(
        backend.launch(config, checked=asyncio.run(backend.preflight(config, capacity=CPU_ONLY)))
    )
    wait_for(
        lambda: events_of(run, "status")[-1]["status"] == "running", 60, "the process to start"
    )
    assert metric_series(run, "train_loss") == []  # still importing and loading

    started = time.monotonic()
    cancelled = asyncio.run(backend.cancel(run.id, grace_s=60))
    assert time.monotonic() - started < 30
    assert cancelled.status == "cancelled", train_log(run)
    assert events_of(cancelled, "status")[-1]["message"] == (
        "Stopped by SIGTERM before training started."
    )
    assert events_of(cancelled, "checkpoint") == []


def test_a_reopened_ftui_reattaches_a_live_run_and_reports_a_killed_one_failed(
    tiny_model: Path, chat_data: ChatData, store: RunStore, app_config: Config
) -> None:
    config = fast_config(tiny_model, chat_data, max_steps=2000, device="cpu")
    first_app = LocalBackend(store, app_config)
    run = asyncio.run(
        first_app.launch(
            config, checked=asyncio.run(first_app.preflight(config, capacity=CPU_ONLY))
        )
    )
    wait_step(run, 2)

    # A new ftui session (its own store connection) finds the run alive.
    reopened_store = RunStore.from_config(app_config)
    reopened = LocalBackend(reopened_store, app_config)
    try:
        alive = asyncio.run(reopened.reattach())
        assert [r.id for r in alive] == [run.id]
        assert alive[0].status == "running"

        record = launcher.read_process(run.run_dir)
        assert record is not None and launcher.pid_alive(record)
        os.kill(record.pid, signal.SIGKILL)
        wait_for(lambda: not launcher.is_running(run.run_dir), 15, "the trainer to die")
        assert asyncio.run(reopened.reattach()) == []
    finally:
        reopened_store.close()

    failed = store.get_run(run.id)
    assert failed.status == "failed"
    assert failed.error is not None and "died without reporting" in failed.error
    last_words = [e for e in events_of(failed, "log") if e["level"] == "error"]
    assert last_words and "Last lines of train.log" in last_words[-1]["message"]


def test_qlora_4bit_trains_the_tiny_model_on_the_cpu(
    tiny_model: Path, chat_data: ChatData, store: RunStore, backend: LocalBackend
) -> None:
    config = fast_config(
        tiny_model, chat_data, quantization="4bit", max_steps=6, eval_steps=3, device="cpu"
    )
    checked = asyncio.run(backend.preflight(config, capacity=CPU_ONLY))
    assert checked.ok, checked.problems
    assert any("4-bit NF4 on a CPU" in warning for warning in checked.warnings)
    final = wait_terminal(store, asyncio.run(backend.launch(config, checked=checked)))
    assert final.status == "succeeded", train_log(final)
    logs = [e["message"] for e in events_of(final, "log")]
    assert "Quantized 14 linear layers to 4bit." in logs  # 2 layers x 7 projections
    assert len(metric_series(final, "train_loss")) == 6
    assert (final.run_dir / "adapter" / "adapter_model.safetensors").is_file()


def test_two_processes_write_events_once_and_stop_together(
    tiny_model: Path, chat_data: ChatData, store: RunStore, backend: LocalBackend
) -> None:
    # The multi-GPU path (accelerate, one process per device, rank 0 reports) run on two CPU
    # processes with gloo: the same launcher command line, the same callbacks.
    # Unpacked, so a step is 2 x 4 examples and the epoch fraction below counts them.
    config = fast_config(
        tiny_model, chat_data, validation_path=None, max_steps=400, device="cpu", packing=False
    )
    run = store.create_run(
        backend="local",
        base_model=config.base_model,
        config=config.to_dict(),
        dataset_path=config.dataset_path,
    )
    launcher.launch(run.run_dir, processes=2)
    wait_step(run, 3, timeout=150)
    asyncio.run(backend.cancel(run.id, grace_s=60))

    final = wait_terminal(store, run)
    assert final.status == "cancelled", train_log(run)
    metrics = events_of(final, "metric")
    steps = [e["step"] for e in metrics]
    assert steps == sorted(set(steps))  # one event per step: only rank 0 writes
    assert metrics[0]["epoch"] == pytest.approx(8 / 40)  # each step saw both ranks' batches
    statuses = [e["status"] for e in events_of(final, "status")]
    assert statuses.count("running") == 1 and statuses[-1] == "cancelled"
    checkpoint = events_of(final, "checkpoint")[-1]
    assert (run.run_dir / checkpoint["path"] / "trainer_state.json").is_file()
