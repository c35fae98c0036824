"""What a live monitor shows of one run, gathered off the UI thread and handed over in batches.

`RunMonitor` follows a run with `follow_run` (the one follow path: it indexes what it reads into
the store and notices a dead process) in a thread of its own, with its own event loop, and
tails the trainer's own output (`train.log`) of a local run beside it. Everything costly —
reading, parsing, indexing, describing events as lines — happens there. The UI calls `drain()`
on a timer (about ten times a second) and gets one `MonitorBatch` with everything since the
last call: however fast the log grows, the UI repaints at its own pace, and what it has not
taken yet is bounded (the oldest pending lines are dropped and counted; the newest state and
progress replace the older ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftui.core.runs.codec import event_record
from ftui.core.runs.kinds import AlertEvent, ArtifactEvent, CheckpointEvent, MetricEvent, RunEvent
from ftui.core.runs.log_lines import LogLine, event_line
from ftui.core.runs.progress import Progress, ProgressTracker
from ftui.core.runs.state import RunState
from ftui.services.eventlog import offset_of_last_lines, read_chunk
from ftui.services.store import RunStore

if TYPE_CHECKING:
    from ftui.services.output_log import OutputTailer

PENDING_LINES = 20_000  # lines waiting for the UI, per stream; a log view keeps as many
OUTPUT_POLL_S = 0.2
PROGRESS_SEED_EVENTS = 200  # recent metric events read at start, so an ETA shows at once
OUTPUT_CHUNK_BYTES = 256 * 1024  # read per poll: a flooded train.log is read in slices
FLOOD_SLICE_S = 0.005  # a slice of the log that took longer than this is a flood's
MAX_REST_S = 0.1
REST_RATIO = 1.0  # rest this many times as long as the slice took


@dataclass
class MonitorBatch:
    """What arrived since the last `drain`."""

    state: RunState
    progress: Progress
    event_lines: list[LogLine] = field(default_factory=list)  # the log's non-metric events
    output_lines: list[LogLine] = field(default_factory=list)  # the trainer's own output
    dropped_lines: int = 0  # pending lines dropped before the UI took them (a flood)
    metrics: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # new points
    alerts: list[AlertEvent] = field(default_factory=list)  # raised since the last batch
    # checkpoints and artifacts reported since the last batch, as the store records them
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False  # the run is over: the follow ended
    tracker: ProgressTracker | None = None  # a copy, for progress between batches elsewhere


class RunMonitor:
    """Follows one run in a background thread; `drain()` from the UI thread.

    `output_path` (a local run's train.log) is tailed from `output_offset`; `history_from` is
    the byte offset of the event log where the caller's own history ends (see `follow_run`).
    """

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        *,
        history_from: int,
        events_path: Path,
        output_path: Path | None = None,
        output_offset: int = 0,
        poll_interval: float = 0.2,
        pending_lines: int = PENDING_LINES,
        rest_ratio: float = REST_RATIO,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.history_from = history_from
        self.events_path = events_path
        self.output_path = output_path
        self.output_offset = output_offset
        self.poll_interval = poll_interval
        self.rest_ratio = rest_ratio
        self._lock = threading.Lock()
        self._events: deque[LogLine] = deque(maxlen=pending_lines)
        self._output: deque[LogLine] = deque(maxlen=pending_lines)
        self._dropped = 0
        self._metrics: dict[str, list[tuple[int, float]]] = {}
        self._alerts: list[AlertEvent] = []
        self._artifacts: list[dict[str, Any]] = []
        self._state: RunState | None = None
        self._tracker = ProgressTracker()
        self._changed = False
        self._finished = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tailer: OutputTailer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None  # what ended the follow, if not the run's end

    # -- the UI side ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"monitor-{self.run_id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 2.0) -> None:
        """End the follow (at once: a quiet log does not hold it) and wait up to `timeout`
        seconds for its thread, so nothing reads the store once its owner has closed it."""
        self._stop.set()
        with self._lock:
            loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed: nothing to cancel
                loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def finished(self) -> bool:
        return self._finished

    def drain(self, now: float | None = None) -> MonitorBatch | None:
        """Everything since the last call, or None when nothing changed."""
        with self._lock:
            if not self._changed or self._state is None:
                return None
            batch = MonitorBatch(
                state=self._state,
                progress=self._tracker.snapshot(self._state, time.time() if now is None else now),
                event_lines=list(self._events),
                output_lines=list(self._output),
                dropped_lines=self._dropped,
                metrics=self._metrics,
                alerts=self._alerts,
                artifacts=self._artifacts,
                finished=self._finished,
                tracker=copy.deepcopy(self._tracker),
            )
            self._events.clear()
            self._output.clear()
            self._dropped = 0
            self._metrics = {}
            self._alerts = []
            self._artifacts = []
            self._changed = False
            return batch

    def progress(self, now: float | None = None) -> Progress | None:
        """The progress as of `now` (elapsed and ETA move while the log is quiet)."""
        with self._lock:
            if self._state is None:
                return None
            return self._tracker.snapshot(self._state, time.time() if now is None else now)

    # -- the follow thread ----------------------------------------------------------------------

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except asyncio.CancelledError:
            pass  # stopped
        except BaseException as error:  # the page shows it; the thread must not die silently
            self.error = error
        finally:
            with self._lock:
                self._finished = True
                self._changed = True

    async def _main(self) -> None:
        task = asyncio.current_task()
        with self._lock:
            self._loop, self._task = asyncio.get_running_loop(), task
        if self._stop.is_set():
            return
        await self._follow()

    async def _follow(self) -> None:
        from ftui.services.follow import follow_run

        await asyncio.to_thread(self._seed_progress)
        output = asyncio.create_task(self._tail_output())
        try:
            updates = follow_run(
                self.store,
                self.run_id,
                history_from=self.history_from,
                poll_interval=self.poll_interval,
            )
            busy_since = time.perf_counter()
            async for update in updates:
                self._take(update.events, update.state)
                if self._stop.is_set():
                    await updates.aclose()
                    break
                # Under a flood, rest as long as the last slice took: this thread (and the
                # interpreter lock it shares with the UI) is then busy half the time at most, and
                # a key is answered at once. A quiet log never waits here.
                busy = time.perf_counter() - busy_since
                if update.events and busy > FLOOD_SLICE_S:
                    await asyncio.sleep(min(busy * self.rest_ratio, MAX_REST_S))
                busy_since = time.perf_counter()
            await asyncio.sleep(self.poll_interval)  # the trainer's last words, after its status
        finally:
            output.cancel()
            await asyncio.gather(output, return_exceptions=True)
        self._read_output_once()

    def _seed_progress(self) -> None:
        """The last metric events before the follow starts: the recent step rate is known at once
        rather than after a few more steps."""
        start = offset_of_last_lines(self.events_path, PROGRESS_SEED_EVENTS)
        from ftui.core.runs.events import parse_event

        chunk = read_chunk(self.events_path, start)
        metrics = [
            event
            for event in (parse_event(record) for record in chunk.events)
            if isinstance(event, MetricEvent)
        ]
        with self._lock:
            self._tracker.feed(metrics)

    def _take(self, events: Iterable[RunEvent], state: RunState) -> None:
        lines: list[LogLine] = []
        metrics: list[MetricEvent] = []
        alerts: list[AlertEvent] = []
        artifacts: list[dict[str, Any]] = []
        for event in events:
            if isinstance(event, MetricEvent):
                metrics.append(event)
                continue
            if isinstance(event, AlertEvent):
                alerts.append(event)
            elif isinstance(event, CheckpointEvent | ArtifactEvent):
                artifacts.append(event_record(event))
            line = event_line(event)
            if line is not None:
                lines.append(line)
        with self._lock:
            self._tracker.feed(metrics)
            for metric in metrics:
                for name, value in metric.values.items():
                    self._metrics.setdefault(name, []).append((metric.step, value))
            self._push(self._events, lines)
            self._alerts.extend(alerts)
            self._artifacts.extend(artifacts)
            self._state = state
            self._changed = True

    def _push(self, pending: deque[LogLine], lines: list[LogLine]) -> None:
        """Add lines for the UI; the oldest ones drop out (counted) once it is full."""
        overflow = len(pending) + len(lines) - (pending.maxlen or 0)
        if overflow > 0:
            self._dropped += overflow
        pending.extend(lines)

    async def _tail_output(self) -> None:
        if self.output_path is None:
            return
        while not self._stop.is_set():
            if not self._read_output_once():
                await asyncio.sleep(OUTPUT_POLL_S)

    def _read_output_once(self) -> bool:
        """Read what train.log gained; True when there was something (read on at once)."""
        if self.output_path is None:
            return False
        tailer = self._output_tailer()
        lines = tailer.read_available(max_bytes=OUTPUT_CHUNK_BYTES)
        if not lines:
            return False
        with self._lock:
            self._push(self._output, lines)
            self._changed = self._changed or self._state is not None
        return True

    def _output_tailer(self) -> OutputTailer:
        if self._tailer is None:
            from ftui.services.output_log import OutputTailer

            assert self.output_path is not None
            self._tailer = OutputTailer(self.output_path, offset=self.output_offset)
        return self._tailer
