"""The examples of an editable dataset: the original file, an index into it, the edits on top.

Scale is the design constraint (a 1,000,000-example file must browse and edit smoothly), so an
unedited example never becomes a Python object until someone looks at it:

- the byte-offset `ExampleIndex` (built incrementally by `index_steps`) locates each record;
- `overlay` maps an example id to its edited value (ids >= 0 are records of the original file,
  ids < 0 examples inserted in this session);
- `order` is the view order as a compact `array('q')` of ids, created only by the first
  structural edit (insert, delete, duplicate, move); until then position == id.

The primitive operations (`set_value`, `insert`, `delete`, `move`) each append the operation that
undoes them to a list, which `run_undo` plays back; every example they change is reported to
`on_touched`, so what was derived from it (rows, findings, token counts) is dropped.
"""

from __future__ import annotations

import copy
import os
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from ftui.core.dataset.formats import DatasetFormat, example_messages
from ftui.core.dataset.reader import (
    MAX_RECORD_BYTES,
    ExampleIndex,
    RawRecord,
    parse_record,
    scan_index,
)
from ftui.core.editing.edits import EditError
from ftui.core.editing.journal import FileFingerprint
from ftui.core.editing.session_checks import at_position

MISSING: Any = object()
VALUE_CACHE_SIZE = 4096
INVERSE_AFTER_LOOKUPS = 8

UndoOps = list[tuple[Any, ...]]


class FileChangedError(Exception):
    """The dataset on disk changed since the session opened it; saving would lose those changes."""

    def __init__(self, path: Path, change: str) -> None:
        self.path = path
        self.change = change
        super().__init__(
            f"{path} was changed on disk by another program since it was opened ({change}). "
            "Saving now would overwrite those changes: save under another name, or save with "
            "force to overwrite them."
        )


class SourceRewrittenError(FileChangedError):
    """The opened file was overwritten in place, so its unedited examples can't be copied."""

    def __init__(self, path: Path) -> None:
        Exception.__init__(
            self,
            f"{path} was rewritten in place by another program while it was open, so the "
            "examples you did not edit can no longer be read from it and no consistent file "
            "can be saved. Export the examples you edited, then reopen the file.",
        )
        self.path = path
        self.change = "it was rewritten in place"


class OriginalFile:
    """Read access to the records of one version of the file: an index and a descriptor.

    The descriptor pins the inode the offsets describe, so a reader holding an `OriginalFile`
    (a validation pass) keeps reading that version even after a save replaced the file."""

    def __init__(self, path: Path, index: ExampleIndex, fd: int) -> None:
        self.path = path
        self.index = index
        self.fd = fd

    def raw(self, example_id: int) -> bytes:
        """The record's bytes (line ending excluded)."""
        offset, length = self.index.offset(example_id), self.index.length(example_id)
        data = os.pread(self.fd, length, offset)
        if len(data) != length:
            raise FileChangedError(self.path, "it is shorter than when it was indexed")
        return data

    def record(self, example_id: int) -> RawRecord:
        """An original record, parsed, with its read-level finding (invalid JSON...)."""
        index = self.index
        offset, length = index.offset(example_id), index.length(example_id)
        data = None if length > MAX_RECORD_BYTES else self.raw(example_id)
        return parse_record(data, example_id, index.line(example_id), offset, length)

    def record_for_validation(
        self, example_id: int, pos: int, overlay: dict[int, Any]
    ) -> RawRecord:
        """The example as the validator reads it: its edited value or its original record,
        addressed to its current position."""
        if example_id in overlay:
            line = self.index.line(example_id) if example_id >= 0 else 0
            return RawRecord(
                index=pos, line=line, offset=-1, length=0, value=overlay[example_id], finding=None
            )
        record = self.record(example_id)
        if record.index != pos:
            record.index = pos
            if record.finding is not None:
                record.finding = at_position(record.finding, pos)
        return record


