"""Alerts from the training process: the callbacks driven with a real event log and real trainer
state, the stall watchdog on a short fuse, and a real tiny run that stays silent."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from train_helpers import ChatData, fast_config, wait_for
from transformers import TrainerControl, TrainerState, TrainingArguments

from ftui.core.runs.alerts import AlertRules
from ftui.core.runs.events import EventWriter
from ftui.services.eventlog import read_events
from ftui.services.store import RunStore
from ftui.train.alerts_callback import AlertsCallback
from ftui.train.callback import EventLogCallback
from ftui.train.trainer import run_training


@pytest.fixture(scope="module")
def args(tmp_path_factory: pytest.TempPathFactory) -> TrainingArguments:
    out = tmp_path_factory.mktemp("out")
    return TrainingArguments(output_dir=str(out), use_cpu=True, report_to="none")


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    return folder


@pytest.fixture
def writer(run_dir: Path) -> Iterator[EventWriter]:
    with EventWriter(run_dir / "events.jsonl") as events:
        yield events


def records(run_dir: Path) -> list[dict[str, Any]]:
    return read_events(run_dir / "events.jsonl")[0]


def alerts_in(run_dir: Path) -> list[dict[str, Any]]:
    return [r for r in records(run_dir) if r["type"] == "alert"]


class Training:
    """The two callbacks as the trainer wires them, driven step by step."""

    def __init__(
        self, writer: EventWriter, run_dir: Path, args: TrainingArguments, **options: Any
    ) -> None:
        self.alerts = AlertsCallback(writer, **options)
        self.log = EventLogCallback(writer, run_dir, on_metric=self.alerts.observe)
        self.args = args
        self.state = TrainerState(max_steps=100)
        self.control = TrainerControl()

    def begin(self) -> None:
        for callback in (self.log, self.alerts):
            callback.on_train_begin(self.args, self.state, self.control)

    def step(self, step: int, loss: float, eval_loss: float | None = None) -> None:
        self.state.global_step = step
        self.state.epoch = step / 50
        self.alerts.on_step_end(self.args, self.state, self.control)
        self.log.on_log(self.args, self.state, self.control, logs={"loss": loss, "grad_norm": 1.0})
        if eval_loss is not None:
            self.log.on_log(self.args, self.state, self.control, logs={"eval_loss": eval_loss})

    def end(self) -> None:
        self.alerts.on_train_end(self.args, self.state, self.control)


def overfit(training: Training) -> None:
    valid = {20: 1.00, 40: 0.95, 60: 0.99, 80: 1.03, 100: 1.08}
    for step in range(1, 101):
        training.step(step, 1.2 - 0.4 * step / 100, valid.get(step))


def test_an_overfitting_run_gets_one_alert_right_after_the_evaluation_that_showed_it(
    writer: EventWriter, run_dir: Path, args: TrainingArguments
) -> None:
    training = Training(writer, run_dir, args)
    training.begin()
    overfit(training)
    training.end()
    log = records(run_dir)
    (alert,) = alerts_in(run_dir)
    assert alert["kind"] == "overfitting" and alert["steps"] == [40, 60, 80, 100]
    assert "0.950 → 0.990 → 1.030 → 1.080" in alert["message"] and alert["advice"]
    at = log.index(alert)
    assert log[at - 1]["type"] == "metric" and log[at - 1]["values"] == {"valid_loss": 1.08}


def test_a_resumed_run_does_not_raise_again_what_its_log_holds(
    writer: EventWriter, run_dir: Path, args: TrainingArguments
) -> None:
    first = Training(writer, run_dir, args)
    first.begin()
    overfit(first)
    first.end()
    resumed = Training(writer, run_dir, args)
    resumed.begin()  # folds the log as it stands
    resumed.step(101, 0.79, 1.12)  # still rising: the same episode
    resumed.end()
    assert [a["kind"] for a in alerts_in(run_dir)] == ["overfitting"]


def test_a_nan_loss_is_alerted_though_the_log_cannot_hold_nan(
    writer: EventWriter, run_dir: Path, args: TrainingArguments
) -> None:
    training = Training(writer, run_dir, args)
    training.begin()
    training.step(1, 2.0)
    training.step(2, math.nan)
    training.step(3, math.nan)
    training.end()
    (alert,) = alerts_in(run_dir)
    assert alert["kind"] == "nan_loss" and alert["steps"] == [2]
    assert alert["message"] == "train_loss is nan at step 2 (last finite value 2.000 at step 1)"


def test_the_watchdog_writes_one_stalled_alert_per_stall(
    writer: EventWriter, run_dir: Path, args: TrainingArguments
) -> None:
    training = Training(writer, run_dir, args, rules=AlertRules(stall_after_s=0.4), poll_s=0.02)
    training.begin()
    try:
        for step in range(1, 21):  # steady steps: never a stall
            training.step(step, 2.0 - step / 100)
            time.sleep(0.05)
        assert alerts_in(run_dir) == []
        stalled = wait_for(lambda: alerts_in(run_dir), 5, "a stalled alert", 0.02)  # hung
        time.sleep(0.6)  # longer than the fuse again: still the same stall
        assert [a["kind"] for a in alerts_in(run_dir)] == ["stalled"]
        assert stalled[0]["steps"] == [20] and "since step 20" in stalled[0]["message"]
        training.step(21, 1.7)  # it moved again, then hangs again
        wait_for(lambda: len(alerts_in(run_dir)) == 2, 5, "a second stalled alert", 0.02)
    finally:
        training.end()
    assert training.alerts._watchdog is None
    time.sleep(0.6)
    assert len(alerts_in(run_dir)) == 2  # no watchdog after training


@pytest.mark.slow
def test_a_real_healthy_run_raises_no_alert_and_its_log_replays_clean(
    tiny_model: Path, chat_data: ChatData, run_dir: Path, store: RunStore
) -> None:
    from ftui.core.runs.alerts import AlertDetector
    from ftui.core.runs.codec import parse_event

    config = fast_config(tiny_model, chat_data, max_steps=24, eval_steps=4)
    (run_dir / "config.json").write_text(json.dumps(config.to_dict()))
    assert run_training(run_dir) == "succeeded"
    log = records(run_dir)
    assert sum(1 for r in log if "valid_loss" in r.get("values", {})) == 6
    assert alerts_in(run_dir) == []
    assert AlertDetector().feed(parse_event(r) for r in log) == []


def test_a_killed_process_leaves_a_process_died_alert_before_its_failed_status(
    store: RunStore,
) -> None:
    import os
    import signal

    from ftui.services import launcher, liveness

    run = store.create_run(backend="local", base_model="tiny-llama", config={"max_steps": 10})
    with EventWriter(run.events_path) as events:
        events.status("running")
        events.metric(3, {"train_loss": 2.1}, max_steps=10)
    last_words = "echo 'step 3/10 loss 2.1'; echo 'CUDA out of memory. Tried to allocate 2 GiB'"
    record = launcher.launch(run.run_dir, argv=["sh", "-c", f"{last_words}; exec sleep 60"])
    log_file = run.run_dir / launcher.LOG_FILE
    wait_for(lambda: "out of memory" in log_file.read_text(), 10, "its last words", 0.02)
    os.kill(record.pid, signal.SIGKILL)
    wait_for(lambda: not launcher.pid_alive(record), 10, "the process to die", 0.02)

    failed = liveness.check_run(store, store.get_run(run.id))
    assert failed.status == "failed"
    log = records(run.run_dir)
    alert, last_lines, status = log[-3:]
    assert alert["type"] == "alert" and alert["kind"] == "process_died"
    assert alert["steps"] == [3]
    assert alert["message"] == (
        "the training process died without reporting at step 3; its last line: "
        "CUDA out of memory. Tried to allocate 2 GiB"
    )
    assert "batch_size" in alert["advice"]
    assert last_lines["type"] == "log" and status["status"] == "failed"
    indexed = [e for e in store.export_run(run.id)["events"] if e["type"] == "alert"]
    assert [e["kind"] for e in indexed] == ["process_died"]
    assert liveness.check_run(store, store.get_run(run.id)).status == "failed"
    assert sum(1 for r in records(run.run_dir) if r["type"] == "alert") == 1  # recorded once
