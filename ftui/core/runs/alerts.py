"""Alerts: what a run's metrics say is going wrong, as `AlertEvent`s for the run's own log.

`AlertDetector` folds a run's events in order (the same events, live or replayed) and returns the
alerts they newly call for. Producers write those into `events.jsonl`, so every reader of the
run sees them. The kinds (see `ALERT_KINDS`) and what starts and ends an episode of each:

- `overfitting`: `valid_loss` rose `overfit_evals` evaluations in a row (by `overfit_min_rise` of
  its value in all) while the train loss, smoothed as the mean of its points since the previous
  evaluation, fell. Re-armed when `valid_loss` comes back to the value the rise started from.
- `eval_gap`: from evaluation `gap_after_evals` on (the first evaluations are noisy), `valid_loss`
  is over `gap_ratio` times the smoothed train loss, and over it by `gap_min_diff`. Re-armed by an
  evaluation back under the ratio.
- `nan_loss`: a loss (`train_loss`, `valid_loss`, any metric named "...loss") is not finite.
  Re-armed by a finite value of that metric.
- `diverging`: the train loss is over `diverge_ratio` times its best so far and over its first
  value for `diverge_points` points in a row (one spike is not a divergence). Re-armed by a point
  back under that bar.
- `stalled`: a running run has written nothing for `stall_after_s` (`check_stalled`). Re-armed by
  any new activity (any event but alerts and a remote job's own bookkeeping).
- `process_died`: made by `process_died_alert` for the liveness check, never by `feed`.

Alerts already in the log count: an `AlertEvent` fed in ends the episode of its kind, and an alert
the detector would raise from a batch that also holds the same alert (same kind, same last step)
is left out. So a producer that starts again on a half-written log feeds the log's events in one
call and writes only what is missing; a replay raises nothing twice.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

from ftui.core.runs.kinds import AlertEvent, MetricEvent, RemoteJobEvent, RunEvent

TRAIN_LOSS = "train_loss"
VALID_LOSS = "valid_loss"

STALL_ADVICE_LOCAL = (
    "The training process may be hung: a stuck dataloader worker (try dataloader_num_workers=0), "
    "a blocked NCCL collective between GPUs (run with NCCL_DEBUG=INFO and check every rank is "
    "alive), a full disk, or a frozen network filesystem. Look at train.log and dump the "
    "process's stacks (py-spy dump --pid PID); stop and resume from the last checkpoint if hung."
)
STALL_ADVICE_REMOTE = (
    "The remote job has reported nothing for a long time: the service may be busy or the job "
    "stuck. Check the job on the provider's dashboard; it often resumes by itself, otherwise "
    "cancel it and start again."
)


@dataclass(frozen=True)
class AlertRules:
    """The thresholds of the alerts (see the module's docstring for what each one judges)."""

    overfit_evals: int = 3
    overfit_min_rise: float = 0.02  # the rise in all, as a fraction of where it started
    gap_ratio: float = 1.5
    gap_after_evals: int = 3
    gap_min_diff: float = 0.05
    diverge_ratio: float = 2.0
    diverge_points: int = 3
    stall_after_s: float = 600.0

    def __post_init__(self) -> None:
        minimums = {
            "overfit_evals": 1,
            "gap_after_evals": 1,
            "diverge_points": 1,
        }
        for name, least in minimums.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError(
                    f"AlertRules.{name} must be a whole number >= {least}, got {value!r}"
                )
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name in minimums:
                continue
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"AlertRules.{spec.name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"AlertRules.{spec.name} must be finite and >= 0, got {value!r}")
        for name in ("gap_ratio", "diverge_ratio"):
            if getattr(self, name) <= 1:
                raise ValueError(f"AlertRules.{name} must be above 1, got {getattr(self, name)!r}")
        if self.stall_after_s <= 0:
            raise ValueError(
                f"AlertRules.stall_after_s must be above 0, got {self.stall_after_s!r}"
            )


def _n(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:.4g}"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


@dataclass(frozen=True)
class _Eval:
    step: int
    valid: float
    train: float | None  # the smoothed train loss around it; None before any train point


class AlertDetector:
    """Folds a run's events and returns the alerts they newly call for (see the module).

    Work per event is O(1): a few numbers per metric, and the last `overfit_evals + 1`
    evaluations."""

    def __init__(self, rules: AlertRules | None = None) -> None:
        self.rules = rules or AlertRules()
        self.step: int | None = None  # the last step seen
        self.last_activity: float | None = None  # the ts of the last event that shows activity
        self.activity = 0  # how many signs of activity were seen (events, `mark_activity`)
        self._fired: set[str] = set()  # kinds whose episode is under way (raised or logged)
        self._nan: set[str] = set()  # losses whose current non-finite episode was reported
        self._logged: set[tuple[str, int | None]] = set()  # alerts seen in the log
        # The train loss: first, best, last finite values, and its points since the last eval.
        self._first_train: float | None = None
        self._best_train: tuple[int, float] | None = None
        self._last_train: tuple[int, float] | None = None
        self._window_sum = 0.0
        self._window_count = 0
        self._high: list[tuple[int, float]] = []  # the current run of points over the bar
        # Evaluations: how many, and the last few.
        self._evals = 0
        self._recent: deque[_Eval] = deque(maxlen=self.rules.overfit_evals + 1)
        self._overfit_from: float | None = None  # the value the fired rise started from
        self._last_finite: dict[str, tuple[int, float]] = {}

    # -- feeding ------------------------------------------------------------------------------

    def feed(self, events: Iterable[RunEvent]) -> list[AlertEvent]:
        """Fold `events` in order; the alerts they newly call for, oldest first."""
        raised: list[AlertEvent] = []
        for event in events:
            if isinstance(event, MetricEvent):
                self._metric(event, raised)
                self._activity(event)
            elif isinstance(event, AlertEvent):
                self._fired.add(event.kind)
                self._logged.add(_key(event))
                if event.kind == "overfitting" and self._overfit_from is None and self._recent:
                    # Raised by another detector: re-armed once back at the lowest value seen.
                    self._overfit_from = min(e.valid for e in self._recent)
            elif not isinstance(event, RemoteJobEvent):
                self._activity(event)
        return [alert for alert in raised if _key(alert) not in self._logged]

    def mark_activity(self, ts: float, step: int | None = None) -> None:
        """Progress seen outside the log (a training step ended): re-arms `stalled`."""
        if step is not None:
            self.step = step
        self.last_activity = ts
        self.activity += 1
        self._fired.discard("stalled")

    def _activity(self, event: RunEvent) -> None:
        self.activity += 1
        self._fired.discard("stalled")
        if event.ts is not None:
            # The latest in log order, not the greatest: a remote job's events carry the
            # service's clock, and what it said last is what counts.
            self.last_activity = event.ts

    def _raise(self, raised: list[AlertEvent], alert: AlertEvent) -> None:
        self._fired.add(alert.kind)
        raised.append(alert)

    def _metric(self, event: MetricEvent, raised: list[AlertEvent]) -> None:
        self.step = event.step
        values = event.values
        for name, value in values.items():
            if "loss" not in name:
                continue
            if math.isfinite(value):
                self._last_finite[name] = (event.step, value)
                self._nan.discard(name)
            elif name not in self._nan:
                self._nan.add(name)
                raised.append(self._nan_alert(event, name, value))
        train = values.get(TRAIN_LOSS)
        if train is not None and math.isfinite(train):
            self._train_point(event, train, raised)
        valid = values.get(VALID_LOSS)
        if valid is not None and math.isfinite(valid):
            self._evaluation(event, valid, raised)

    # -- the train loss -----------------------------------------------------------------------

    def _train_point(self, event: MetricEvent, value: float, raised: list[AlertEvent]) -> None:
        step = event.step
        self._last_train = (step, value)
        self._window_sum += value
        self._window_count += 1
        if self._first_train is None:
            self._first_train = value
        best = self._best_train
        if best is None or value < best[1]:
            self._best_train = best = (step, value)
        rules = self.rules
        if value > rules.diverge_ratio * best[1] and value > self._first_train:
            self._high.append((step, value))
            del self._high[: -rules.diverge_points]
            if len(self._high) >= rules.diverge_points and "diverging" not in self._fired:
                self._raise(raised, self._diverging_alert(event, best))
        else:
            self._high.clear()
            self._fired.discard("diverging")

    def _smoothed_train(self) -> float | None:
        if self._window_count:
            return self._window_sum / self._window_count
        return self._last_train[1] if self._last_train else None

    # -- evaluations --------------------------------------------------------------------------

    def _evaluation(self, event: MetricEvent, valid: float, raised: list[AlertEvent]) -> None:
        train = self._smoothed_train()
        points = self._window_count
        self._window_sum, self._window_count = 0.0, 0
        self._evals += 1
        current = _Eval(event.step, valid, train)
        self._recent.append(current)
        self._check_gap(event, current, points, raised)
        self._check_overfitting(event, raised)

    def _check_gap(
        self, event: MetricEvent, current: _Eval, points: int, raised: list[AlertEvent]
    ) -> None:
        rules = self.rules
        train = current.train
        if train is None or train <= 0:
            return
        wide = (
            current.valid > rules.gap_ratio * train and current.valid - train > rules.gap_min_diff
        )
        if not wide:
            self._fired.discard("eval_gap")
        elif self._evals >= rules.gap_after_evals and "eval_gap" not in self._fired:
            self._raise(raised, self._gap_alert(event, current, points))

    def _check_overfitting(self, event: MetricEvent, raised: list[AlertEvent]) -> None:
        rules = self.rules
        recent = self._recent
        latest = recent[-1]
        if self._overfit_from is not None and latest.valid <= self._overfit_from:
            self._overfit_from = None
            self._fired.discard("overfitting")
        if len(recent) <= rules.overfit_evals or "overfitting" in self._fired:
            return
        run = list(recent)
        rising = all(later.valid > earlier.valid for earlier, later in itertools.pairwise(run))
        start, end = run[0], run[-1]
        if not rising or end.valid - start.valid < rules.overfit_min_rise * abs(start.valid):
            return
        if start.train is None or end.train is None or not end.train < start.train:
            return
        self._overfit_from = start.valid
        self._raise(raised, self._overfitting_alert(event, run))

    # -- the alerts ---------------------------------------------------------------------------

    def _nan_alert(self, event: MetricEvent, name: str, value: float) -> AlertEvent:
        before = self._last_finite.get(name)
        last = f" (last finite value {_n(before[1])} at step {before[0]})" if before else ""
        return AlertEvent(
            ts=event.ts,
            kind="nan_loss",
            message=f"{name} is {value} at step {event.step}{last}",
            steps=(event.step,),
            advice="Training has broken down numerically: lower the learning rate or add warmup, "
            "check the data for empty or extreme rows (an example with no trainable tokens gives "
            "a nan loss), prefer bf16 to fp16, keep gradient clipping on (max_grad_norm), and "
            "resume from a checkpoint saved before this step.",
        )

    def _diverging_alert(self, event: MetricEvent, best: tuple[int, float]) -> AlertEvent:
        steps = tuple(step for step, _ in self._high)
        value = self._high[-1][1]
        ratio = value / best[1] if best[1] > 0 else math.inf
        first = self._first_train if self._first_train is not None else value
        return AlertEvent(
            ts=event.ts,
            kind="diverging",
            message=f"train_loss climbed to {_n(value)} at step {event.step}, {ratio:.1f}x its "
            f"best ({_n(best[1])} at step {best[0]}) and above its first value ({_n(first)}), "
            f"for {len(steps)} points in a row (steps {', '.join(map(str, steps))})",
            steps=steps,
            advice="The learning rate is probably too high: lower it (or the learning-rate "
            "multiplier), add warmup, lower the LoRA rank or alpha, and check the data for bad "
            "or mislabeled rows; resume from a checkpoint from before the rise (near step "
            f"{best[0]}).",
        )

    def _gap_alert(self, event: MetricEvent, current: _Eval, points: int) -> AlertEvent:
        train = current.train or 0.0
        around = (
            f"mean of {points} points since the previous evaluation"
            if points > 1
            else "its last value"
        )
        return AlertEvent(
            ts=event.ts,
            kind="eval_gap",
            message=f"valid_loss {_n(current.valid)} is {current.valid / train:.1f}x the train "
            f"loss around step {current.step} ({_n(train)}, {around}; the bar is "
            f"{self.rules.gap_ratio:g}x)",
            steps=(current.step,),
            advice="The model fits its training data far better than held-out data: check that "
            "the validation set is drawn like the training set (same format, same kind of "
            "prompts, no leaked or duplicated rows); if it is, train fewer epochs, lower the "
            "learning rate or the LoRA rank, or add more training data.",
        )

    def _overfitting_alert(self, event: MetricEvent, run: Sequence[_Eval]) -> AlertEvent:
        start, end = run[0], run[-1]
        values = " → ".join(_n(e.valid) for e in run)
        steps = tuple(e.step for e in run)
        rises = len(run) - 1
        return AlertEvent(
            ts=event.ts,
            kind="overfitting",
            message=f"valid_loss rose {rises} evaluations in a row ({values} at steps "
            f"{', '.join(map(str, steps))}) while train loss fell to {_n(end.train or 0.0)} "
            f"(from {_n(start.train or 0.0)})",
            steps=steps,
            advice=f"The model is memorising its training data: keep the checkpoint nearest step "
            f"{start.step} (valid_loss {_n(start.valid)}), train fewer epochs or turn on early "
            "stopping, lower the learning rate or the LoRA rank (or raise lora_dropout), or add "
            "more, more varied training data.",
        )

    # -- what the log cannot say by itself ----------------------------------------------------

    def check_stalled(
        self, now: float, running: bool, *, advice: str = STALL_ADVICE_LOCAL
    ) -> AlertEvent | None:
        """A `stalled` alert when a running run has shown no activity for `stall_after_s` since
        the last event (or `mark_activity`) this detector saw; once per quiet spell."""
        if not running or self.last_activity is None or "stalled" in self._fired:
            return None
        quiet = now - self.last_activity
        if quiet < self.rules.stall_after_s:
            return None
        where = f"since step {self.step}" if self.step is not None else "since it started"
        alert = AlertEvent(
            ts=now,
            kind="stalled",
            message=f"no progress for {_duration(quiet)} ({where}; the bar is "
            f"{_duration(self.rules.stall_after_s)})",
            steps=(self.step,) if self.step is not None else (),
            advice=advice,
        )
        self._fired.add("stalled")
        return alert


def _key(alert: AlertEvent) -> tuple[str, int | None]:
    return alert.kind, (alert.steps[-1] if alert.steps else None)


def process_died_alert(
    last_lines: Sequence[str], step: int | None, ts: float | None = None
) -> AlertEvent:
    """The alert of a training process that ended without a final status."""
    lines = [line for line in last_lines if line.strip()]
    at = f" at step {step}" if step is not None else " before its first step"
    last = f"; its last line: {lines[-1].strip()}" if lines else "; train.log is empty"
    text = "\n".join(lines).lower()
    if "out of memory" in text or "outofmemory" in text or "cuda error: out" in text:
        advice = (
            "It ran out of GPU memory: lower batch_size (raise grad_accum to keep the effective "
            "batch), lower max_length, keep gradient checkpointing on, or use 4bit quantization."
        )
    elif "nccl" in text:
        advice = (
            "An NCCL error between GPUs: check that every GPU is healthy (nvidia-smi), run with "
            "NCCL_DEBUG=INFO, and try again with one GPU to rule out the interconnect."
        )
    else:
        advice = (
            "Nothing in its last lines says why, so it was most likely killed from outside: by "
            "the kernel's OOM killer when host RAM ran out (look for 'Killed process' in "
            "`dmesg` or `journalctl -k`), by a job scheduler's time limit, or by hand. Lower "
            "the dataloader's workers or the dataset held in memory, then resume from the last "
            "checkpoint."
        )
    return AlertEvent(
        ts=ts,
        kind="process_died",
        message=f"the training process died without reporting{at}{last}",
        steps=(step,) if step is not None else (),
        advice=advice,
    )
