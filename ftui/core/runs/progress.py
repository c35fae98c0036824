"""How far a run is and when it will end: step, fraction, elapsed time, rate and ETA.

`ProgressTracker.feed` takes the run's events as they arrive (live or replayed, the same way) and
keeps only a short window of recent (time, step, tokens) samples, so the rate and the ETA follow
the run's current speed rather than its average since the start (a run that slows down, or came
back from a pause, gets an honest ETA). Tokens/s is over the same window: a remote job's trained
tokens, or the tokens a local run's steps read (each step's `tokens_per_second` over its time), so
it does not jump with each batch's length or with the step an evaluation delayed.
`snapshot(state, now)` combines that window with the reducer's `RunState` into a `Progress`; every
field is None where it cannot be known.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from ftui.core.runs.kinds import MetricEvent, RemoteJobEvent, RunEvent, StatusEvent
from ftui.core.runs.state import RunState
from ftui.core.runs.status import RunStatus

WINDOW_SAMPLES = 64
WINDOW_S = 60.0
SEPARATOR = " · "


@dataclass(frozen=True)
class Progress:
    step: int | None = None
    max_steps: int | None = None
    fraction: float | None = None  # step / max_steps, within [0, 1]
    epoch: float | None = None
    elapsed_s: float | None = None  # from the start to the end, or to now while it runs
    steps_per_s: float | None = None  # over the recent window
    eta_s: float | None = None  # seconds left: the remote estimate, else from the recent rate
    tokens_per_s: float | None = None
    finished: bool = False


_Sample = tuple[float, int, float | None]  # (ts, step, tokens so far): a tuple, cheap per event


class ProgressTracker:
    """The recent step rate of one run, fed incrementally: O(1) per event, bounded memory.

    Samples are kept while they are within `window_s` seconds of the newest one (at most
    `window` of them; never fewer than the two newest, so a slow run still has a rate).
    """

    def __init__(self, window: int = WINDOW_SAMPLES, window_s: float = WINDOW_S) -> None:
        if window < 2:
            raise ValueError(f"window must hold at least 2 samples, not {window}")
        if window_s <= 0:
            raise ValueError(f"window_s must be positive, not {window_s}")
        self.window_s = window_s
        self._samples: deque[_Sample] = deque(maxlen=window)
        self._tokens: int | None = None  # the latest cumulative token count (a remote job's)
        self._tokens_per_s: float | None = None  # the latest `tokens_per_second` metric
        self._read = 0.0  # tokens a local run's steps read, summed from their rates

    def __len__(self) -> int:
        return len(self._samples)

    def feed(self, events: Iterable[RunEvent]) -> None:
        for event in events:
            if isinstance(event, MetricEvent):
                self._metric(event)
            elif isinstance(event, RemoteJobEvent):
                if event.trained_tokens is not None:
                    self._tokens = event.trained_tokens
            elif isinstance(event, StatusEvent) and event.status != RunStatus.RUNNING:
                # Time spent paused, queued or stopped is not training time: the rate starts
                # again from the next steps.
                self._samples.clear()

    def _metric(self, event: MetricEvent) -> None:
        rate = event.values.get("tokens_per_second")
        if rate is not None and not math.isfinite(rate):
            rate = None
        if rate is not None:
            self._tokens_per_s = rate
        if event.ts is None:
            return
        samples = self._samples
        if samples:
            last_ts, last_step, _ = samples[-1]
            if event.step == last_step or event.ts < last_ts:
                return  # an eval at the same step, or a line out of order: no new progress
            if event.step < last_step:
                samples.clear()  # resumed from an earlier checkpoint
            elif rate is not None:
                # the step's rate is over the time since the last logged step: what it read
                self._read += rate * (event.ts - last_ts)
        tokens: float | None = self._tokens  # a remote job's count, when it gives one
        if tokens is None and rate is not None:
            tokens = self._read
        samples.append((event.ts, event.step, tokens))
        horizon = event.ts - self.window_s
        while len(samples) > 2 and samples[0][0] < horizon:
            samples.popleft()

    def _rate(self) -> tuple[float | None, float | None]:
        """Steps and tokens per second over the window (None without two samples)."""
        if len(self._samples) < 2:
            return None, None
        (first_ts, first_step, first_tokens) = self._samples[0]
        (last_ts, last_step, last_tokens) = self._samples[-1]
        seconds = last_ts - first_ts
        if seconds <= 0:
            return None, None
        steps = (last_step - first_step) / seconds
        tokens = None
        if first_tokens is not None and last_tokens is not None and last_tokens > first_tokens:
            tokens = (last_tokens - first_tokens) / seconds
        return steps, tokens

    def snapshot(self, state: RunState, now: float) -> Progress:
        finished = state.is_terminal
        elapsed = None
        if state.started_at is not None:
            end = state.finished_at if finished and state.finished_at is not None else now
            elapsed = max(0.0, end - state.started_at)
        steps_per_s, window_tokens = self._rate()
        tokens_per_s = window_tokens if window_tokens is not None else self._tokens_per_s
        fraction = None
        if state.step is not None and state.max_steps:
            fraction = min(1.0, max(0.0, state.step / state.max_steps))
        return Progress(
            step=state.step,
            max_steps=state.max_steps,
            fraction=fraction,
            epoch=state.epoch,
            elapsed_s=elapsed,
            steps_per_s=steps_per_s,
            eta_s=None if finished else self._eta(state, now, steps_per_s),
            tokens_per_s=tokens_per_s,
            finished=finished,
        )

    def _eta(self, state: RunState, now: float, steps_per_s: float | None) -> float | None:
        if state.status == RunStatus.PAUSED:
            return None
        if state.estimated_finish is not None:
            return max(0.0, state.estimated_finish - now)
        if state.status != RunStatus.RUNNING or not state.max_steps or state.step is None:
            return None
        if not steps_per_s or not self._samples:
            return None
        left = max(0, state.max_steps - state.step) / steps_per_s
        # Counted from the last step seen, so the ETA keeps falling between two metric lines;
        # but by one step's time at most: a run gone quiet is late, not nearly done (the stalled
        # alert says so), and its ETA waits for the next step rather than run down to zero.
        since = max(0.0, now - self._samples[-1][0])
        return max(0.0, left - min(since, 1 / steps_per_s))


def format_duration(seconds: float | None) -> str:
    """A short duration: "42s", "5m02s", "3h07m", "2d05h"; "-" when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, seconds = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def format_rate(steps_per_s: float) -> str:
    """Steps per second, or seconds per step when a step takes longer than ten seconds."""
    if steps_per_s <= 0:
        return "0 steps/s"
    if steps_per_s < 0.1:
        return f"{1 / steps_per_s:.0f} s/step"
    if steps_per_s < 1:
        return f"{steps_per_s:.2f} steps/s"
    if steps_per_s < 10:
        return f"{steps_per_s:.1f} steps/s"
    return f"{steps_per_s:.0f} steps/s"


