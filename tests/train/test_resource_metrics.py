"""The resource use each training step's metrics carry, from the real callback and a real log."""

from __future__ import annotations

import os
import time
from pathlib import Path

from transformers import TrainerControl, TrainerState, TrainingArguments

from ftui.core.runs.events import EventWriter
from ftui.services.eventlog import read_events
from ftui.train.callback import EventLogCallback, ResourceSampler


def busy(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_step_metrics_carry_cpu_and_ram_and_eval_metrics_do_not(tmp_path: Path) -> None:
    args = TrainingArguments(output_dir=str(tmp_path / "checkpoints"), use_cpu=True)
    state = TrainerState(max_steps=10, is_world_process_zero=True)
    control = TrainerControl()
    with EventWriter(tmp_path / "events.jsonl") as writer:
        callback = EventLogCallback(writer, tmp_path)
        callback.on_train_begin(args, state, control)
        state.global_step = 1
        busy(0.2)
        callback.on_log(args, state, control, logs={"loss": 2.0, "learning_rate": 1e-3})
        time.sleep(0.2)  # idle: this process uses no CPU
        state.global_step = 2
        callback.on_log(args, state, control, logs={"loss": 1.9})
        callback.on_log(args, state, control, logs={"eval_loss": 2.1})
    metrics = [e for e in read_events(writer.path)[0] if e["type"] == "metric"]
    busy_step, idle_step, evaluation = (e["values"] for e in metrics)
    # About 100 (one core busy) on an idle machine, less where others share the cores; the idle
    # step's is far lower whatever the load.
    assert busy_step["cpu_percent"] > 20
    assert idle_step["cpu_percent"] < busy_step["cpu_percent"] / 2
    rss = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    assert abs(busy_step["ram_gb"] - rss / 1024**3) < 0.2
    assert "gpu_memory_gb" not in busy_step and "gpu_utilization" not in busy_step
    assert set(evaluation) == {"valid_loss"}


def test_the_sampler_reports_what_this_machine_has() -> None:
    sampler = ResourceSampler()
    values = sampler.sample()
    if sampler.on_cuda:
        assert values["gpu_memory_gb"] >= 0
    else:
        assert set(values) == {"cpu_percent", "ram_gb"}
