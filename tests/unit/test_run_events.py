"""Typed run events: the codec's round trip, old and newer logs, and the one reducer."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields
from pathlib import Path

import orjson
import pytest

from ftui.core.runs.codec import (
    SCHEMA_VERSION,
    decode_event,
    encode_event,
    event_record,
    new_metric_event,
)
from ftui.core.runs.describe import DATE_AND_TIME, describe_event
from ftui.core.runs.events import EventWriter, make_event, parse_event
from ftui.core.runs.kinds import (
    AlertEvent,
    ArtifactEvent,
    CheckpointEvent,
    LogEvent,
    MetricEvent,
    RemoteJobEvent,
    StatusEvent,
    UnknownEvent,
)
from ftui.core.runs.state import LOG_TAIL_LINES, MetricPoint, RunState
from ftui.services.eventlog import read_events

ONE_OF_EACH = [
    StatusEvent(ts=1.0, status="running", message="started"),
    LogEvent(ts=2.0, message="Loading the model", level="info"),
    MetricEvent(ts=3.0, step=1, values={"train_loss": 2.5}, max_steps=10, epoch=0.1),
    CheckpointEvent(ts=4.0, step=1, path="checkpoints/checkpoint-1"),
    ArtifactEvent(ts=5.0, kind="adapter", path="adapter"),
    ArtifactEvent(ts=5.5, kind="model_id", model_id="ft:gpt-4o-mini:acme::x1"),
    AlertEvent(
        ts=6.0, kind="eval_gap", message="valid loss pulls away", steps=(4, 8), advice="Stop."
    ),
    RemoteJobEvent(ts=7.0, job_id="ftjob-abc", remote_status="validating_files"),
    StatusEvent(ts=8.0, status="failed", error="disk full"),
]


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: e.type)
def test_every_kind_survives_serialise_then_parse(event) -> None:
    line = encode_event(event)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert orjson.loads(line)["v"] == SCHEMA_VERSION
    assert decode_event(line) == event


def test_the_fast_metric_constructor_builds_the_same_event() -> None:
    fast = new_metric_event(1.0, 3, {"train_loss": 2.0}, 10, 0.5)
    slow = MetricEvent(ts=1.0, step=3, values={"train_loss": 2.0}, max_steps=10, epoch=0.5)
    assert fast == slow and vars(fast) == vars(slow)
    assert set(vars(fast)) == {field.name for field in fields(MetricEvent)}
    with pytest.raises(FrozenInstanceError):
        fast.step = 4  # type: ignore[misc]


def test_unknown_kinds_and_fields_pass_through_untouched() -> None:
    newer = {"v": 2, "ts": 9.0, "type": "gpu_sample", "util": [0.9, 0.8], "host": "h"}
    event = parse_event(newer)
    assert isinstance(event, UnknownEvent) and event.type == "gpu_sample"
    assert event_record(event) == newer
    metric = {"v": 2, "ts": 1.0, "type": "metric", "step": 3, "values": {"x": 1.0}, "rank": 0}
    parsed = parse_event(metric)
    assert isinstance(parsed, MetricEvent) and parsed.extra == {"rank": 0, "v": 2}
    assert event_record(parsed) == metric
    assert RunState().apply(event) == RunState(events=1)  # nothing but the count


def test_a_known_kind_with_unusable_fields_is_kept_not_guessed() -> None:
    for record in (
        {"ts": 1.0, "type": "metric", "step": "three", "values": {"x": 1.0}},
        {"ts": 1.0, "type": "metric", "step": 3, "values": [1.0]},
        {"ts": 1.0, "type": "status"},
        {"ts": 1.0, "type": "alert", "message": "no kind"},
    ):
        event = parse_event(record)
        assert isinstance(event, UnknownEvent) and event_record(event) == record


def test_old_logs_without_a_version_read_as_before(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    old_lines = [
        {"ts": 1.0, "type": "status", "status": "running"},
        {"ts": 2.0, "type": "metric", "step": 1, "values": {"train_loss": 3.0, "note": "x"}},
        {"ts": 3.0, "type": "log", "message": "hello"},
        {"ts": 4.0, "type": "status", "status": "succeeded"},
    ]
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in old_lines) + b"{broken\n")
    records, _ = read_events(path)  # the broken line is skipped, not fatal
    events = [parse_event(record) for record in records]
    assert [event.type for event in events] == ["status", "metric", "log", "status"]
    assert events[1] == MetricEvent(ts=2.0, step=1, values={"train_loss": 3.0})
    assert events[2] == LogEvent(ts=3.0, message="hello", level="info")
    state = RunState().apply_all(events)
    assert (state.status, state.started_at, state.finished_at) == ("succeeded", 1.0, 4.0)


def test_the_writer_writes_typed_versioned_events(tmp_path: Path) -> None:
    path = tmp_path / "run" / "events.jsonl"
    with EventWriter(path) as writer:
        writer.status("running")
        writer.metric(2, {"train_loss": 1.0}, max_steps=4)
        writer.emit("checkpoint", step=2, path="checkpoints/checkpoint-2")
        writer.write({"ts": 5.0, "type": "log", "message": "as given"})  # a raw line stays raw
    records, _ = read_events(path)
    assert [record.get("v") for record in records] == [1, 1, 1, None]
    with pytest.raises(ValueError, match="unknown event type"):
        make_event("gossip", message="x")
    with pytest.raises(ValueError, match="do not make a 'metric' event"):
        make_event("metric", step="x", values={})


def test_the_reducer_folds_every_kind() -> None:
    state = RunState().apply_all(ONE_OF_EACH)
    assert state.status == "failed" and state.error == "disk full"
    assert (state.started_at, state.finished_at) == (1.0, 8.0)
    assert (state.step, state.max_steps, state.epoch) == (1, 10, 0.1)
    assert state.last_metrics == {"train_loss": 2.5}
    assert [c.path for c in state.checkpoints] == ["checkpoints/checkpoint-1"]
    assert state.adapter_path == "adapter" and state.output_model == "ft:gpt-4o-mini:acme::x1"
    assert [a.kind for a in state.alerts] == ["eval_gap"]
    assert (state.remote_job_id, state.remote_status) == ("ftjob-abc", "validating_files")
    assert state.log_tail == ("Loading the model",)
    assert state.events == len(ONE_OF_EACH) and state.is_terminal


def test_apply_one_by_one_equals_apply_all_and_is_pure() -> None:
    start = RunState()
    one_by_one = start
    for event in ONE_OF_EACH:
        one_by_one = one_by_one.apply(event)
    assert one_by_one == start.apply_all(ONE_OF_EACH)
    assert start == RunState()  # the reducer never changes the state it was given


def test_best_metrics_know_which_way_is_better() -> None:
    values = [(1, 3.0, 0.2), (2, 2.0, 0.5), (3, 2.5, 0.4)]
    events = [
        MetricEvent(
            ts=float(step),
            step=step,
            values={"valid_loss": loss, "valid_mean_token_accuracy": acc, "learning_rate": 1e-4},
        )
        for step, loss, acc in values
    ]
    state = RunState().apply_all(events)
    assert state.best_metrics["valid_loss"] == MetricPoint(2, 2.0)
    assert state.best_metrics["valid_mean_token_accuracy"] == MetricPoint(2, 0.5)
    assert "learning_rate" not in state.best_metrics
    assert state.last_metrics["valid_loss"] == 2.5


def test_status_ordering_rules() -> None:
    running = RunState().apply(StatusEvent(ts=2.0, status="running"))
    assert running.apply(StatusEvent(ts=3.0, status="queued")).status == "running"  # late launcher
    done = running.apply(StatusEvent(ts=4.0, status="cancelled"))
    resumed = done.apply(StatusEvent(ts=5.0, status="queued", message="resumed"))
    assert resumed.status == "queued" and resumed.finished_at is None
    failed = RunState().apply(StatusEvent(ts=6.0, status="failed", message="out of memory"))
    assert failed.error == "out of memory" and failed.started_at == 6.0


def test_the_log_tail_is_a_ring_of_the_last_lines() -> None:
    events = [LogEvent(ts=float(i), message=f"line {i}\n") for i in range(LOG_TAIL_LINES + 5)]
    tail = RunState().apply_all(events).log_tail
    assert len(tail) == LOG_TAIL_LINES and tail[-1] == f"line {LOG_TAIL_LINES + 4}"


def test_one_line_per_event() -> None:
    lines = [describe_event(event) for event in ONE_OF_EACH]
    assert lines[0].endswith("status  -> running: started")
    assert "step 1/10" in lines[2] and "train_loss 2.5" in lines[2]
    assert lines[3].endswith("checkpoint at step 1: checkpoints/checkpoint-1")
    assert lines[5].endswith("artifact model_id: ft:gpt-4o-mini:acme::x1")
    assert lines[6].endswith("alert   eval_gap: valid loss pulls away (steps 4-8). Stop.")
    assert lines[7].endswith("job     ftjob-abc validating_files")
    assert lines[8].endswith("status  -> failed: disk full")
    assert all("\n" not in line for line in lines)
    unknown = parse_event({"type": "gpu_sample"})
    assert describe_event(unknown) == "-  gpu_sample"
    assert describe_event(ONE_OF_EACH[0], DATE_AND_TIME)[:4].isdigit()
