"""The Data section's full validation pass: it runs in a thread over a snapshot of the session
and reports `ValidationFinished`; the section adopts the result on the UI thread, under the lock,
for the version of the content it was computed for."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual.worker import get_current_worker

from ftui.tui.sections.data.part import PROGRESS_INTERVAL, DataPart, WorkerReport
from ftui.tui.shared_session import Cancelled, SharedSession

if TYPE_CHECKING:
    from ftui.core.editing.full_pass import FullPassResult


@dataclass
class ValidationProgress(WorkerReport):
    generation: int
    done: int
    total: int


@dataclass
class ValidationFinished(WorkerReport):
    generation: int
    result: FullPassResult


class DatasetValidation(DataPart):
    """Runs full passes; `running` while one is on its way."""

    running = False
    _generation = 0

    def start(self) -> bool:
        """Validate everything in a thread; a pass started earlier is cancelled and ignored."""
        session = self.session
        if session is None:
            return False
        self.running = True
        self._generation += 1
        self.run_thread(partial(self._validate, session, self._generation), "validate")
        return True

    def forget(self) -> None:
        self._generation += 1
        self.running = False

    def failed(self) -> None:
        self.running = False

    def is_current(self, generation: int) -> bool:
        return self.running and generation == self._generation

    def _validate(self, shared: SharedSession, generation: int) -> None:
        from ftui.core.editing import full_pass

        worker = get_current_worker()
        last = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal last
            if worker.is_cancelled:
                raise Cancelled
            if time.monotonic() - last >= PROGRESS_INTERVAL:
                last = time.monotonic()
                self.post(ValidationProgress(generation, done, total))

        # The snapshot is taken under the lock; the pass reads only the snapshot (its own file
        # descriptor included, so a save meanwhile cannot pull the records away), and its
        # result is adopted on the UI thread, under the lock, for the version it describes.
        try:
            result = full_pass.run_full_pass(shared.full_pass_snapshot(), progress)
        except Cancelled:
            return
        self.post(ValidationFinished(generation, result))

    def adopt(self, event: ValidationFinished) -> bool:
        """Take a finished pass's result; True if the findings changed (the pass is over)."""
        from ftui.core.editing.checks import Adoption

        session = self.session
        if session is None or not self.is_current(event.generation):
            return False
        if session.adopt_full_pass(event.result) is Adoption.DISCARDED:
            self.start()  # it read a file this session no longer edits
            return False
        self.running = False
        return True
