""" "Checkpoint now" on a real detached run of the tiny model, and the resource use each step's
metrics carry."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from train_helpers import CPU_ONLY, ChatData, events_of, fast_config, train_log, wait_terminal

from ftui.cli import cli
from ftui.config import Config
from ftui.services import launcher
from ftui.services.backends.base import LaunchError
from ftui.services.backends.local import LocalBackend
from ftui.services.store import RunStore

pytestmark = pytest.mark.slow

MAX_STEPS = 60


def test_a_running_run_checkpoints_on_request_and_trains_on(
    tiny_model: Path,
    chat_data: ChatData,
    store: RunStore,
    backend: LocalBackend,
    app_config: Config,
) -> None:
    # No eval and no scheduled save: the only checkpoints are the one asked for and the last.
    job = fast_config(
        tiny_model, chat_data, max_steps=MAX_STEPS, save_steps=10_000, validation_path=None
    )
    checked = asyncio.run(backend.preflight(job, capacity=CPU_ONLY))
    run = asyncio.run(backend.launch(job, checked=checked))

    deadline = time.monotonic() + 60
    while not any(e["step"] >= 3 for e in events_of(run, "metric")):
        assert time.monotonic() < deadline, train_log(run)[-3000:]
        time.sleep(0.05)
    result = CliRunner().invoke(
        cli, ["--home", str(app_config.home), "train", "checkpoint", run.id]
    )
    assert result.exit_code == 0, result.output
    assert f"Checkpoint requested for run {run.id}" in result.output

    final = wait_terminal(store, run, timeout=90)
    assert final.status == "succeeded", train_log(run)[-3000:]
    checkpoints = events_of(final, "checkpoint")
    assert [e["step"] for e in checkpoints][1:] == [MAX_STEPS], checkpoints
    step = checkpoints[0]["step"]
    assert 3 <= step < MAX_STEPS, "the checkpoint came mid-run, not at the end"
    assert f"Checkpoint requested at step {step}." in [
        e["message"] for e in events_of(final, "log")
    ]
    folder = final.run_dir / checkpoints[0]["path"]
    assert folder == final.run_dir / "checkpoints" / f"checkpoint-{step}"
    assert (folder / "adapter_model.safetensors").is_file()
    assert (folder / "trainer_state.json").is_file()
    # It trained on to the end after the save.
    assert max(e["step"] for e in events_of(final, "metric")) == MAX_STEPS

    # Each training step's metrics carry this process's resource use (no CUDA here).
    steps = [e["values"] for e in events_of(final, "metric") if "train_loss" in e["values"]]
    assert all("ram_gb" in values and "cpu_percent" in values for values in steps)
    assert all(0.05 < values["ram_gb"] < 16 for values in steps)
    assert max(values["cpu_percent"] for values in steps[1:]) > 10  # it was busy training
    assert not any("gpu_memory_gb" in values for values in steps)

    # A finished run has nothing to checkpoint, and says so.
    with pytest.raises(LaunchError, match="is succeeded: there is no training to checkpoint"):
        asyncio.run(backend.checkpoint_now(run.id))


def test_a_checkpoint_request_reaches_only_training_processes(tmp_path: Path) -> None:
    """A multi-GPU run's group leader is `accelerate`: it has no SIGUSR1 handler and would die."""
    assert launcher.runs_training(["python", "-u", "-m", "ftui.train", "runs/x"])
    assert not launcher.runs_training(
        ["python", "-m", "accelerate.commands.launch", "--multi_gpu", "-m", "ftui.train", "x"]
    )
    # A run whose process is gone is not signalled.
    record = {
        "pid": os.getpid(),
        "start_time": "0",
        "host": socket.gethostname(),
        "argv": ["python", "-m", "ftui.train"],
    }
    (tmp_path / launcher.PROCESS_FILE).write_text(json.dumps(record))
    assert launcher.request_checkpoint(tmp_path) == []  # same pid, other start time: not ours
