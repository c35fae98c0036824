"""Progress and ETA from a run's events: the recent rate, not the average; None when unknowable."""

from __future__ import annotations

import sys
import time
import tracemalloc

import pytest

import ftui.core.runs.progress as progress_module
from ftui.core.runs.kinds import MetricEvent, RemoteJobEvent, RunEvent, StatusEvent
from ftui.core.runs.progress import (
    Progress,
    ProgressTracker,
    format_duration,
    format_progress,
    progress_line,
)
from ftui.core.runs.state import RunState

START = 1_000.0


def metric(step: int, ts: float, max_steps: int | None = 400, **values: float) -> MetricEvent:
    return MetricEvent(
        ts=ts, step=step, max_steps=max_steps, values=values or {"train_loss": 2.0}, epoch=None
    )


def running() -> list[RunEvent]:
    return [StatusEvent(ts=START, status="running")]


def fold(
    events: list[RunEvent], tracker: ProgressTracker | None = None
) -> tuple[ProgressTracker, RunState]:
    tracker = tracker or ProgressTracker()
    tracker.feed(events)
    return tracker, RunState().apply_all(events)


def test_the_eta_shrinks_as_steps_come_at_a_steady_rate() -> None:
    events = running() + [metric(step, START + step * 0.5) for step in range(1, 11)]
    tracker, state = fold(events)
    early = tracker.snapshot(state, now=START + 5.0)
    assert early.steps_per_s == pytest.approx(2.0)
    assert early.eta_s == pytest.approx((400 - 10) / 2.0)
    assert early.fraction == pytest.approx(10 / 400)
    assert early.elapsed_s == pytest.approx(5.0)

    more = [metric(step, START + step * 0.5) for step in range(11, 101)]
    tracker.feed(more)
    state = state.apply_all(more)
    later = tracker.snapshot(state, now=START + 50.0)
    assert later.eta_s == pytest.approx((400 - 100) / 2.0)
    assert later.eta_s < early.eta_s
    # Between two metric lines the ETA keeps counting down from the last step seen...
    assert tracker.snapshot(state, now=START + 50.25).eta_s == pytest.approx(150.0 - 0.25)
    # ...by one step's time at most: a run gone quiet is late, its ETA does not run down to 0.
    assert tracker.snapshot(state, now=START + 60.0).eta_s == pytest.approx(150.0 - 0.5)
    assert tracker.snapshot(state, now=START + 600.0).eta_s == pytest.approx(150.0 - 0.5)


def test_a_run_that_slows_down_gets_the_longer_eta_of_its_recent_rate() -> None:
    # 200 steps at 10 steps/s, then 20 steps at 1 step/s: the average since the start is
    # 220 / 40 s = 5.5 steps/s; the recent rate is 1 step/s.
    fast = [metric(step, START + step * 0.1) for step in range(1, 201)]
    slow = [metric(200 + k, START + 20.0 + k * 1.0) for k in range(1, 61)]
    tracker, state = fold(running() + fast + slow)
    now = START + 80.0
    progress = tracker.snapshot(state, now=now)
    assert progress.steps_per_s == pytest.approx(1.0)
    assert progress.eta_s == pytest.approx(400 - 260)
    average_eta = (400 - 260) / (260 / 80.0)
    assert progress.eta_s > 3 * average_eta


def test_a_pause_and_a_resume_from_an_earlier_step_restart_the_rate() -> None:
    tracker, state = fold(running() + [metric(s, START + s) for s in range(1, 6)])
    assert tracker.snapshot(state, START + 5).steps_per_s == pytest.approx(1.0)
    paused: list[RunEvent] = [StatusEvent(ts=START + 6, status="paused")]
    tracker.feed(paused)
    state = state.apply_all(paused)
    assert len(tracker) == 0
    assert tracker.snapshot(state, START + 7).eta_s is None
    # Resumed an hour later from the checkpoint at step 3: the hour is not training time.
    back: list[RunEvent] = [StatusEvent(ts=START + 3600, status="running")]
    back += [metric(s, START + 3600 + (s - 3) * 0.25) for s in range(3, 8)]
    tracker.feed(back)
    state = state.apply_all(back)
    assert tracker.snapshot(state, START + 3601).steps_per_s == pytest.approx(4.0)


def test_unknown_fields_are_none_and_a_finished_run_has_no_eta() -> None:
    empty = ProgressTracker().snapshot(RunState(), now=START)
    assert empty == Progress()
    assert format_progress(empty) == ""

    # No max_steps: a rate but no fraction and no ETA.
    tracker, state = fold(running() + [metric(s, START + s, max_steps=None) for s in (1, 2, 3)])
    progress = tracker.snapshot(state, START + 3)
    assert progress.steps_per_s == pytest.approx(1.0)
    assert progress.max_steps is None and progress.fraction is None and progress.eta_s is None
    assert progress.tokens_per_s is None and progress.epoch is None

    # One sample: no rate yet, so no ETA.
    tracker, state = fold([*running(), metric(1, START + 1)])
    assert tracker.snapshot(state, START + 2).steps_per_s is None
    assert tracker.snapshot(state, START + 2).eta_s is None

    done: list[RunEvent] = running() + [metric(s, START + s, max_steps=4) for s in range(1, 5)]
    done.append(StatusEvent(ts=START + 10, status="succeeded"))
    tracker, state = fold(done)
    final = tracker.snapshot(state, now=START + 999)
    assert final.finished and final.eta_s is None
    assert final.elapsed_s == pytest.approx(10.0)  # to the end, not to now
    assert final.fraction == 1.0


