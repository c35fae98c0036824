"""OpenAI's objects as run events: events, pages, job diffs, checkpoints, the result file; and
what the log and the reducer keep of them."""

from __future__ import annotations

import base64

import pytest

from ftui.core.runs.codec import event_record, parse_event
from ftui.core.runs.kinds import (
    ArtifactEvent,
    CheckpointEvent,
    LogEvent,
    MetricEvent,
    RemoteJobEvent,
    StatusEvent,
    UnknownEvent,
)
from ftui.core.runs.openai import (
    checkpoint_to_run_events,
    job_event_to_run_events,
    job_to_run_events,
    last_openai_event_id,
    result_csv_to_metric_events,
    unseen_events,
)
from ftui.core.runs.state import RunState


def _metrics_event(step: int, **data) -> dict:
    return {
        "object": "fine_tuning.job.event",
        "id": f"ftevent-{step}",
        "created_at": 1_700_000_000 + step,
        "level": "info",
        "message": f"Step {step}/10",
        "type": "metrics",
        "data": {"step": step, "total_steps": 10, **data},
    }


def test_a_metrics_event_is_a_metric_named_as_a_local_run_names_it() -> None:
    (event,) = job_event_to_run_events(
        _metrics_event(
            4,
            train_loss=1.5,
            valid_loss=1.7,
            full_valid_loss=1.6,
            train_mean_token_accuracy=0.6,
            valid_mean_token_accuracy="0.55",
            full_valid_mean_token_accuracy=None,
            learning_rate=None,
        )
    )
    assert isinstance(event, MetricEvent)
    assert (event.step, event.max_steps, event.ts) == (4, 10, 1_700_000_004.0)
    assert event.values == {
        "train_loss": 1.5,
        "valid_loss": 1.7,
        "full_valid_loss": 1.6,
        "train_mean_token_accuracy": 0.6,
        "valid_mean_token_accuracy": 0.55,
    }
    assert event.extra == {"openai_event_id": "ftevent-4"}


@pytest.mark.parametrize(
    ("level", "mapped"),
    [("info", "info"), ("warn", "warning"), ("error", "error"), ("shout", "info"), (None, "info")],
)
def test_a_message_event_is_a_log_line_with_its_level(level, mapped) -> None:
    raw = {
        "id": "ftevent-x",
        "created_at": 5,
        "level": level,
        "message": "Validating",
        "type": "message",
    }
    (event,) = job_event_to_run_events(raw)
    assert isinstance(event, LogEvent)
    assert (event.message, event.level, event.ts) == ("Validating", mapped, 5.0)
    assert event.extra["openai_event_id"] == "ftevent-x"


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"id": None, "message": None, "data": None},
        {"id": "e", "type": "metrics", "data": {"step": "not a number", "train_loss": 1}},
        {"id": "e", "type": "metrics", "data": "a string"},
        {"id": "e", "type": "a_new_kind", "created_at": "yesterday", "message": 42},
    ],
)
def test_odd_events_become_log_lines_never_exceptions(raw) -> None:
    events = job_event_to_run_events(raw)
    assert len(events) == 1 and isinstance(events[0], LogEvent)
    assert events[0].ts is None or isinstance(events[0].ts, float)
    assert job_event_to_run_events("not a mapping") == []  # type: ignore[arg-type]


def test_unseen_events_across_pages_oldest_first_none_lost_or_repeated() -> None:
    history = [{"id": f"e{i:03d}"} for i in range(1, 121)]  # oldest first
    newest_first = history[::-1]
    seen = "e047"
    batches, after = [], None
    while True:
        start = 0 if after is None else [e["id"] for e in newest_first].index(after) + 1
        page = newest_first[start : start + 50]
        fresh, reached = unseen_events(page, seen)
        batches.append(fresh)
        if reached or len(page) < 50:
            break
        after = page[-1]["id"]
    ordered = [e["id"] for batch in reversed(batches) for e in batch]
    assert ordered == [f"e{i:03d}" for i in range(48, 121)]
    assert reached


def test_unseen_events_edges() -> None:
    page = [{"id": "c"}, {"id": "b"}, {"id": "a"}]
    assert unseen_events(page, None) == (page[::-1], False)
    assert unseen_events(page, "c") == ([], True)
    assert unseen_events(page, "a") == ([{"id": "b"}, {"id": "c"}], True)
    assert unseen_events([], "a") == ([], False)
    assert unseen_events([{"no": "id"}, "junk", {"id": "a"}], "a") == ([{"no": "id"}], True)  # type: ignore[list-item]


