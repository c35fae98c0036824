"""Stop requests: how a signal reaches the training loop (no heavy imports, so the handlers are
installed before torch loads)."""

from __future__ import annotations

import threading


class StoppedBeforeTraining(BaseException):
    """Raised from the signal handler while the model or data is still loading: nothing to save,
    so the process stops at once instead of finishing a load it would throw away. A BaseException,
    like KeyboardInterrupt, so that no library's `except Exception` swallows it."""


class StopRequest:
    """Set from a signal handler; read by the training loop at the next step boundary."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name: str | None = None
        self.training_started = False

    def set(self, signal_name: str = "SIGTERM") -> None:
        self.signal_name = signal_name
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def handle_signal(self, signal_name: str) -> None:
        """What the process does on SIGTERM / SIGINT."""
        self.set(signal_name)
        self.raise_if_set()

    def raise_if_set(self) -> None:
        """Before training: a stop request ends the run now (there is nothing to save)."""
        if self.is_set() and not self.training_started:
            raise StoppedBeforeTraining(self.signal_name or "request")


class CheckpointRequest:
    """A request to save a checkpoint now and go on training: set from a signal handler
    (SIGUSR1), taken by the training loop at the next step's end. Requests made while one is
    pending count once."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def take(self) -> bool:
        """True once per request: the caller acts on it."""
        if not self._event.is_set():
            return False
        self._event.clear()
        return True
