"""A run's monitor in a process of its own, so that a flooded log never slows the UI.

Reading, parsing, indexing and describing a log that grows by thousands of lines a second is
work for a whole core; in the UI's process it would share the interpreter lock with the UI and
every key would wait for it. `ProcessMonitor` has `RunMonitor`'s interface (start, drain,
progress, stop) and runs a `RunMonitor` in a child process (`python -m
ftui.services.monitor_process`), which sends what it gathered about twenty times a second as
pickled `MonitorBatch`es on its stdout; a thread here merges them until the UI drains them. The
child ends when its stdin closes, so it never outlives the app, even one killed with `kill -9`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO

from ftui.core.runs.log_lines import LogLine
from ftui.core.runs.progress import Progress, ProgressTracker
from ftui.core.runs.state import RunState
from ftui.services.monitor import PENDING_LINES, MonitorBatch, RunMonitor
from ftui.services.store import RunStore

SEND_INTERVAL_S = 0.05
NICENESS = 10
HEADER = struct.Struct("!I")  # each batch: its pickled length, then the pickle


class ProcessMonitor:
    """`RunMonitor`'s interface, the work done in a child process."""

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        *,
        history_from: int,
        events_path: Path,
        output_path: Path | None = None,
        output_offset: int = 0,
        pending_lines: int = PENDING_LINES,
    ) -> None:
        self.run_id = run_id
        self.events_path = events_path
        self._argv = [
            sys.executable,
            "-m",
            "ftui.services.monitor_process",
            "--db",
            str(store.path),
            "--runs-dir",
            str(store.runs_dir),
            "--run",
            run_id,
            "--history-from",
            str(history_from),
        ]
        if output_path is not None:
            self._argv += ["--output", str(output_path), "--output-offset", str(output_offset)]
        self._lock = threading.Lock()
        self._events: deque[LogLine] = deque(maxlen=pending_lines)
        self._output: deque[LogLine] = deque(maxlen=pending_lines)
        self._pending: MonitorBatch | None = None
        self._tracker: ProgressTracker | None = None
        self._state: RunState | None = None
        self._finished = False
        self._stderr: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        # A file, not a pipe, for what the child says on stderr: a full pipe would block it.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the reader
        self._process = subprocess.Popen(
            self._argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._reader = threading.Thread(
            target=self._read, name=f"monitor-reader-{self.run_id}", daemon=True
        )
        self._reader.start()

    def stop(self, timeout: float | None = 2.0) -> None:
        process = self._process
        if process is None:
            return
        if process.stdin is not None and not process.stdin.closed:
            with contextlib.suppress(OSError):  # the child's cue to stop, and to stop at once
                process.stdin.close()
        if timeout:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    @property
    def finished(self) -> bool:
        return self._finished

    def drain(self, now: float | None = None) -> MonitorBatch | None:
        with self._lock:
            batch = self._pending
            if batch is None:
                return None
            self._pending = None
            batch.event_lines = list(self._events)
            batch.output_lines = list(self._output)
            self._events.clear()
            self._output.clear()
            if self._tracker is not None:
                batch.progress = self._tracker.snapshot(
                    batch.state, time.time() if now is None else now
                )
            return batch

    def progress(self, now: float | None = None) -> Progress | None:
        with self._lock:
            state = self._state
            if self._tracker is None or state is None:
                return None
            return self._tracker.snapshot(state, time.time() if now is None else now)

    # -- the reader thread ----------------------------------------------------------------------

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        try:
            while (batch := read_batch(fd)) is not None:
                self._merge(batch)
        except (OSError, EOFError, pickle.UnpicklingError) as error:
            self.error = error
        finally:
            self._process.wait()
            if self._process.returncode not in (0, None) and self.error is None:
                self.error = RuntimeError(f"the monitor process ended: {self._last_words()}")
            if self._stderr is not None:
                self._stderr.close()
            with self._lock:
                self._finished = True
                if self._pending is None and self._state is not None:
                    self._pending = MonitorBatch(state=self._state, progress=Progress())
                if self._pending is not None:
                    self._pending.finished = True

    def _last_words(self) -> str:
        if self._stderr is None:
            return "no output"
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        return (
            lines[-1]
            if lines
            else f"exit status {self._process.returncode if self._process else '?'}"
        )

    def _merge(self, batch: MonitorBatch) -> None:
        with self._lock:
            self._events.extend(batch.event_lines)
            self._output.extend(batch.output_lines)
            self._state = batch.state
            if batch.tracker is not None:
                self._tracker = batch.tracker
            pending = self._pending
            if pending is None:
                batch.event_lines, batch.output_lines = [], []
                self._pending = batch
                return
            pending.state = batch.state
            pending.progress = batch.progress
            pending.dropped_lines += batch.dropped_lines
            for name, points in batch.metrics.items():
                pending.metrics.setdefault(name, []).extend(points)
            pending.alerts.extend(batch.alerts)
            pending.artifacts.extend(batch.artifacts)
            pending.finished = pending.finished or batch.finished


def write_batch(stream: IO[bytes], batch: MonitorBatch) -> None:
    data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def read_exact(fd: int, size: int) -> bytes | None:
    """`size` bytes from a file descriptor, or None at its end. `os.read`, not a buffered file:
    a thread blocked in a buffered read holds its lock, and the interpreter aborts at exit."""
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_batch(fd: int) -> MonitorBatch | None:
    """The next batch, or None at the end of the stream."""
    header = read_exact(fd, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    data = read_exact(fd, size)
    if data is None:
        return None
    batch = pickle.loads(data)
    if not isinstance(batch, MonitorBatch):
        raise pickle.UnpicklingError(f"not a monitor batch: {type(batch).__name__}")
    return batch


def serve(args: argparse.Namespace) -> int:
    """The child: follow the run, send batches, end with the run or when stdin closes."""
    # Background work: when the machine is busy (a training process, a flood), the UI it serves
    # gets the CPU first, and a key is answered before the next slice of the log is read.
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    store = RunStore(Path(args.db), Path(args.runs_dir))
    run = store.get_run(args.run)
    monitor = RunMonitor(
        store,
        run.id,
        history_from=args.history_from,
        events_path=run.events_path,
        output_path=Path(args.output) if args.output else None,
        output_offset=args.output_offset,
    )

    def parent_gone() -> None:
        # Returns at EOF: the app closed the pipe, or died. (os.read: see read_exact.)
        while os.read(sys.stdin.fileno(), 4096):
            pass
        monitor.stop(timeout=0)

    threading.Thread(target=parent_gone, daemon=True).start()
    monitor.start()
    out = sys.stdout.buffer
    try:
        while True:
            batch = monitor.drain()
            if batch is not None:
                write_batch(out, batch)
                if batch.finished:
                    break
            time.sleep(SEND_INTERVAL_S)
    except BrokenPipeError:
        pass  # the app went away
    finally:
        monitor.stop(timeout=2.0)
        store.close()
    if monitor.error is not None:
        print(f"{type(monitor.error).__name__}: {monitor.error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftui.services.monitor_process")
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs-dir", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--history-from", type=int, default=0)
    parser.add_argument("--output")
    parser.add_argument("--output-offset", type=int, default=0)
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