class Document:
    """The current examples of a dataset, in view order. Not thread-safe, except
    `index_steps` (which may run in a worker while the examples indexed so far are read)."""

    def __init__(self, path: Path, fmt: DatasetFormat, on_touched: Callable[[int], None]) -> None:
        self.path = path
        self.format = fmt
        self.indexing_done = False
        self.fd = -1
        self.index: ExampleIndex | None = None
        self.source: FileFingerprint | None = None
        self._scanner: Iterator[ExampleIndex] | None = None
        self._index_lock = threading.Lock()
        self.order: array[int] | None = None
        self._inverse: dict[int, int] | None = None
        self._lookups = 0
        self.overlay: dict[int, Any] = {}
        self._next_new_id = -1
        self._values: OrderedDict[int, Any] = OrderedDict()
        self._on_touched = on_touched

    # -- the file ---------------------------------------------------------------------------------

    def bind(self, path: Path) -> FileFingerprint:
        """Point the document at `path` as its unedited original (after open or save)."""
        self.close()
        self.path = path
        # Our own descriptor pins the original inode: if another program replaces the file, the
        # records we copy on save still come from the version the offsets describe.
        self.fd = os.open(path, os.O_RDONLY)
        self.source = FileFingerprint.of_fd(self.fd)
        self.index = None
        self._scanner = scan_index(path)
        self.indexing_done = False
        self._values.clear()
        return self.source

    def adopt_index(self, index: ExampleIndex) -> None:
        """A complete index of the bound file (built by whoever just wrote it): no edits left."""
        self.index = index
        self._scanner = None
        self.indexing_done = True
        self.order = None
        self.overlay.clear()
        self.structure_changed()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def original(self, *, own_descriptor: bool = False) -> OriginalFile:
        """The bound file's records; `own_descriptor` gives the reader a duplicate descriptor
        (to close itself), so it keeps reading this version whatever the document does next."""
        assert self.index is not None
        fd = os.dup(self.fd) if own_descriptor else self.fd
        return OriginalFile(self.path, self.index, fd)

    def index_chunk(self) -> int | None:
        """Index the next chunk; the count indexed so far, or None when indexing is done (the
        first None after the last chunk is the moment indexing finished: see `index_steps`)."""
        with self._index_lock:
            if self.indexing_done or self._scanner is None:
                return None
            try:
                index = next(self._scanner)
            except StopIteration:
                self.indexing_done = True
                self._scanner = None
                return -1
            self.index = index
            return len(index)

    def ensure_indexed(self) -> bool:
        """Finish indexing now; True if this call finished it."""
        finished = False
        while (count := self.index_chunk()) is not None:
            finished = finished or count == -1
        return finished

    @property
    def indexed_count(self) -> int:
        return len(self.index) if self.index is not None else 0

    # -- reading ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        if self.order is not None:
            return len(self.order)
        return self.indexed_count

    def id_at(self, pos: int) -> int:
        count = len(self)
        if not isinstance(pos, int) or not 0 <= pos < count:
            raise IndexError(f"there is no example {pos + 1}; the dataset has {count:,} examples")
        return pos if self.order is None else self.order[pos]

    def ids(self) -> range | array[int]:
        """The example id at each position (the live order: copy it to keep it)."""
        return range(len(self)) if self.order is None else self.order

    def pos_of(self, example_id: int) -> int | None:
        """Current position of an example id (None once deleted)."""
        if self.order is None:
            return example_id if 0 <= example_id < len(self) else None
        if self._inverse is None:
            self._lookups += 1
            if self._lookups <= INVERSE_AFTER_LOOKUPS:
                # A few lookups: a C-speed scan of the order beats building the inverse map.
                try:
                    return self.order.index(example_id)
                except ValueError:
                    return None
            self._inverse = {example_id: pos for pos, example_id in enumerate(self.order)}
        return self._inverse.get(example_id)

    def structure_changed(self) -> None:
        self._inverse = None
        self._lookups = 0

    def line_of(self, example_id: int) -> int:
        """1-based line of an original example (0 for an inserted one)."""
        return self.index.line(example_id) if example_id >= 0 and self.index else 0

    def value_by_id(self, example_id: int) -> Any:
        if example_id in self.overlay:
            return self.overlay[example_id]
        cached = self._values.get(example_id, MISSING)
        if cached is not MISSING:
            self._values.move_to_end(example_id)
            return cached
        value = self.original().record(example_id).value
        self._values[example_id] = value
        if len(self._values) > VALUE_CACHE_SIZE:
            self._values.popitem(last=False)
        return value

    def messages_by_id(self, example_id: int) -> list[dict[str, Any]]:
        value = self.value_by_id(example_id)
        return example_messages(value, self.format) if value is not None else []

    def original_raw(self, pos: int) -> bytes | None:
        """The record's bytes as they are in the file; None for edited or inserted examples."""
        example_id = self.id_at(pos)
        if example_id < 0 or example_id in self.overlay:
            return None
        return self.original().raw(example_id)

    def record_for_validation(self, example_id: int, pos: int) -> RawRecord:
        return self.original().record_for_validation(example_id, pos, self.overlay)

    # -- the primitive operations -----------------------------------------------------------------

    def set_value(self, example_id: int, value: Any, ops: UndoOps) -> None:
        ops.append(("value", example_id, self.overlay.get(example_id, MISSING)))
        self.overlay[example_id] = value
        self._on_touched(example_id)

    def insert(self, at: int, value: Any, ops: UndoOps) -> None:
        order = self._materialize()
        if not 0 <= at <= len(order):
            raise EditError(f"cannot insert at {at + 1}; the dataset has {len(order):,} examples")
        new_id = self._next_new_id
        self._next_new_id -= 1
        self.set_value(new_id, value, ops)
        order.insert(at, new_id)
        self.structure_changed()
        ops.append(("remove_at", at))

    def delete(self, positions: tuple[int, ...], ops: UndoOps) -> None:
        order = self._materialize()
        if not positions:
            return
        if positions[0] < 0 or positions[-1] >= len(order):
            bad = positions[0] if positions[0] < 0 else positions[-1]
            raise EditError(f"there is no example {bad + 1}; the dataset has {len(order):,}")
        ids = [order[p] for p in positions]
        self.order = _without(order, positions)
        self.structure_changed()
        ops.append(("reinsert", positions, ids))
        for example_id in ids:
            self._on_touched(example_id)

    def move(self, pos: int, to: int, ops: UndoOps) -> None:
        order = self._materialize()
        if not (0 <= pos < len(order) and 0 <= to < len(order)):
            raise EditError(
                f"cannot move example {pos + 1} to {to + 1}; the dataset has {len(order):,}"
            )
        example_id = order.pop(pos)
        order.insert(to, example_id)
        self.structure_changed()
        ops.append(("move", to, pos))
        self._on_touched(example_id)

    def _materialize(self) -> array[int]:
        if self.order is None:
            self.ensure_indexed()
            self.order = array("q", range(self.indexed_count))
        return self.order

    def run_undo(self, ops: UndoOps) -> None:
        """Undo primitive operations (recorded by the methods above), last first."""
        for op in reversed(ops):
            kind = op[0]
            if kind == "value":
                _, example_id, old = op
                if old is MISSING:
                    self.overlay.pop(example_id, None)
                else:
                    self.overlay[example_id] = old
                self._on_touched(example_id)
            elif kind == "remove_at":
                assert self.order is not None
                self.order.pop(op[1])
                self.structure_changed()
            elif kind == "reinsert":
                assert self.order is not None
                _, positions, ids = op
                self.order = _with_inserted(self.order, positions, ids)
                self.structure_changed()
                for example_id in ids:
                    self._on_touched(example_id)
            elif kind == "move":
                assert self.order is not None
                _, pos, to = op
                example_id = self.order.pop(pos)
                self.order.insert(to, example_id)
                self.structure_changed()


def clone(value: Any) -> Any:
    """A deep copy of a JSON value (orjson's round trip is the fast way)."""
    try:
        return orjson.loads(orjson.dumps(value))
    except TypeError:
        return copy.deepcopy(value)


def _without(order: array[int], positions: tuple[int, ...]) -> array[int]:
    """`order` minus the (sorted, unique) positions, built from slices (no per-item loop)."""
    out = array("q")
    start = 0
    for pos in positions:
        out.extend(order[start:pos])
        start = pos + 1
    out.extend(order[start:])
    return out


def _with_inserted(order: array[int], positions: tuple[int, ...], ids: list[int]) -> array[int]:
    """Inverse of `_without`: put `ids` back so that they end up at `positions`."""
    out = array("q")
    source = 0
    for pos, example_id in zip(positions, ids, strict=True):
        take = pos - len(out)
        out.extend(order[source : source + take])
        source += take
        out.append(example_id)
    out.extend(order[source:])
    return out