def test_the_remote_estimate_wins_for_an_openai_run_and_tokens_come_from_trained_tokens() -> None:
    events: list[RunEvent] = running()
    for k in range(1, 4):
        events.append(RemoteJobEvent(ts=START + k * 10, job_id="ftjob-1", trained_tokens=k * 1000))
        events.append(metric(k * 5, START + k * 10, max_steps=100))
    events.append(RemoteJobEvent(ts=START + 31, job_id="ftjob-1", estimated_finish=START + 300))
    tracker, state = fold(events)
    progress = tracker.snapshot(state, now=START + 100)
    assert progress.eta_s == pytest.approx(200.0)
    assert progress.steps_per_s == pytest.approx(0.5)
    assert progress.tokens_per_s == pytest.approx(100.0)
    assert "ETA 3m20s" in format_progress(progress)


def test_the_latest_tokens_per_second_metric_is_the_token_rate_until_there_is_a_window() -> None:
    tracker, state = fold([*running(), metric(1, START + 1, tokens_per_second=800.0)])
    assert tracker.snapshot(state, START + 1).tokens_per_s == pytest.approx(800.0)


def test_a_local_runs_token_rate_is_over_the_recent_window_not_the_last_batch() -> None:
    """Length-grouped batches read 400 or 4,000 tokens a step, and a step after an evaluation
    took 5 s instead of 1: the rate shown is what the recent steps read over their time."""
    events: list[RunEvent] = running()
    ts = START
    read = 0.0
    for step in range(1, 21):
        seconds = 5.0 if step == 10 else 1.0
        tokens = 400.0 if step % 2 else 4000.0
        ts += seconds
        if step > 1:
            read += tokens
        events.append(metric(step, ts, tokens_per_second=tokens / seconds))
    tracker, state = fold(events)
    progress = tracker.snapshot(state, ts)
    assert events[-1].values["tokens_per_second"] == 4000.0  # the last batch alone
    assert progress.tokens_per_s == pytest.approx(read / (ts - (START + 1)))
    assert 1000 < progress.tokens_per_s < 2200


def test_the_line_reads_as_documented() -> None:
    events: list[RunEvent] = running()
    events += [
        MetricEvent(ts=START + 130 - (120 - s) / 3.1, step=s, max_steps=400, epoch=0.9,
                    values={"train_loss": 1.2344, "tokens_per_second": 850.0})
        for s in range(100, 121)
    ]  # fmt: skip
    events.append(MetricEvent(ts=START + 130, step=120, values={"valid_loss": 1.4561}))
    tracker, state = fold(events)
    progress = tracker.snapshot(state, now=START + 130)
    assert format_progress(progress) == (
        "step 120/400 (30%) · epoch 0.90 · 2m10s · ETA 1m30s · 3.1 steps/s · 850 tok/s"
    )
    assert progress_line(progress, state).endswith("· 850 tok/s · loss 1.234 · eval 1.456")


def test_durations_and_slow_rates_read_well() -> None:
    assert [format_duration(s) for s in (None, 4.4, 302, 3 * 3600 + 420, 53 * 3600)] == [
        "-", "4s", "5m02s", "3h07m", "2d05h",
    ]  # fmt: skip
    tracker, state = fold([*running(), metric(1, START), metric(2, START + 40)])
    assert "40 s/step" in format_progress(tracker.snapshot(state, START + 40))


def test_bad_windows_are_refused_with_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="at least 2 samples"):
        ProgressTracker(window=1)
    with pytest.raises(ValueError, match="window_s must be positive"):
        ProgressTracker(window_s=0)


def test_ten_thousand_events_are_fed_fast_in_bounded_memory() -> None:
    events = [metric(step, START + step * 0.01) for step in range(1, 10_001)]
    tracker = ProgressTracker()
    # Only what the tracker's own module keeps counts: other threads of the test process
    # (a follow left by an earlier test) allocate too.
    mine = [tracemalloc.Filter(True, progress_module.__file__)]

    def held() -> int:
        return sum(
            s.size for s in tracemalloc.take_snapshot().filter_traces(mine).statistics("filename")
        )

    tracemalloc.start()
    began = time.perf_counter()
    tracker.feed(events[:1_000])
    after_first = held()
    tracker.feed(events[1_000:])
    seconds = time.perf_counter() - began
    after_all = held()
    tracemalloc.stop()
    assert seconds < 1.0, f"10,000 events took {seconds:.3f} s"
    assert len(tracker) <= 64
    assert after_all - after_first < 16 * 1024, "memory grew with the number of events"
    assert sys.getsizeof(tracker._samples) < 8 * 1024