def format_progress(progress: Progress) -> str:
    """One line, the parts not known left out: "step 120/400 (30%) · epoch 0.90 · 2m10s ·
    ETA 5m02s · 3.1 steps/s · 850 tok/s"."""
    parts = []
    if progress.step is not None:
        step = f"step {progress.step}"
        if progress.max_steps:
            step += f"/{progress.max_steps}"
        if progress.fraction is not None:
            step += f" ({progress.fraction:.0%})"
        parts.append(step)
    if progress.epoch is not None:
        parts.append(f"epoch {progress.epoch:.2f}")
    if progress.elapsed_s is not None:
        parts.append(format_duration(progress.elapsed_s))
    if progress.eta_s is not None:
        parts.append(f"ETA {format_duration(progress.eta_s)}")
    if progress.steps_per_s is not None:
        parts.append(format_rate(progress.steps_per_s))
    if progress.tokens_per_s is not None:
        parts.append(f"{progress.tokens_per_s:,.0f} tok/s")
    return SEPARATOR.join(parts)


def progress_line(progress: Progress, state: RunState) -> str:
    """`format_progress` and the latest losses: what `ftui runs watch` prints as a run trains."""
    parts = [format_progress(progress)]
    for name, label in (("train_loss", "loss"), ("valid_loss", "eval")):
        value = state.last_metrics.get(name)
        if value is not None:
            parts.append(f"{label} {value:.4g}")
    return SEPARATOR.join(part for part in parts if part)
