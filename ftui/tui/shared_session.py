"""A `DatasetSession` shared by the UI thread and worker threads.

The session is not thread-safe (its caches are plain dicts), yet a search or a bulk fix over a
million examples must run in a thread while the list keeps painting. So every call goes through
one lock: the UI thread paints a row between two of the worker's calls, and neither sees the
other's half-done work. A worker gets its own view (`for_worker`) that also stops it, by raising
`Cancelled` on its next read, once the worker is cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ftui.tui.widgets.example_list import RowNotReady

if TYPE_CHECKING:
    from ftui.core.editing.session import DatasetSession


class Cancelled(Exception):
    """The worker reading the session was cancelled."""


# How long painting a row may wait for a worker's call to finish before it shows a placeholder.
ROW_WAIT = 0.05


class SharedSession:
    """Every attribute access and method call of the wrapped session holds one lock."""

    def __init__(self, session: DatasetSession) -> None:
        self.unlocked = session
        self.lock = threading.RLock()

    def __len__(self) -> int:
        with self.lock:
            return len(self.unlocked)

    def row(self, pos: int) -> Any:
        """A row for the list; RowNotReady while a worker holds the session (e.g. saving a
        large file), so the list paints a placeholder instead of freezing."""
        if not self.lock.acquire(timeout=ROW_WAIT):
            raise RowNotReady
        try:
            return self.unlocked.row(pos)
        finally:
            self.lock.release()

    def __getattr__(self, name: str) -> Any:
        with self.lock:
            attribute = getattr(self.unlocked, name)
        if not callable(attribute):
            return attribute

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                return attribute(*args, **kwargs)

        return locked

    def for_worker(self, is_cancelled: Callable[[], bool]) -> WorkerView:
        return WorkerView(self, is_cancelled)


class WorkerView:
    """The shared session as one worker sees it: locked, cancellable, with its last position."""

    def __init__(self, shared: SharedSession, is_cancelled: Callable[[], bool]) -> None:
        self._shared = shared
        self._is_cancelled = is_cancelled
        self.last_position = 0

    def __len__(self) -> int:
        return len(self._shared)

    def __getattr__(self, name: str) -> Any:
        if self._is_cancelled():
            raise Cancelled
        attribute = getattr(self._shared, name)
        if not callable(attribute):
            return attribute

        def checked(*args: Any, **kwargs: Any) -> Any:
            if self._is_cancelled():
                raise Cancelled
            if args and isinstance(args[0], int):
                self.last_position = args[0]
            return attribute(*args, **kwargs)

        return checked