def test_last_openai_event_id_reads_the_log() -> None:
    events = [
        LogEvent(message="local"),
        *job_event_to_run_events(_metrics_event(1)),
        StatusEvent(status="running"),
        *job_event_to_run_events(_metrics_event(2)),
    ]
    assert last_openai_event_id(events) == "ftevent-2"
    assert last_openai_event_id([LogEvent(message="x")]) is None


def _job(status: str, **fields) -> dict:
    return {"id": "ftjob-1", "status": status, **fields}


def test_job_diffs_status_model_and_remote_fields() -> None:
    first = job_to_run_events(_job("validating_files"), None, now=10.0)
    assert [type(e) for e in first] == [RemoteJobEvent, StatusEvent]
    assert first[-1].status == "validating_files" and first[-1].ts == 10.0
    assert job_to_run_events(_job("validating_files"), _job("validating_files")) == []
    running = _job("running", estimated_finish=2000)
    (remote, status) = job_to_run_events(running, _job("queued"))
    assert remote.estimated_finish == 2000.0 and remote.remote_status == "running"
    assert status.status == "running"
    # The estimate moving alone is one remote event; the estimate disappearing is no change.
    (moved,) = job_to_run_events(_job("running", estimated_finish=2100), running)
    assert isinstance(moved, RemoteJobEvent) and moved.estimated_finish == 2100.0
    assert job_to_run_events(_job("running", estimated_finish=None), running) == []
    done = _job(
        "succeeded", fine_tuned_model="ft:m:org:s:abc", trained_tokens=1234, finished_at=3000
    )
    events = job_to_run_events(done, running, now=99.0)
    assert [type(e) for e in events] == [ArtifactEvent, RemoteJobEvent, StatusEvent]
    assert events[0].kind == "model_id" and events[0].model_id == "ft:m:org:s:abc"
    assert events[1].trained_tokens == 1234
    assert events[2].status == "succeeded" and events[2].ts == 3000.0


def test_a_failed_job_carries_openais_code_and_message() -> None:
    failed = _job(
        "failed", error={"code": "invalid_training_file", "message": "line 3", "param": None}
    )
    assert job_to_run_events(failed, _job("validating_files"))[-1].error == (
        "invalid_training_file: line 3"
    )
    only_message = _job("failed", error={"code": None, "message": "it broke"})
    assert job_to_run_events(only_message, None)[-1].error == "it broke"


def test_unknown_statuses_are_kept_verbatim_and_never_terminal() -> None:
    events = job_to_run_events(_job("paused"), _job("running"))
    assert events[-1].status == "paused"
    state = RunState().apply_all(events)
    assert state.status == "paused" and not state.is_terminal
    odd = job_to_run_events(_job("rebalancing_gpus"), _job("paused"))
    assert RunState().apply_all(odd).status == "rebalancing_gpus"
    assert not RunState().apply_all(odd).is_terminal


@pytest.mark.parametrize("job", [{}, {"status": None}, {"id": None, "status": 3}, "junk"])
def test_odd_jobs_give_fewer_events_not_exceptions(job) -> None:
    events = job_to_run_events(job, None)  # type: ignore[arg-type]
    assert all(isinstance(e, StatusEvent | RemoteJobEvent) for e in events)


def test_a_checkpoint_is_its_step_model_name_and_metrics() -> None:
    (event,) = checkpoint_to_run_events(
        {
            "id": "ftckpt-9",
            "created_at": 77,
            "step_number": 20,
            "fine_tuned_model_checkpoint": "ft:m:org::abc:ckpt-step-20",
            "metrics": {"step": 20, "train_loss": 0.8, "valid_loss": None, "full_valid_loss": 0.9},
        }
    )
    assert isinstance(event, CheckpointEvent)
    assert (event.step, event.path, event.model_id) == (
        20,
        "ft:m:org::abc:ckpt-step-20",
        "ft:m:org::abc:ckpt-step-20",
    )
    assert event.metrics == {"train_loss": 0.8, "full_valid_loss": 0.9}
    assert event.extra == {"openai_checkpoint_id": "ftckpt-9"}
    (bare,) = checkpoint_to_run_events({"metrics": None})
    assert bare.step is None and bare.path == "" and bare.extra == {}


CSV = (
    "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n"
    "1,2.0,0.5,,\n"
    "2,1.5,0.6,1.7,0.55\n"
    "3,1.2,0.7\n"  # ragged: fewer cells
    "4,1.0,0.75,1.1,0.7,999\n"  # ragged: more cells
    "x,1,1,1,1\n"
    "5,,,,\n"
)


