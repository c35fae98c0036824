"""Helpers of the local-training tests: small real datasets, fast settings, and waits on detached
runs that poll instead of sleeping longer than needed."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftui.core.training.local_config import LocalTrainConfig
from ftui.services.backends.local import Capacity
from ftui.services.eventlog import read_events
from ftui.services.store import Run, RunStore

# No GPU and a fixed amount of RAM: the preflight result does not depend on the test machine.
CPU_ONLY = Capacity(gpus=[], ram_total=24 * 1024**3, ram_available=16 * 1024**3)


def make_rows(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """Arithmetic chats: short, regular, so a tiny model's loss falls within a few dozen steps."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": "You are a terse calculator."},
                    {"role": "user", "content": f"What is {a} plus {b}?"},
                    {"role": "assistant", "content": f"{a} plus {b} is {a + b}."},
                ]
            }
        )
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@dataclass
class ChatData:
    train: Path
    valid: Path


def fast_config(model: Path, data: ChatData, **changes: Any) -> LocalTrainConfig:
    """Settings that train the tiny model in seconds on a CPU."""
    settings: dict[str, Any] = {
        "base_model": str(model),
        "dataset_path": str(data.train),
        "validation_path": str(data.valid),
        "max_steps": 24,
        "batch_size": 4,
        "grad_accum": 1,
        "learning_rate": 5e-3,
        "warmup": 0,
        "max_length": 96,
        "lora_r": 8,
        "lora_alpha": 16,
        "eval_steps": 8,
        "save_steps": 100,
        "gradient_checkpointing": False,
        "logging_steps": 1,
    }
    settings.update(changes)
    return LocalTrainConfig(**settings)


def wait_for(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.25
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def events_of(run: Run, type_: str | None = None) -> list[dict[str, Any]]:
    events, _ = read_events(run.events_path)
    return [e for e in events if type_ is None or e["type"] == type_]


def metric_series(run: Run, name: str) -> list[tuple[int, float]]:
    return [(e["step"], e["values"][name]) for e in events_of(run, "metric") if name in e["values"]]


def train_log(run: Run) -> str:
    path = run.run_dir / "train.log"
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def wait_terminal(store: RunStore, run: Run, timeout: float = 150) -> Run:
    def finished() -> Run | None:
        store.ingest_events(run.id)
        current = store.get_run(run.id)
        return current if current.is_terminal else None

    try:
        return wait_for(finished, timeout, f"run {run.id} to finish")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- train.log ---\n{train_log(run)[-3000:]}") from None


def wait_step(run: Run, step: int, timeout: float = 120) -> None:
    def reached() -> bool:
        return any(s >= step for s, _ in metric_series(run, "train_loss"))

    try:
        wait_for(reached, timeout, f"run {run.id} to reach step {step}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- train.log ---\n{train_log(run)[-3000:]}") from None
