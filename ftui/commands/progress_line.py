"""A job's progress on stderr for the CLI: at most one line every `every_s`, the last always."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

import click


class JobProgress(Protocol):
    @property
    def done(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def stopped(self) -> Any: ...


P = TypeVar("P", bound=JobProgress)


class ProgressLine(Generic[P]):
    def __init__(self, describe: Callable[[P], str], every_s: float = 0.5) -> None:
        self.describe = describe
        self.every_s = every_s
        self._last = 0.0

    def __call__(self, progress: P) -> None:
        now = time.monotonic()
        final = progress.done >= progress.total or progress.stopped is not None
        if not final and now - self._last < self.every_s:
            return
        self._last = now
        click.echo(self.describe(progress), err=True)
