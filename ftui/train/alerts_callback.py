"""Alerts from inside the training process: the metrics it logs, and a watchdog for a hung step.

`AlertsCallback` sees every MetricEvent the `EventLogCallback` writes (pass its `observe` as that
callback's `on_metric`: one key mapping, one event), feeds it to an `AlertDetector` and appends the
alerts it raises to the same event log. At the start of training it first folds the log as it
stands (a resumed run's earlier metrics and alerts), so a resumed run raises nothing twice.

The watchdog is a daemon thread: when no step (nor evaluation batch, log or save) ends for the
rules' `stall_after_s` while training, it writes one `stalled` alert per quiet spell (a hung
dataloader, a blocked NCCL collective). Only the main process (rank 0) does any of this.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from ftui.core.runs.alerts import AlertDetector, AlertRules
from ftui.core.runs.codec import decode_event
from ftui.core.runs.kinds import AlertEvent, MetricEvent, RunEvent

MAX_POLL_S = 30.0


def read_log(path: Path) -> list[RunEvent]:
    """The events of a run's log as it stands (a partial last line left out)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    complete = data[: data.rfind(b"\n") + 1]
    events = (decode_event(line) for line in complete.splitlines() if line.strip())
    return [event for event in events if event is not None]


class AlertsCallback(TrainerCallback):
    """Feeds the run's metrics to an alert detector and writes its alerts; watches for stalls."""

    def __init__(
        self,
        writer: Any,
        *,
        rules: AlertRules | None = None,
        poll_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.writer = writer
        self.detector = AlertDetector(rules)
        self.clock = clock
        stall = self.detector.rules.stall_after_s
        self.poll_s = poll_s if poll_s is not None else min(MAX_POLL_S, stall / 4)
        self._lock = threading.Lock()  # the detector is fed by training, checked by the watchdog
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._main = True

    # -- what the trainer says ----------------------------------------------------------------

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        self._main = bool(state.is_world_process_zero)
        if not self._main:
            return
        path = getattr(self.writer, "path", None)
        with self._lock:
            if isinstance(path, Path):
                self._write(self.detector.feed(read_log(path)))
            self.detector.mark_activity(self.clock(), state.global_step)
        self.start_watchdog()

    def observe(self, event: MetricEvent) -> None:
        """A MetricEvent just written to the log (`EventLogCallback`'s `on_metric`)."""
        with self._lock:
            self._write(self.detector.feed([event]))

    def _progress(self, state: TrainerState) -> None:
        if self._main:
            with self._lock:
                self.detector.mark_activity(self.clock(), state.global_step)

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        self._progress(state)

    def on_substep_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        self._progress(state)

    def on_prediction_step(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        self._progress(state)  # a long evaluation is not a stall

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        self._progress(state)

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        self.stop_watchdog()

    # -- the watchdog -------------------------------------------------------------------------

    def start_watchdog(self) -> None:
        if self._watchdog is not None and self._watchdog.is_alive():
            return
        self._stop.clear()
        self._watchdog = threading.Thread(target=self._watch, name="ftui-stall-watchdog")
        self._watchdog.daemon = True
        self._watchdog.start()

    def stop_watchdog(self) -> None:
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=5)
            self._watchdog = None

    def _watch(self) -> None:
        last = self.clock()
        while not self._stop.wait(self.poll_s):
            now = self.clock()
            overslept = now - last > self.poll_s + max(5.0, self.detector.rules.stall_after_s / 2)
            last = now
            with self._lock:
                if overslept:
                    # The whole process was frozen (suspended, the machine asleep), not training.
                    self.detector.mark_activity(now)
                    continue
                alert = self.detector.check_stalled(now, running=True)
                try:
                    self._write([alert] if alert else [])
                except OSError:
                    return  # the log is closed: the run is over

    def _write(self, alerts: list[AlertEvent]) -> None:
        for alert in alerts:
            self.writer.write(alert)
