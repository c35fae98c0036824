"""Writing a document back to disk in the file's own format, atomically.

Unedited records are copied byte for byte (runs of consecutive ones as one block, separators
included); edited ones are serialised in the style the file already uses (`RecordLayout`), and
everything goes through a temp file beside the target that is renamed over it at the end.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from ftui.core.dataset.atomic import atomic_writer
from ftui.core.editing.document import Document, FileChangedError
from ftui.core.editing.session_format import RecordLayout

COPY_BLOCK = 8 << 20
# Test hook: seconds to pause half-way through writing the temp file of a save, so a test can
# kill the process mid-save and check that the dataset is intact.
SAVE_PAUSE_ENV = "FTUI_TEST_SAVE_PAUSE"


class SaveError(Exception):
    """Writing the dataset failed (permissions, disk full...); the file on disk is unchanged."""


@contextlib.contextmanager
def writing(target: Path) -> Iterator[IO[bytes]]:
    """atomic_writer, with OS errors turned into a message that says what to do."""
    try:
        with atomic_writer(target) as handle:
            yield handle
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SaveError(
            f"cannot write {target}: {reason}; the file on disk is unchanged and your edits are "
            "kept: free some space, fix the permissions, or save under another name"
        ) from exc


class DocumentWriter:
    """Writes a document's examples in the layout of the file it was read from."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self._style: RecordLayout | None = None

    def forget_layout(self) -> None:
        """The bound file changed (a save): read its layout again next time."""
        self._style = None

    def layout(self) -> RecordLayout:
        if self._style is None:
            document = self.document
            assert document.source is not None
            self._style = RecordLayout.detect(document.index, document.fd, document.source.size)
        return self._style

    def write(
        self,
        handle: IO[bytes],
        positions: Iterable[int],
        *,
        kind: str | None = None,
        pause_for_tests: bool = False,
    ) -> None:
        """Write the examples at `positions` in the file's layout (or the default layout of
        `kind`, "jsonl" or "json_array", when it differs)."""
        document = self.document
        style = self.layout()
        same_kind = kind is None or kind == style.kind
        out = style if same_kind else RecordLayout.default(kind or style.kind)
        index, fd = document.index, document.fd
        items = positions if isinstance(positions, range) else list(positions)
        pause_at = len(items) // 2
        pause = float(os.environ.get(SAVE_PAUSE_ENV, "0") or 0) if pause_for_tests else 0.0
        overlay = document.overlay
        order = document.order
        run_first = run_last = -1  # a run of original records to copy as one block

        def flush() -> None:
            assert index is not None
            start = index.offset(run_first)
            stop = index.offset(run_last) + index.length(run_last)
            data = os.pread(fd, stop - start, start)
            if len(data) != stop - start:
                raise FileChangedError(document.path, "it is shorter than when it was indexed")
            handle.write(data)

        handle.write(out.head)
        for count, pos in enumerate(items):
            if pause and count == pause_at:
                handle.flush()
                time.sleep(pause)
            example_id = pos if order is None else order[pos]
            copyable = same_kind and example_id >= 0 and example_id not in overlay
            if copyable and run_first >= 0 and example_id == run_last + 1:
                assert index is not None
                if index.offset(example_id) - index.offset(run_first) < COPY_BLOCK:
                    run_last = example_id
                    continue
            if run_first >= 0:
                flush()
                run_first = -1
            if count:
                handle.write(out.separator)
            if copyable:
                run_first = run_last = example_id
            else:
                handle.write(out.render(document.value_by_id(example_id)))
        if run_first >= 0:
            flush()
        handle.write(out.tail if len(items) else out.empty_tail)
