"""Trainer callbacks: every log and checkpoint into the run's event log (as typed events, with
the process's resource use), a checkpoint on request, and a graceful stop.

Only the main process (rank 0) writes events; the other ranks of a multi-GPU run stay silent so each
step is logged once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from ftui.core.runs.events import EventWriter
from ftui.core.runs.kinds import CheckpointEvent, MetricEvent
from ftui.train.stop import CheckpointRequest, StopRequest

# Trainer / trl log keys -> ftui metric names (OpenAI's names where they overlap).
METRIC_NAMES = {
    "loss": "train_loss",
    "eval_loss": "valid_loss",
    "mean_token_accuracy": "train_mean_token_accuracy",
    "eval_mean_token_accuracy": "valid_mean_token_accuracy",
    "learning_rate": "learning_rate",
    "grad_norm": "grad_norm",
    "entropy": "train_entropy",
    "eval_entropy": "valid_entropy",
}
SUMMARY_KEY = "train_runtime"
GIB = 1024**3


class ResourceSampler:
    """This process's resource use, cheaply (no subprocess, no file but /proc/self/statm):

    - on CUDA, `gpu_memory_gb` (GiB the caching allocator holds now, all devices of this
      process) and `gpu_utilization` (percent, the device's, when `torch.cuda.utilization` works:
      it needs pynvml, and is left out for good after its first failure);
    - else `cpu_percent` (this process's CPU time over wall time since the last sample: 100 is
      one core busy);
    - and always `ram_gb` (resident memory, GiB).
    """

    def __init__(self) -> None:
        import torch

        self._torch = torch
        self.on_cuda = torch.cuda.is_available()
        self._utilization = self.on_cuda
        self._page_size = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._last_cpu = self._cpu_seconds()
        self._last_wall = time.monotonic()

    @staticmethod
    def _cpu_seconds() -> float:
        times = os.times()
        return times.user + times.system

    def _rss_bytes(self) -> int | None:
        try:
            with open("/proc/self/statm", "rb") as statm:
                return int(statm.read().split()[1]) * self._page_size
        except (OSError, IndexError, ValueError):
            pass
        try:
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # the peak: KiB
        except (ImportError, OSError):
            return None

    def sample(self) -> dict[str, float]:
        values: dict[str, float] = {}
        if self.on_cuda:
            cuda = self._torch.cuda
            reserved = sum(cuda.memory_reserved(index) for index in range(cuda.device_count()))
            values["gpu_memory_gb"] = round(reserved / GIB, 3)
            if self._utilization:
                try:
                    values["gpu_utilization"] = float(cuda.utilization())
                except Exception:  # no pynvml, or a driver that will not say: not worth a word
                    self._utilization = False
        else:
            cpu, wall = self._cpu_seconds(), time.monotonic()
            if wall > self._last_wall:
                values["cpu_percent"] = round(
                    100.0 * (cpu - self._last_cpu) / (wall - self._last_wall), 1
                )
            self._last_cpu, self._last_wall = cpu, wall
        rss = self._rss_bytes()
        if rss is not None:
            values["ram_gb"] = round(rss / GIB, 3)
        return values


def agreed_across_ranks(requested: bool) -> bool:
    """Under multi-GPU training, True on every rank when any rank asks (an all-reduce of the
    flag), so all processes act at the same step even if a signal reached them apart."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
        flag = torch.tensor([1 if requested else 0], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())
    return requested


def is_summary(logs: dict[str, Any]) -> bool:
    """The end-of-training summary: its "train_loss" is the run's average, not a step's value
    (step logs say "loss"; and they carry "train_runtime" too when tokens are counted)."""
    return "train_loss" in logs and "loss" not in logs


