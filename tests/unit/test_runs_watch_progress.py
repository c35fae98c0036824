"""`ftui runs watch` prints a throttled progress line instead of one line per metric, alerts
stand out, and `ftui runs show` lists a run's alerts (and `--json` has them)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ftui.cli import cli
from ftui.commands.runs import WatchPrinter
from ftui.core.runs.events import EventWriter
from ftui.core.runs.kinds import AlertEvent, LogEvent, MetricEvent, RunEvent, StatusEvent
from ftui.core.runs.state import RunState
from ftui.services.store import RunStore

START = 1_800_000_000.0
ALERT = {
    "type": "alert",
    "kind": "overfitting",
    "message": "valid_loss rose for 3 evals while train_loss fell",
    "steps": [40, 50, 60],
    "advice": "stop early, or lower the learning rate",
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> Iterator[RunStore]:
    store = RunStore(home / "ftui.db", home / "runs")
    yield store
    store.close()


def run_cli(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), "runs", *args])
    return result.exit_code, result.stdout


def progress_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if "  step " in line and " · " in line]


def write_run(writer: EventWriter, steps: int, *, pause_every: int = 0) -> None:
    writer.write({"ts": START, "type": "status", "status": "running"})
    for step in range(1, steps + 1):
        values = {"train_loss": 3.0 - step / steps}
        if step % 100 == 0:
            values["valid_loss"] = 3.5 - step / steps
        writer.write(
            {"ts": START + step * 0.1, "type": "metric", "step": step, "max_steps": steps,
             "values": values}
        )  # fmt: skip
        if pause_every and step % pause_every == 0:
            time.sleep(0.01)
        if step == steps // 2:
            writer.write({"ts": START + step * 0.1, **ALERT})
    writer.write({"ts": START + steps * 0.1, "type": "log", "message": "Adapter saved."})
    writer.write({"ts": START + steps * 0.1 + 1, "type": "status", "status": "succeeded"})


def test_a_replayed_flood_of_metrics_prints_one_progress_line_and_the_alert(
    store: RunStore, home: Path
) -> None:
    run = store.create_run(backend="local", base_model="tiny-llama", config={})
    with EventWriter(run.events_path) as writer:
        write_run(writer, 10_000)
    code, out = run_cli(home, "watch", run.id, "--all")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) < 10, out  # not 10,000 metric lines
    [progress] = progress_lines(out)
    assert "step 10000/10000 (100%)" in progress
    assert "loss 2 · eval 2.5" in progress  # the last train and eval losses
    assert "ETA" not in progress  # it is over
    [alert] = [line for line in lines if "! alert" in line]
    assert alert.endswith(
        "! alert overfitting: valid_loss rose for 3 evals while train_loss fell (steps 40-60)"
        " — try: stop early, or lower the learning rate"
    )
    assert lines.index(alert) < lines.index(progress) < len(lines) - 1
    assert any(line.endswith("Adapter saved.") for line in lines)
    assert lines[-1] == f"Run {run.id} succeeded."


def test_a_live_flood_is_throttled_and_its_last_line_is_printed(
    store: RunStore, home: Path
) -> None:
    run = store.create_run(backend="local", base_model="tiny-llama", config={})
    steps = 10_000

    def train() -> None:
        with EventWriter(run.events_path) as writer:
            write_run(writer, steps, pause_every=40)  # about 2.5 s of metrics

    trainer = threading.Thread(target=train)
    began = time.monotonic()
    trainer.start()
    code, out = run_cli(home, "watch", run.id, "--interval", "0.05")
    trainer.join()
    seconds = time.monotonic() - began
    assert code == 0, out
    lines = progress_lines(out)
    assert 2 <= len(lines) <= seconds / 1.0 + 3, (seconds, lines)
    assert f"step {steps}/{steps} (100%)" in lines[-1]
    assert sum("! alert overfitting" in line for line in out.splitlines()) == 1


def test_the_printer_holds_back_lines_within_a_second_and_keeps_the_last() -> None:
    printed: list[str] = []
    now = [0.0]
    printer = WatchPrinter(printed.append, every_s=1.0, clock=lambda: now[0])
    state = RunState().apply(StatusEvent(ts=START, status="running"))

    def metrics(first: int, last: int) -> tuple[RunEvent, ...]:
        return tuple(
            MetricEvent(ts=START + s, step=s, max_steps=100, values={"train_loss": 1.0 / s})
            for s in range(first, last + 1)
        )

    for batch, at in ((metrics(1, 5), 0.0), (metrics(6, 10), 0.3), (metrics(11, 12), 0.9)):
        now[0] = at
        state = state.apply_all(batch)
        printer.update(batch, state)
    assert len(printed) == 1 and "step 5/100" in printed[0]
    note: tuple[RunEvent, ...] = (LogEvent(ts=START + 12, message="evaluating"),)
    printer.update(note, state)  # other events are printed at once; no progress line with them
    assert printed[-1].endswith("evaluating") and len(printed) == 2
    now[0] = 1.2
    batch = metrics(13, 14)
    state = state.apply_all(batch)
    printer.update(batch, state)
    assert "step 14/100" in printed[-1] and "loss 0.07143" in printed[-1]
    assert len(printed) == 3
    batch = metrics(15, 15)
    printer.update(batch, state := state.apply_all(batch))
    assert len(printed) == 3  # held back: under a second since the last
    printer.flush()
    assert "step 15/100" in printed[-1]
    printer.flush()
    assert len(printed) == 4  # nothing more to flush
    assert "ETA" in printed[-1] and "steps/s" in printed[-1]
    alert = AlertEvent(ts=START + 16, kind="nan_loss", message="train_loss is nan", steps=(16,))
    printer.update((alert,), state)
    assert printed[-1].endswith("! alert nan_loss: train_loss is nan (step 16)")


def test_show_lists_the_alerts_and_json_has_them(store: RunStore, home: Path) -> None:
    run = store.create_run(backend="local", base_model="tiny-llama", config={})
    with EventWriter(run.events_path) as writer:
        write_run(writer, 200)
        writer.write({"ts": START + 100, "type": "alert", "kind": "stalled", "message": "quiet"})
    code, out = run_cli(home, "show", run.id)
    assert code == 0
    lines = out.splitlines()
    start = lines.index("Alerts")
    assert "! alert overfitting: valid_loss rose" in lines[start + 1]
    assert "— try: stop early" in lines[start + 1]
    assert lines[start + 2].endswith("! alert stalled: quiet")

    code, out = run_cli(home, "show", run.id, "--json")
    assert code == 0
    alerts = json.loads(out)["alerts"]
    assert alerts == [
        {
            "kind": "overfitting",
            "message": ALERT["message"],
            "steps": [40, 50, 60],
            "advice": ALERT["advice"],
            "ts": START + 10.0,
        },
        {"kind": "stalled", "message": "quiet", "steps": [], "advice": None, "ts": START + 100},
    ]


def test_show_json_of_a_run_without_alerts_has_an_empty_list(store: RunStore, home: Path) -> None:
    run = store.create_run(backend="local", base_model="tiny-llama", config={})
    code, out = run_cli(home, "show", run.id, "--json")
    assert code == 0 and json.loads(out)["alerts"] == []
    assert "Alerts" not in run_cli(home, "show", run.id)[1]