@pytest.mark.parametrize(
    "encode",
    [
        str,
        str.encode,
        lambda s: base64.b64encode(s.encode()),
        lambda s: base64.encodebytes(s.encode()).decode(),
    ],
)
def test_the_result_file_plain_or_base64_with_empty_and_ragged_cells(encode) -> None:
    events = result_csv_to_metric_events(encode(CSV))
    assert [e.step for e in events] == [1, 2, 3, 4]
    assert events[0].values == {"train_loss": 2.0, "train_mean_token_accuracy": 0.5}
    assert events[1].values == {
        "train_loss": 1.5,
        "train_mean_token_accuracy": 0.6,
        "valid_loss": 1.7,
        "valid_mean_token_accuracy": 0.55,
    }
    assert events[2].values == {"train_loss": 1.2, "train_mean_token_accuracy": 0.7}
    assert events[3].values["valid_mean_token_accuracy"] == 0.7
    assert all(e.max_steps == 4 for e in events)


@pytest.mark.parametrize(
    "content", ["", b"", "\n\n", "loss,acc\n1,2\n", "not base64 at all!", b"\xff\xfe\x00", "step\n"]
)
def test_an_unusable_result_file_gives_no_metrics(content) -> None:
    assert result_csv_to_metric_events(content) == []


def test_a_header_with_other_columns_is_read_by_name() -> None:
    events = result_csv_to_metric_events("\ufefftrain_loss, step ,full_valid_loss\n0.5,7,0.6\n")
    assert [(e.step, dict(e.values)) for e in events] == [
        (7, {"train_loss": 0.5, "full_valid_loss": 0.6})
    ]


def test_remote_fields_survive_the_log_and_the_reducer() -> None:
    event = RemoteJobEvent(
        ts=1.0,
        job_id="ftjob-1",
        remote_status="running",
        estimated_finish=2000.0,
        trained_tokens=555,
    )
    assert parse_event(event_record(event)) == event
    state = RunState().apply(event).apply(RemoteJobEvent(job_id="ftjob-1", remote_status="running"))
    assert (state.estimated_finish, state.trained_tokens) == (2000.0, 555)  # kept when unreported


def test_old_remote_job_lines_still_parse_and_unknown_fields_pass_through() -> None:
    old = {"v": 1, "ts": 1.0, "type": "remote_job", "job_id": "ftjob-1", "remote_status": "queued"}
    event = parse_event(old)
    assert isinstance(event, RemoteJobEvent) and event.trained_tokens is None
    assert event_record(event) == old
    newer = {**old, "trained_tokens": "many", "gpu_hours": 3}
    event = parse_event(newer)
    assert isinstance(event, RemoteJobEvent) and event.trained_tokens is None
    assert event_record(event)["gpu_hours"] == 3
    assert isinstance(parse_event({"type": "remote_job", "trained_tokens": 3}), UnknownEvent)


def test_checkpoint_model_and_metrics_survive_the_log() -> None:
    (event,) = checkpoint_to_run_events(
        {
            "id": "c1",
            "step_number": 3,
            "created_at": 1,
            "fine_tuned_model_checkpoint": "ft:x",
            "metrics": {"train_loss": 1},
        }
    )
    record = event_record(event)
    assert record["model_id"] == "ft:x" and record["metrics"] == {"train_loss": 1.0}
    assert parse_event(record) == event
    old = parse_event({"v": 1, "ts": 1.0, "type": "checkpoint", "step": 2, "path": "ckpt/2"})
    assert isinstance(old, CheckpointEvent) and old.model_id is None and not old.metrics


def _statuses(*names: str) -> str:
    return RunState().apply_all(StatusEvent(status=name) for name in names).status


def test_a_job_paused_while_queued_is_queued_again_when_resumed() -> None:
    assert _statuses("validating_files", "queued", "paused", "queued") == "queued"
    assert _statuses("queued", "paused", "validating_files") == "validating_files"
    assert _statuses("queued", "paused", "queued", "running") == "running"


def test_a_late_launcher_queued_after_running_is_still_ignored() -> None:
    assert _statuses("created", "running", "queued") == "running"
    assert _statuses("running", "paused", "running", "queued") == "running"


def test_a_job_as_the_log_recorded_it_yields_nothing_new() -> None:
    # What a restarted follower (from the run's state) and the backend (from the store's run)
    # diff against: the same job seen again writes nothing twice.
    from ftui.core.runs.openai import recorded_job

    job = {
        "id": "ftjob-1",
        "status": "running",
        "fine_tuned_model": None,
        "trained_tokens": 1200,
        "estimated_finish": 1_800_000_000,
    }
    assert recorded_job("ftjob-1", RunState()) is None
    state = RunState().apply_all(job_to_run_events(job, None, now=1.0))
    assert recorded_job("ftjob-1", state) == job
    assert job_to_run_events(job, recorded_job("ftjob-1", state), now=2.0) == []