class EventLogCallback(TrainerCallback):
    """Appends metrics (with tokens/s and resource use) and checkpoints to events.jsonl.

    Throughput counts the tokens the Trainer saw that are not padding
    (`include_num_input_tokens_seen="non_padding"`), over wall-clock time between logs. Each
    training step's metrics carry the `ResourceSampler`'s values too.
    """

    def __init__(
        self,
        writer: EventWriter,
        run_dir: Path,
        resources: ResourceSampler | None = None,
        on_metric: Callable[[MetricEvent], None] | None = None,
    ) -> None:
        self.writer = writer
        self.run_dir = run_dir
        self.resources = resources or ResourceSampler()
        self.on_metric = on_metric  # sees each MetricEvent once it is written (the alerts)
        self._session_start_tokens = 0  # tokens already seen by the run this session resumed
        self._last_tokens = 0
        self._last_time = 0.0

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        self._last_time = time.monotonic()
        self._session_start_tokens = self._last_tokens = int(state.num_input_tokens_seen or 0)
        if state.is_world_process_zero:
            self.writer.log(
                f"Training: {state.max_steps} steps, starting at step {state.global_step}."
            )

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kw: Any,
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        if is_summary(logs):
            self.writer.log(self._summary(logs, state))
            return
        values = {
            METRIC_NAMES[key]: float(value)
            for key, value in logs.items()
            if key in METRIC_NAMES and isinstance(value, int | float)
        }
        tokens = int(state.num_input_tokens_seen or 0)
        now = time.monotonic()
        if "loss" in logs and tokens > self._last_tokens and now > self._last_time:
            values["tokens_per_second"] = (tokens - self._last_tokens) / (now - self._last_time)
            self._last_tokens, self._last_time = tokens, now
        if "loss" in logs:
            values.update(self.resources.sample())
        if not values:
            return
        epoch = round(float(state.epoch), 4) if state.epoch is not None else None
        event = MetricEvent(
            ts=time.time(),
            step=state.global_step,
            values=values,
            max_steps=state.max_steps,
            epoch=epoch,
        )
        self.writer.write(event)
        if self.on_metric is not None:
            self.on_metric(event)

    def _summary(self, logs: dict[str, Any], state: TrainerState) -> str:
        runtime = float(logs[SUMMARY_KEY])
        text = f"Training finished in {runtime:.2f} s"
        if state.max_steps and state.global_step < state.max_steps:
            # a stop request or early stopping: the run did not get to its end
            text = (
                f"Training stopped at step {state.global_step} of {state.max_steps} "
                f"after {runtime:.2f} s"
            )
        tokens = int(state.num_input_tokens_seen or 0) - self._session_start_tokens
        if tokens > 0 and runtime > 0:
            text += f" ({tokens:,} tokens, {tokens / runtime:,.0f} tokens/s)"
        average = logs.get("train_loss")
        if isinstance(average, float):
            text += f", average train loss {average:.4f}"
        return text + "."

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        if not state.is_world_process_zero:
            return
        checkpoint = Path(str(args.output_dir)) / f"checkpoint-{state.global_step}"
        try:
            path = str(checkpoint.resolve().relative_to(self.run_dir.resolve()))
        except ValueError:
            path = str(checkpoint)
        self.writer.write(CheckpointEvent(ts=time.time(), step=state.global_step, path=path))


class CheckpointOnRequestCallback(TrainerCallback):
    """On a checkpoint request ("checkpoint now"): save at the end of the current step and go on.

    The checkpoint event itself is written by `EventLogCallback.on_save`, as for any save.
    """

    def __init__(self, request: CheckpointRequest, writer: EventWriter) -> None:
        self.request = request
        self.writer = writer
        self.saved_at_steps: list[int] = []

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        if agreed_across_ranks(self.request.take()):
            control.should_save = True
            self.saved_at_steps.append(state.global_step)
            if state.is_world_process_zero:
                self.writer.log(f"Checkpoint requested at step {state.global_step}.")


class GracefulStopCallback(TrainerCallback):
    """On a stop request: save a checkpoint at the end of the current step, then stop.

    Under multi-GPU training the decision is agreed across ranks (an all-reduce of the flag), so
    every process stops at the same step even if the signal reached them at different moments.
    """

    def __init__(self, stop: StopRequest) -> None:
        self.stop = stop
        self.stopped_at_step: int | None = None

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        self.stop.training_started = True  # from now on a stop waits for the step's end

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        if agreed_across_ranks(self.stop.is_set()):
            control.should_save = True
            control.should_training_stop = True
            self.stopped_at_step = state.global_step
