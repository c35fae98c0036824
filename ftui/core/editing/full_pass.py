"""A full validation pass over a snapshot of the session, safe to run in a worker thread.

The pass never touches the session: `FullPassSnapshot` is taken under whatever lock guards the
session (it copies the view order and the overlay, and duplicates the file descriptor so a save
that replaces the file cannot pull the records out from under it); `run_full_pass` reads only the
snapshot; the `FullPassResult` is handed back to the session's owner, who adopts it under the lock
(`DatasetSession.adopt_full_pass`) for the document version it was computed for.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ftui.core.editing.document import OriginalFile
from ftui.core.editing.session_checks import ExampleFacts

if TYPE_CHECKING:
    from ftui.core.validation.validate import (
        DatasetValidator,
        ValidationOptions,
        ValidationReport,
    )

PROGRESS_EVERY = 2000


class TouchedSince:
    """The ids the session changed after a snapshot was taken. The session keeps adding to it
    for as long as the snapshot or its result is alive (it holds it weakly): edits made while
    the result waits to be adopted count too."""

    __slots__ = ("__weakref__", "ids")

    def __init__(self) -> None:
        self.ids: set[int] = set()


class FullPassSnapshot:
    """The content of the session as of `version`, readable from any thread. Close it (or use
    it as a context manager) to release its file descriptor."""

    def __init__(
        self,
        *,
        version: int,
        binding: int,
        original: OriginalFile,
        id_of: range | array[int],
        overlay: dict[int, Any],
        options: ValidationOptions,
    ) -> None:
        self.version = version
        self.binding = binding
        self.original = original
        self.id_of = id_of
        self.overlay = overlay
        self.options = options
        self.touched_since = TouchedSince()

    def close(self) -> None:
        if self.original.fd >= 0:
            os.close(self.original.fd)
            self.original.fd = -1

    def __enter__(self) -> FullPassSnapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class FullPassResult:
    """What a full pass learned, for the content as of `version` of file binding `binding`."""

    version: int
    binding: int
    report: ValidationReport
    facts: ExampleFacts
    validator: DatasetValidator
    touched_since: TouchedSince = field(default_factory=TouchedSince)


def run_full_pass(
    snapshot: FullPassSnapshot, progress: Callable[[int, int], None] | None = None
) -> FullPassResult:
    """Validate the snapshot in one pass. Raises what the validator raises when it cannot start
    (an unknown encoding, a local model without a tokenizer) and whatever `progress` raises (to
    cancel). Closes the snapshot's descriptor when done."""
    from ftui.core.validation.validate import DatasetValidator

    with snapshot:
        original = snapshot.original
        validator = DatasetValidator(snapshot.options, path=original.path)
        id_of, overlay = snapshot.id_of, snapshot.overlay
        total = len(id_of)
        facts = ExampleFacts.for_base(len(original.index))
        for pos in range(total):
            example_id = id_of[pos]
            analysis = validator.analyse_record(
                original.record_for_validation(example_id, pos, overlay)
            )
            found = validator.merge(analysis)
            if found:
                facts.findings[example_id] = list(found)
            if analysis.tokens >= 0:
                facts.remember_token(example_id, analysis.tokens)
            if analysis.exact_key:
                facts.set_key(example_id, analysis.exact_key)
            if progress is not None and (pos % PROGRESS_EVERY == 0 or pos == total - 1):
                progress(pos + 1, total)
        report = validator.finish()
    for finding in report.findings:
        if 0 <= finding.example < total:
            target = id_of[finding.example]
            if finding not in facts.findings.get(target, ()):
                facts.findings.setdefault(target, []).append(finding)
        elif finding.example < 0:
            facts.file_findings.append(finding)
    return FullPassResult(
        version=snapshot.version,
        binding=snapshot.binding,
        report=report,
        facts=facts,
        validator=validator,
        touched_since=snapshot.touched_since,
    )
