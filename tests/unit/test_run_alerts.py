"""The alert detector: each kind on a crafted run, silence on healthy ones, no duplicates."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterable

import pytest

from ftui.core.runs.alerts import AlertDetector, AlertRules, process_died_alert
from ftui.core.runs.codec import decode_event, encode_event
from ftui.core.runs.kinds import AlertEvent, LogEvent, MetricEvent, RemoteJobEvent, RunEvent


def train(step: int, loss: float, ts: float | None = None) -> MetricEvent:
    return MetricEvent(ts=float(step) if ts is None else ts, step=step, values={"train_loss": loss})


def evaluation(step: int, loss: float) -> MetricEvent:
    return MetricEvent(ts=float(step), step=step, values={"valid_loss": loss})


def sft_curve(
    steps: int = 600, eval_every: int = 25, seed: int = 0, *, overfit_from: int | None = None
) -> list[MetricEvent]:
    """Shaped like a real SFT run's log: a train loss that falls fast then flattens, with the
    batch-to-batch noise of small batches, and a smoother validation loss slightly above it
    (evaluated on a fixed set). From `overfit_from` on, the validation loss climbs."""
    rng = random.Random(seed)
    events: list[MetricEvent] = []
    for step in range(1, steps + 1):
        clean = 0.55 + 1.9 * math.exp(-step / 60)
        events.append(train(step, clean * (1 + rng.gauss(0, 0.08))))
        if step % eval_every == 0:
            valid = 0.68 + 1.8 * math.exp(-step / 70)
            if overfit_from is not None and step > overfit_from:
                valid += 0.004 * (step - overfit_from)
            events.append(evaluation(step, valid * (1 + rng.gauss(0, 0.004))))
    return events


def kinds(alerts: Iterable[AlertEvent]) -> list[str]:
    return [alert.kind for alert in alerts]


def overfitting_run() -> list[RunEvent]:
    """Train loss falls 2.0 -> 0.6 over 100 steps; valid_loss bottoms at step 20, then rises."""
    events: list[RunEvent] = []
    valid = {20: 1.10, 40: 1.21, 60: 1.34, 80: 1.52, 100: 1.70}
    for step in range(1, 101):
        events.append(train(step, 2.0 - 1.4 * step / 100))
        if step in valid:
            events.append(evaluation(step, valid[step]))
    return events


# -- each kind ----------------------------------------------------------------------------------


def test_overfitting_fires_at_the_third_rise_with_the_numbers_and_once() -> None:
    # A wide gap would fire too: keep the validation loss near the train loss.
    events: list[RunEvent] = []
    valid = {20: 1.00, 40: 0.95, 60: 0.99, 80: 1.03, 100: 1.08, 120: 1.12}
    for step in range(1, 121):
        events.append(train(step, 1.2 - 0.4 * step / 120))
        if step in valid:
            events.append(evaluation(step, valid[step]))
    detector = AlertDetector()
    alerts = detector.feed(events[:-1])  # up to the train point at step 120
    (alert,) = alerts
    assert alert.kind == "overfitting"
    assert alert.steps == (40, 60, 80, 100) and alert.ts == 100.0
    assert "rose 3 evaluations in a row (0.950 → 0.990 → 1.030 → 1.080" in alert.message
    assert "at steps 40, 60, 80, 100" in alert.message
    assert "train loss fell to" in alert.message
    assert alert.advice and "early stopping" in alert.advice and "step 40" in alert.advice
    assert detector.feed(events[-1:]) == []  # still rising: the same episode


def test_overfitting_needs_the_train_loss_falling() -> None:
    events: list[RunEvent] = []
    for n, step in enumerate(range(20, 120, 20)):
        events += [train(step - 1, 1.0), train(step, 1.0), evaluation(step, 1.0 + 0.05 * n)]
    assert "overfitting" not in kinds(AlertDetector().feed(events))


def test_overfitting_rearms_once_the_valid_loss_is_back_down() -> None:
    detector = AlertDetector(AlertRules(gap_ratio=10))
    events: list[RunEvent] = []
    values = [1.0, 1.1, 1.2, 1.3, 0.9, 1.0, 1.1, 1.2]
    for n, value in enumerate(values):
        step = 10 * (n + 1)
        events += [train(step - 5, 2.0 - 0.1 * n), train(step, 1.9 - 0.1 * n)]
        events.append(evaluation(step, value))
    alerts = detector.feed(events)
    assert kinds(alerts) == ["overfitting", "overfitting"]
    assert [a.steps[-1] for a in alerts] == [40, 80]


def test_eval_gap_waits_for_the_warm_up_then_fires_once_per_episode() -> None:
    events: list[RunEvent] = []
    # The first evaluation is wide (noise), the later ones wide for real, then closing, then wide.
    valid = {10: 3.0, 20: 1.0, 30: 1.7, 40: 1.8, 50: 1.2, 60: 1.9}
    for step in range(1, 61):
        events.append(train(step, 1.0 if step > 10 else 1.5))
        if step in valid:
            events.append(evaluation(step, valid[step]))
    alerts = AlertDetector().feed(events)
    assert kinds(alerts) == ["eval_gap", "eval_gap"]
    first = alerts[0]
    assert first.steps == (30,)
    assert first.message.startswith("valid_loss 1.700 is 1.7x the train loss around step 30")
    assert "mean of 10 points" in first.message
    assert first.advice and "validation set" in first.advice
    assert alerts[1].steps == (60,)


@pytest.mark.parametrize("name", ["train_loss", "valid_loss"])
def test_nan_loss_fires_on_the_first_non_finite_value(name: str) -> None:
    events: list[RunEvent] = [train(1, 2.0), train(2, 1.8), evaluation(2, 1.9)]
    events += [MetricEvent(ts=3.0, step=3, values={name: math.nan})]
    events += [MetricEvent(ts=4.0, step=4, values={name: math.inf})]  # the same episode
    (alert,) = AlertDetector().feed(events)
    assert alert.kind == "nan_loss" and alert.steps == (3,)
    assert alert.message.startswith(f"{name} is nan at step 3 (last finite value")
    assert alert.advice and "learning rate" in alert.advice


def test_a_nan_loss_does_not_break_the_other_rules() -> None:
    detector = AlertDetector()
    detector.feed([train(1, 2.0), MetricEvent(ts=2.0, step=2, values={"train_loss": math.nan})])
    assert detector.feed([train(s, 2.0 - s / 100) for s in range(3, 50)]) == []


def test_diverging_needs_a_sustained_rise_not_one_spike() -> None:
    events: list[RunEvent] = [train(step, 3.0 - step * 0.05) for step in range(1, 41)]  # to 1.0
    events += [train(41, 9.0), train(42, 1.0), train(43, 1.0)]  # one spike
    events += [train(44, 3.5), train(45, 4.0), train(46, 4.5), train(47, 5.0)]
    (alert,) = AlertDetector().feed(events)
    assert alert.kind == "diverging" and alert.steps == (44, 45, 46)
    assert "train_loss climbed to 4.500 at step 46, 4.5x its best (1.000 at step 40)" in (
        alert.message
    )
    assert "above its first value (2.950)" in alert.message
    assert alert.advice and "learning rate" in alert.advice


def test_stalled_fires_once_per_quiet_spell_and_only_while_running() -> None:
    detector = AlertDetector(AlertRules(stall_after_s=600))
    detector.feed([train(1, 2.0, ts=1000.0), train(2, 1.9, ts=1010.0)])
    assert detector.check_stalled(1500.0, running=True) is None
    assert detector.check_stalled(1700.0, running=False) is None
    alert = detector.check_stalled(1700.0, running=True)
    assert alert is not None and alert.kind == "stalled" and alert.steps == (2,)
    assert alert.message == "no progress for 11 min 30 s (since step 2; the bar is 10 min)"
    assert alert.advice and "dataloader" in alert.advice
    assert detector.check_stalled(2500.0, running=True) is None  # the same spell
    detector.feed([RemoteJobEvent(ts=2600.0, job_id="ftjob-1", estimated_finish=9e9)])
    assert detector.check_stalled(2700.0, running=True) is None  # bookkeeping is not progress
    detector.feed([LogEvent(ts=2800.0, message="step 3")])
    assert detector.check_stalled(3300.0, running=True) is None
    again = detector.check_stalled(3500.0, running=True)
    assert again is not None and again.ts == 3500.0


def test_mark_activity_rearms_stalled() -> None:
    detector = AlertDetector(AlertRules(stall_after_s=5))
    detector.mark_activity(100.0, step=7)
    assert detector.check_stalled(106.0, running=True) is not None
    detector.mark_activity(107.0, step=8)
    assert detector.check_stalled(110.0, running=True) is None
    alert = detector.check_stalled(113.0, running=True)
    assert alert is not None and alert.steps == (8,)


def test_process_died_alert_quotes_the_last_line_and_advises_by_cause() -> None:
    oom = process_died_alert(["step 3/10 loss 2.1", "CUDA out of memory. Tried 2 GiB"], 3, 5.0)
    assert oom.kind == "process_died" and oom.steps == (3,) and oom.ts == 5.0
    assert "at step 3" in oom.message and "CUDA out of memory. Tried 2 GiB" in oom.message
    assert oom.advice and "batch_size" in oom.advice
    killed = process_died_alert([], None)
    assert killed.steps == () and "train.log is empty" in killed.message
    assert killed.advice and "dmesg" in killed.advice


# -- silence on healthy runs --------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_a_healthy_sft_curve_with_noise_raises_nothing(seed: int) -> None:
    assert AlertDetector().feed(sft_curve(seed=seed)) == []


def test_the_same_curve_turning_to_overfit_raises_overfitting() -> None:
    alerts = AlertDetector().feed(sft_curve(overfit_from=300))
    assert "overfitting" in kinds(alerts)
    assert min(a.steps[-1] for a in alerts if a.kind == "overfitting") > 300


def test_the_fake_openai_servers_healthy_job_raises_nothing() -> None:
    from tests.support.fake_openai_jobs import train_loss, valid_loss

    events = []
    for step in range(1, 31):
        values = {"train_loss": train_loss(step)}
        if step % 5 == 0:
            values["valid_loss"] = valid_loss(step)
        events.append(MetricEvent(ts=float(step), step=step, values=values))
    assert AlertDetector().feed(events) == []


# -- logs that already hold alerts --------------------------------------------------------------


def written_log(events: list[RunEvent]) -> list[RunEvent]:
    """The events as a producer leaves them: each alert right after what raised it, then read
    back through the codec."""
    detector = AlertDetector()
    log: list[RunEvent] = []
    for event in events:
        log.append(event)
        log.extend(detector.feed([event]))
    decoded = [decode_event(encode_event(event)) for event in log]
    return [event for event in decoded if event is not None]


def test_refeeding_a_log_that_holds_its_alerts_raises_nothing_again() -> None:
    log = written_log(overfitting_run())
    assert kinds(e for e in log if isinstance(e, AlertEvent)) == ["eval_gap", "overfitting"]
    assert AlertDetector().feed(log) == []


def test_a_log_cut_before_its_alert_gets_only_the_missing_one() -> None:
    log = written_log(overfitting_run())
    overfit_at = next(
        i for i, e in enumerate(log) if isinstance(e, AlertEvent) and e.kind == "overfitting"
    )
    restarted = AlertDetector()
    assert kinds(restarted.feed(log[:overfit_at])) == ["overfitting"]  # the producer died here


def test_a_logged_alert_ends_its_kinds_episode() -> None:
    detector = AlertDetector()
    detector.feed([AlertEvent(ts=1.0, kind="stalled", message="quiet", steps=(3,))])
    assert detector.check_stalled(10_000.0, running=True) is None


# -- bad rules and speed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"overfit_evals": 0}, "overfit_evals must be a whole number >= 1, got 0"),
        ({"gap_ratio": 0.9}, "gap_ratio must be above 1, got 0.9"),
        ({"stall_after_s": 0}, "stall_after_s must be above 0, got 0"),
        ({"diverge_ratio": math.nan}, "diverge_ratio must be finite and >= 0, got nan"),
        ({"gap_min_diff": "a lot"}, "gap_min_diff must be a number, got 'a lot'"),
    ],
)
def test_bad_rules_are_refused_with_a_specific_message(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AlertRules(**changes)


def test_a_flood_of_ten_thousand_metric_events_is_folded_fast() -> None:
    events = sft_curve(steps=9_000, eval_every=10)
    assert len(events) >= 9_900
    detector = AlertDetector()
    started = time.perf_counter()
    for start in range(0, len(events), 100):  # as a follower sees them: in batches
        detector.feed(events[start : start + 100])
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"{len(events)} events took {elapsed:.3f} s"


def test_an_overfitting_alert_from_elsewhere_is_rearmed_when_the_loss_comes_back() -> None:
    detector = AlertDetector(AlertRules(gap_ratio=10))
    events: list[RunEvent] = [train(5, 2.0), evaluation(10, 1.0), train(15, 1.9)]
    events += [AlertEvent(ts=16.0, kind="overfitting", message="from another ftui", steps=(9,))]
    events += [evaluation(20, 1.1), train(25, 1.8), evaluation(30, 0.9)]  # back down: re-armed
    for n, step in enumerate(range(40, 80, 10)):
        events += [train(step - 5, 1.7 - 0.1 * n), evaluation(step, 1.0 + 0.1 * n)]
    (alert,) = detector.feed(events)
    assert alert.kind == "overfitting" and alert.steps == (30, 40, 50, 60)
