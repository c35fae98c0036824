"""An editable dataset: the original file, an index into it, and the user's edits on top.

Scale is the design constraint (a 1,000,000-example file must browse and edit smoothly), so an
unedited example never becomes a Python object until someone looks at it:

- the byte-offset `ExampleIndex` (built incrementally by `index_steps`) locates each record;
- `_overlay` maps an example id to its edited value (ids >= 0 are records of the original file,
  ids < 0 examples inserted in this session);
- `_order` is the view order as a compact `array('q')` of ids, created only by the first
  structural edit (insert, delete, duplicate, move); until then position == id.

Every change is an `Edit` (ftui.core.editing.edits). Applying one records the primitive
operations that undo it; the edit itself goes to the crash journal (ftui.core.editing.journal)
before `apply` returns, so a killed session can be rebuilt by replaying the journal over the
original file.

Saving writes the current view in the file's own format (JSONL or JSON array; OpenAI, Alpaca or
ShareGPT), copying unedited records byte for byte and serialising edited ones in the style the
file already uses, through an atomic temp-file-and-rename.
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson

from ftui.core.dataset.atomic import atomic_writer, remove_stale_temp_files
from ftui.core.dataset.formats import (
    DatasetError,
    DatasetFormat,
    detect_format,
    example_messages,
    from_chat,
    to_chat,
)
from ftui.core.dataset.reader import (
    MAX_RECORD_BYTES,
    ExampleIndex,
    RawRecord,
    build_index,
    parse_record,
    scan_index,
)
from ftui.core.editing.edits import (
    Compound,
    DeleteExamples,
    DeleteMessage,
    DuplicateExample,
    Edit,
    EditError,
    InsertExample,
    InsertMessage,
    MoveExample,
    MoveMessage,
    ReplaceExample,
    ReplaceMessage,
    SetContent,
    SetRole,
    checked_value,
    edit_from_dict,
    edit_to_dict,
    message_change,
)
from ftui.core.editing.journal import (
    FileFingerprint,
    JournalError,
    JournalInfo,
    JournalWriter,
    inspect_journal,
    journal_path_for,
    read_journal,
    set_aside,
)
from ftui.core.editing.row_summary import RowSummary, finding_badges, first_user_text, role_pattern
from ftui.core.editing.session_checks import ExampleFacts, at_position, exact_key, ignore_issue
from ftui.core.editing.session_format import RecordLayout, rebuild_record
from ftui.core.findings import Finding, Severity

if TYPE_CHECKING:
    from ftui.core.validation.validate import DatasetValidator, ValidationOptions, ValidationReport

_MISSING: Any = object()
VALUE_CACHE_SIZE = 4096
ROW_CACHE_SIZE = 50_000
INVERSE_AFTER_LOOKUPS = 8
STALE_CHECK_LIMIT = 256
STALE_TEMP_SECONDS = 3600
COPY_BLOCK = 8 << 20
# Test hook: seconds to pause half-way through writing the temp file of a save, so a test can
# kill the process mid-save and check that the dataset is intact.
SAVE_PAUSE_ENV = "FTUI_TEST_SAVE_PAUSE"


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


class SaveError(Exception):
    """Writing the dataset failed (permissions, disk full...); the file on disk is unchanged."""


@contextlib.contextmanager
def _writing(target: Path) -> Iterator[IO[bytes]]:
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


def _remove_stale_temp_files(target: Path) -> None:
    """Temp files of saves that were killed mid-way (their writer's process is gone)."""
    remove_stale_temp_files(target)


@dataclass(slots=True)
class _Step:
    """An applied edit and the primitive operations that undo it (run in reverse order)."""

    edit: Edit
    undo: list[tuple[Any, ...]]


class DatasetSession:
    """The editable model behind the Data section. Not thread-safe, except `index_steps`."""

    def __init__(
        self,
        path: Path,
        fmt: DatasetFormat,
        *,
        journal_dir: Path,
        options: ValidationOptions | None = None,
    ) -> None:
        self.path = path
        self.format = fmt
        self.journal_dir = Path(journal_dir)
        self.options = options
        self.version = 0
        self.indexing_done = False
        self._fd = -1
        self._index: ExampleIndex | None = None
        self._scanner: Iterator[ExampleIndex] | None = None
        self._index_lock = threading.Lock()
        self._order: array[int] | None = None
        self._inverse: dict[int, int] | None = None
        self._lookups = 0
        self._findings_cache: tuple[int, list[Finding]] | None = None
        self._findings_rev = 0
        self._overlay: dict[int, Any] = {}
        self._next_new_id = -1
        self._undo: list[_Step] = []
        self._redo: list[Edit] = []
        self._saved_top: _Step | None = None
        self._values: OrderedDict[int, Any] = OrderedDict()
        self._rows: dict[int, RowSummary] = {}
        self._derived = ExampleFacts()
        self._stale: set[int] = set()
        self._report: ValidationReport | None = None
        self._validated_version = -1
        self._touched_during_pass: set[int] | None = None
        self._analyser: DatasetValidator | None = None
        self.validator_error: str | None = None
        self._style: RecordLayout | None = None
        self._journal: JournalWriter | None = None
        self._replaying = False
        self._bind(path)
        self._pending = inspect_journal(self._journal_path, self._source)

    # ------------------------------------------------------------------ opening and indexing

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        fmt: DatasetFormat | str | None = None,
        journal_dir: str | os.PathLike[str],
        options: ValidationOptions | None = None,
    ) -> DatasetSession:
        """Open a dataset for editing. Reads only the head (to detect the format); call
        `index_steps()` (e.g. in a thread worker) to index the rest. Raises DatasetError."""
        resolved = Path(os.path.abspath(os.fspath(path)))
        if fmt is None and options is not None and getattr(options, "fmt", None):
            fmt = options.fmt
        detected = DatasetFormat(fmt) if fmt is not None else detect_format(resolved)
        return cls(resolved, detected, journal_dir=Path(journal_dir), options=options)

    def _bind(self, path: Path) -> None:
        """Point the session at `path` as its unedited original (after open or save)."""
        if self._fd >= 0:
            os.close(self._fd)
        self.path = path
        # Our own descriptor pins the original inode: if another program replaces the file, the
        # records we copy on save still come from the version the offsets describe.
        self._fd = os.open(path, os.O_RDONLY)
        self._source = FileFingerprint.of_fd(self._fd)
        self._journal_path = journal_path_for(path, self.journal_dir)
        self._index = None
        self._scanner = scan_index(path)
        self.indexing_done = False
        self._values.clear()
        self._style = None

    def index_steps(self) -> Iterator[int]:
        """Index the file chunk by chunk, yielding how many examples are indexed so far.

        Safe to run in a thread worker while the UI reads the examples indexed so far. After
        the first chunk it also loads the tokenizer, so the first paint does not wait for it
        (rows show no token count until then; `version` bumps when they can)."""
        warmed = False
        while True:
            with self._index_lock:
                if self.indexing_done or self._scanner is None:
                    return
                try:
                    index = next(self._scanner)
                except StopIteration:
                    self.indexing_done = True
                    self._scanner = None
                    self.version += 1
                    return
                self._index = index
                count = len(index)
            yield count
            if not warmed:
                warmed = True
                self._warm_up()

    def _warm_up(self) -> None:
        if self._analyser is None and self._get_analyser() is not None:
            self._rows.clear()
            self.version += 1

    def ensure_indexed(self) -> None:
        """Finish indexing now (structural edits, saving and full passes need the whole file)."""
        for _ in self.index_steps():
            pass

    @property
    def indexed_count(self) -> int:
        return len(self._index) if self._index is not None else 0

    def close(self) -> None:
        """Release the file and journal handles (the journal file itself stays until saved)."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> DatasetSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        if self._order is not None:
            return len(self._order)
        return self.indexed_count

    def _id_at(self, pos: int) -> int:
        count = len(self)
        if not isinstance(pos, int) or not 0 <= pos < count:
            raise IndexError(f"there is no example {pos + 1}; the dataset has {count:,} examples")
        return pos if self._order is None else self._order[pos]

    def _pos_of(self, example_id: int) -> int | None:
        """Current position of an example id (None once deleted)."""
        if self._order is None:
            return example_id if 0 <= example_id < len(self) else None
        if self._inverse is None:
            self._lookups += 1
            if self._lookups <= INVERSE_AFTER_LOOKUPS:
                # A few lookups: a C-speed scan of the order beats building the inverse map.
                try:
                    return self._order.index(example_id)
                except ValueError:
                    return None
            self._inverse = {example_id: pos for pos, example_id in enumerate(self._order)}
        return self._inverse.get(example_id)

    def _structure_changed(self) -> None:
        self._inverse = None
        self._lookups = 0

    def value(self, pos: int) -> Any:
        """The example's current JSON value (a copy: edit through `apply`). None if unparsable."""
        return _clone(self._value_by_id(self._id_at(pos)))

    def messages(self, pos: int, *, copy: bool = True) -> list[dict[str, Any]]:
        """The example's chat messages in OpenAI form (role, content, ...), for display and
        editing. `copy=False` skips the defensive copy (the caller must not change them)."""
        value = self._value_by_id(self._id_at(pos))
        if value is None:
            return []
        found = example_messages(value, self.format)
        return _clone(found) if copy else found

    def source_line(self, pos: int) -> int | None:
        """1-based line where the example starts in the original file; None if inserted."""
        example_id = self._id_at(pos)
        if example_id < 0 or self._index is None:
            return None
        return self._index.line(example_id)

    def is_edited(self, pos: int) -> bool:
        return self._id_at(pos) in self._overlay

    def raw_bytes(self, pos: int) -> bytes | None:
        """The record's bytes as they are in the file; None for edited or inserted examples."""
        example_id = self._id_at(pos)
        if example_id < 0 or example_id in self._overlay:
            return None
        return self._raw(example_id)

    def raw_text(self, pos: int) -> str | None:
        """The record's original text (for an unparsable line), None for edited/inserted ones."""
        example_id = self._id_at(pos)
        if example_id < 0 or example_id in self._overlay:
            return None
        return self._raw(example_id).decode("utf-8", "replace")

    def _value_by_id(self, example_id: int) -> Any:
        if example_id in self._overlay:
            return self._overlay[example_id]
        cached = self._values.get(example_id, _MISSING)
        if cached is not _MISSING:
            self._values.move_to_end(example_id)
            return cached
        value = self._base_record(example_id).value
        self._values[example_id] = value
        if len(self._values) > VALUE_CACHE_SIZE:
            self._values.popitem(last=False)
        return value

    def _raw(self, example_id: int) -> bytes:
        """The record's bytes in the original file (line ending excluded)."""
        assert self._index is not None
        offset, length = self._index.offset(example_id), self._index.length(example_id)
        data = os.pread(self._fd, length, offset)
        if len(data) != length:
            raise FileChangedError(self.path, "it is shorter than when it was indexed")
        return data

    def _base_record(self, example_id: int) -> RawRecord:
        """An original record, parsed, with its read-level finding (invalid JSON...)."""
        assert self._index is not None
        offset, length = self._index.offset(example_id), self._index.length(example_id)
        line = self._index.line(example_id)
        data = None if length > MAX_RECORD_BYTES else self._raw(example_id)
        return parse_record(data, example_id, line, offset, length)

    def row(self, pos: int) -> RowSummary:
        """What the browser shows for one example; cached, reads only that record."""
        example_id = self._id_at(pos)
        self._check_stale(example_id)
        cached = self._rows.get(example_id)
        if cached is None:
            cached = self._build_row(example_id)
            if len(self._rows) >= ROW_CACHE_SIZE:
                self._rows.clear()
            self._rows[example_id] = cached
        if cached.number != pos + 1:
            cached = replace(cached, number=pos + 1)
        return cached

    def _build_row(self, example_id: int) -> RowSummary:
        value = self._value_by_id(example_id)
        messages = example_messages(value, self.format) if value is not None else []
        line = self._index.line(example_id) if example_id >= 0 and self._index else None
        return RowSummary(
            number=0,
            source_line=line,
            turns=len(messages),
            roles=role_pattern(messages),
            first_user=first_user_text(messages),
            tokens=self._tokens_of(example_id, value, wait=self.indexing_done),
            findings=finding_badges(self._derived.findings.get(example_id, ())),
            edited=example_id in self._overlay,
        )

    def tokens(self, pos: int) -> int | None:
        """Token count of the example by the cookbook formula (None if it cannot be counted)."""
        example_id = self._id_at(pos)
        return self._tokens_of(example_id, self._value_by_id(example_id))

    def _tokens_of(self, example_id: int, value: Any, *, wait: bool = True) -> int | None:
        known = self._derived.token(example_id)
        if known is not None or value is None:
            return known
        if not wait and self._analyser is None:
            return None  # the tokenizer is loading in the indexing worker
        analyser = self._get_analyser()
        if analyser is None:
            return None
        from ftui.core.validation.rules import chat_messages

        messages, tools = chat_messages(value, self.format, ignore_issue)
        if messages is None:
            return None
        total, _assistant = analyser.counter.count_example(messages, tools)
        self._derived.remember_token(example_id, total)
        return total

    def token_limit(self) -> int:
        """Tokens one training example may hold for the target model."""
        analyser = self._get_analyser()
        if analyser is not None and analyser.token_limit:
            return int(analyser.token_limit)
        limit = getattr(self.options, "token_limit", None)
        if limit:
            return int(limit)
        from ftui.core.pricing.models import DEFAULT_OPENAI_MODEL, openai_model_info

        info = openai_model_info(getattr(self.options, "model", None) or DEFAULT_OPENAI_MODEL)
        info = info or openai_model_info(DEFAULT_OPENAI_MODEL)
        assert info is not None
        return info.training_context

    def content_key(self, pos: int) -> int | None:
        """A key equal for examples with the same content, by the validator's definition of an
        exact duplicate (whitespace-normalised); None for an unparsable example."""
        example_id = self._id_at(pos)
        if example_id not in self._stale:
            known = self._derived.key(example_id)
            if known:
                return known
        value = self._value_by_id(example_id)
        return exact_key(value, self.format) if value is not None else None

    # ------------------------------------------------------------------ editing

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        return self._undo[-1].edit.describe() if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1].describe() if self._redo else None

    @property
    def dirty(self) -> bool:
        """Whether the content differs from the file on disk (by the undo history)."""
        return (self._undo[-1] if self._undo else None) is not self._saved_top

    def apply(self, edit: Edit) -> None:
        """Apply an edit (all of it or, on EditError, none of it) and journal it. If the journal
        cannot be written the edit is rolled back and JournalError says why: an edit that a
        crash could lose is never shown."""
        self._apply(edit)
        try:
            self._log("apply", edit_to_dict(edit))
        except OSError as exc:
            step = self._undo.pop()
            self._run_undo(step.undo)
            self.version += 1
            raise self._journal_failed(exc) from exc
        self._redo.clear()

    def undo(self) -> Edit | None:
        """Undo the last edit; returns it (None when there is nothing to undo)."""
        if not self._undo:
            return None
        self._log_or_raise("undo")
        step = self._undo.pop()
        self._run_undo(step.undo)
        self._redo.append(step.edit)
        self.version += 1
        return step.edit

    def redo(self) -> Edit | None:
        """Re-apply the last undone edit; returns it (None when there is nothing to redo)."""
        if not self._redo:
            return None
        self._log_or_raise("redo")
        edit = self._redo.pop()
        self._apply(edit)  # it applied to this very state before: it applies again
        return edit

    def _apply(self, edit: Edit) -> None:
        ops: list[tuple[Any, ...]] = []
        try:
            self._do(edit, ops)
        except IndexError as exc:
            self._run_undo(ops)
            raise EditError(f"cannot {edit.describe()}: {exc}") from None
        except EditError:
            self._run_undo(ops)
            raise
        self._undo.append(_Step(edit, ops))
        self.version += 1

    def _do(self, edit: Edit, ops: list[tuple[Any, ...]]) -> None:
        match edit:
            case Compound():
                for part in edit.edits:
                    self._do(part, ops)
            case (
                SetContent()
                | SetRole()
                | ReplaceMessage()
                | InsertMessage()
                | DeleteMessage()
                | MoveMessage()
            ):
                self._edit_messages(edit.example, ops, message_change(edit))
            case ReplaceExample():
                self._set_value(self._id_at(edit.position), checked_value(edit.value), ops)
            case InsertExample():
                self._insert(edit.at, checked_value(edit.value), ops)
            case DuplicateExample():
                source = self._value_by_id(self._id_at(edit.position))
                if source is None:
                    raise EditError(
                        f"example {edit.position + 1} is not valid JSON, so it cannot be duplicated"
                    )
                self._insert(edit.position + 1, copy.deepcopy(source), ops)
            case DeleteExamples():
                self._delete(edit.positions, ops)
            case MoveExample():
                self._move(edit.position, edit.to, ops)
            case _:
                raise EditError(f"unknown edit {edit!r}")

    def _edit_messages(
        self, pos: int, ops: list[tuple[Any, ...]], change: Callable[[list[Any]], None]
    ) -> None:
        example_id = self._id_at(pos)
        value = self._value_by_id(example_id)
        if value is None:
            raise EditError(
                f"example {pos + 1} is not valid JSON; replace the whole example to fix it"
            )
        if self.format == DatasetFormat.OPENAI:
            # Edit the record itself so every other key (tools, weight, metadata) is kept as is.
            if not isinstance(value, dict) or not isinstance(value.get("messages"), list):
                raise EditError(
                    f"example {pos + 1} has no 'messages' list; replace the whole example to fix it"
                )
            if not all(isinstance(m, dict) for m in value["messages"]):
                raise EditError(
                    f"example {pos + 1} has a message that is not a JSON object; "
                    "replace the whole example to fix it"
                )
            new_value = copy.deepcopy(value)
            change(new_value["messages"])
        else:
            chat, problems = to_chat(value, self.format)
            if chat is None:
                raise EditError(
                    f"example {pos + 1} cannot be read as a conversation ({'; '.join(problems)}); "
                    "replace the whole example to fix it"
                )
            before = set(from_chat(chat, self.format)[1])
            chat = copy.deepcopy(chat)
            change(chat["messages"])
            lost = [note for note in from_chat(chat, self.format)[1] if note not in before]
            if lost:
                raise EditError(
                    f"the {self.format} format cannot hold this change to example {pos + 1}: "
                    + "; ".join(lost)
                )
            new_value = rebuild_record(value, chat, self.format)
        self._set_value(example_id, new_value, ops)

    def _set_value(self, example_id: int, value: Any, ops: list[tuple[Any, ...]]) -> None:
        ops.append(("value", example_id, self._overlay.get(example_id, _MISSING)))
        self._overlay[example_id] = value
        self._touched(example_id)

    def _insert(self, at: int, value: Any, ops: list[tuple[Any, ...]]) -> None:
        order = self._materialize()
        if not 0 <= at <= len(order):
            raise EditError(f"cannot insert at {at + 1}; the dataset has {len(order):,} examples")
        new_id = self._next_new_id
        self._next_new_id -= 1
        self._set_value(new_id, value, ops)
        order.insert(at, new_id)
        self._structure_changed()
        ops.append(("remove_at", at))

    def _delete(self, positions: tuple[int, ...], ops: list[tuple[Any, ...]]) -> None:
        order = self._materialize()
        if not positions:
            return
        if positions[0] < 0 or positions[-1] >= len(order):
            bad = positions[0] if positions[0] < 0 else positions[-1]
            raise EditError(f"there is no example {bad + 1}; the dataset has {len(order):,}")
        ids = [order[p] for p in positions]
        self._order = _without(order, positions)
        self._structure_changed()
        ops.append(("reinsert", positions, ids))
        for example_id in ids:
            self._touched(example_id)

    def _move(self, pos: int, to: int, ops: list[tuple[Any, ...]]) -> None:
        order = self._materialize()
        if not (0 <= pos < len(order) and 0 <= to < len(order)):
            raise EditError(
                f"cannot move example {pos + 1} to {to + 1}; the dataset has {len(order):,}"
            )
        example_id = order.pop(pos)
        order.insert(to, example_id)
        self._structure_changed()
        ops.append(("move", to, pos))
        self._touched(example_id)

    def _materialize(self) -> array[int]:
        if self._order is None:
            self.ensure_indexed()
            self._order = array("q", range(self.indexed_count))
        return self._order

    def _run_undo(self, ops: list[tuple[Any, ...]]) -> None:
        for op in reversed(ops):
            kind = op[0]
            if kind == "value":
                _, example_id, old = op
                if old is _MISSING:
                    self._overlay.pop(example_id, None)
                else:
                    self._overlay[example_id] = old
                self._touched(example_id)
            elif kind == "remove_at":
                assert self._order is not None
                self._order.pop(op[1])
                self._structure_changed()
            elif kind == "reinsert":
                assert self._order is not None
                _, positions, ids = op
                self._order = _with_inserted(self._order, positions, ids)
                self._structure_changed()
                for example_id in ids:
                    self._touched(example_id)
            elif kind == "move":
                assert self._order is not None
                _, pos, to = op
                example_id = self._order.pop(pos)
                self._order.insert(to, example_id)
                self._structure_changed()

    def _touched(self, example_id: int) -> None:
        """An example's value or place changed: drop what was derived from it."""
        self._rows.pop(example_id, None)
        self._derived.forget_token(example_id)
        self._stale.add(example_id)
        if self._touched_during_pass is not None:
            self._touched_during_pass.add(example_id)
        self._findings_rev += 1

    # ------------------------------------------------------------------ journal

    def pending_journal(self) -> JournalInfo | None:
        """Unsaved edits left by an earlier session on this file (None when there are none)."""
        return self._pending

    def restore_journal(self) -> int:
        """Replay the pending journal over the file; returns how many edits are back."""
        info = self._pending
        if info is None:
            return 0
        if not info.compatible:
            raise JournalError(f"cannot restore the unsaved edits of {self.path}: {info.reason}")
        _header, entries = read_journal(info.path)
        self.ensure_indexed()
        self._replaying = True
        try:
            for entry in entries:
                op = entry["op"]
                if op == "apply":
                    self.apply(edit_from_dict(entry["edit"]))
                elif op == "undo":
                    self.undo()
                elif op == "redo":
                    self.redo()
        except (EditError, KeyError, TypeError) as exc:
            raise JournalError(f"the journal {info.path} does not replay cleanly: {exc}") from exc
        finally:
            self._replaying = False
        self._pending = None
        # The replayed steps are already on disk: keep appending to the same journal.
        self._journal = JournalWriter.reopen(info.path)
        return len(self._undo)

    def discard_journal(self) -> None:
        """Forget the pending journal (it is renamed aside, not deleted)."""
        if self._pending is not None and self._pending.path.exists():
            set_aside(self._pending.path)
        self._pending = None

    def _log(self, op: str, edit: dict[str, Any] | None = None) -> None:
        if self._replaying:
            return
        if self._journal is None:
            if self._pending is not None:
                # Editing without restoring: keep the old journal aside rather than mixing it in.
                self.discard_journal()
            self._journal = JournalWriter(
                self._journal_path, dataset=self.path, fmt=str(self.format), source=self._source
            )
        self._journal.append(op, edit)

    def _log_or_raise(self, op: str) -> None:
        try:
            self._log(op)
        except OSError as exc:
            raise self._journal_failed(exc) from exc

    def _journal_failed(self, exc: OSError) -> JournalError:
        return JournalError(
            f"cannot write the crash journal {self._journal_path} ({exc.strerror or exc}), so "
            "the change was not made; free some space or check the permissions of "
            f"{self.journal_dir}, then try again"
        )

    def _clear_journal(self) -> None:
        if self._journal is not None:
            self._journal.remove()
            self._journal = None
        elif self._pending is not None:
            self.discard_journal()  # unresolved edits of an earlier session: kept aside

    # ------------------------------------------------------------------ validation

    def _validation_options(self) -> ValidationOptions:
        from ftui.core.validation.validate import ValidationOptions

        options = self.options or ValidationOptions()
        if getattr(options, "fmt", None) != self.format:
            options = replace(options, fmt=self.format)
        return options

    def _get_analyser(self) -> DatasetValidator | None:
        """The validator used for one-example checks and token counts (None if unavailable:
        then `validator_error` says why, and rows show no tokens or findings)."""
        if self._analyser is None and self.validator_error is None:
            try:
                from ftui.core.validation.validate import DatasetValidator

                self._analyser = DatasetValidator(self._validation_options(), path=self.path)
            except Exception as exc:  # a missing tokenizer must not take the browser down
                self.validator_error = f"cannot validate: {exc}"
        return self._analyser

    @property
    def report(self) -> ValidationReport | None:
        """The last full validation report (None before `validate_all`)."""
        return self._report

    @property
    def report_is_current(self) -> bool:
        """Whether nothing changed since `report` was made (its totals describe the content)."""
        return self._report is not None and self._validated_version == self.version

    @property
    def findings(self) -> list[Finding]:
        """Every current finding: file-level ones first, then by position."""
        for example_id in list(self._stale):
            self._revalidate_id(example_id)
        if self._findings_cache is not None and self._findings_cache[0] == self._findings_rev:
            return list(self._findings_cache[1])
        by_id = self._derived.findings
        result = list(self._derived.file_findings)
        if self._order is None:
            for pos in sorted(i for i in by_id if 0 <= i < len(self)):
                result.extend(at_position(f, pos) for f in by_id[pos])
        elif by_id:
            for pos, example_id in enumerate(self._order):
                if example_id in by_id:
                    result.extend(at_position(f, pos) for f in by_id[example_id])
        self._findings_cache = (self._findings_rev, result)
        return list(result)

    def findings_for(self, pos: int) -> list[Finding]:
        """The findings of one example (re-checked first if it changed)."""
        example_id = self._id_at(pos)
        self._check_stale(example_id)
        return [at_position(f, pos) for f in self._derived.findings.get(example_id, ())]

    @property
    def pending_checks(self) -> int:
        """Changed examples not re-checked yet (after a bulk edit of more than
        STALE_CHECK_LIMIT examples they are checked as they are shown, or by `findings`)."""
        return len(self._stale)

    def _check_stale(self, example_id: int) -> None:
        """Re-check what changed before answering about `example_id`. An edit can change other
        examples' findings (deleting an original un-flags its copy), so all changed examples are
        checked, unless a bulk edit changed too many to do it between two key presses."""
        if not self._stale:
            return
        if len(self._stale) <= STALE_CHECK_LIMIT:
            for stale_id in list(self._stale):
                self._revalidate_id(stale_id)
        elif example_id in self._stale:
            self._revalidate_id(example_id)

    def revalidate(self, pos: int) -> list[Finding]:
        """Re-run the per-example rules and the duplicate check on one example, now."""
        example_id = self._id_at(pos)
        self._revalidate_id(example_id)
        return self.findings_for(pos)

    def _revalidate_id(self, example_id: int) -> None:
        derived = self._derived
        self._stale.discard(example_id)
        self._rows.pop(example_id, None)
        self._findings_rev += 1
        old_key = derived.key(example_id)
        pos = self._pos_of(example_id)
        if pos is None:  # deleted: its findings go, and its copies may no longer be duplicates
            derived.findings.pop(example_id, None)
            derived.set_key(example_id, 0)
            self._refresh_duplicates(old_key)
            return
        analyser = self._get_analyser()
        if analyser is None:
            return
        analysis = analyser.analyse_record(self._record_for_validation(example_id, pos))
        if analysis.tokens >= 0:
            derived.remember_token(example_id, analysis.tokens)
        if analysis.findings:
            derived.findings[example_id] = list(analysis.findings)
        else:
            derived.findings.pop(example_id, None)
        key = analysis.exact_key or 0
        derived.set_key(example_id, key)
        self._refresh_duplicates(old_key)
        if key != old_key:
            self._refresh_duplicates(key)

    def _refresh_duplicates(self, key: int) -> None:
        """Re-derive duplicate_example for every example with content `key`: each one after
        the first (in the current order) is a duplicate of the first."""
        if not key or self._report is None:
            return  # before a full pass nothing is known about the other examples
        derived = self._derived
        members = sorted(
            (pos, example_id)
            for example_id in derived.owners(key)
            if (pos := self._pos_of(example_id)) is not None
        )
        first = ""
        for rank, (pos, example_id) in enumerate(members):
            found = [
                f for f in derived.findings.get(example_id, ()) if f.code != "duplicate_example"
            ]
            line = self._index.line(example_id) if example_id >= 0 and self._index else 0
            if rank == 0:
                first = f"line {line}" if line else f"example {pos + 1} (not saved yet)"
            else:
                found.append(
                    Finding(
                        "duplicate_example",
                        Severity.WARNING,
                        line,
                        pos,
                        f"duplicate of {first} (ignoring whitespace); duplicates over-weight one "
                        "example: remove one",
                    )
                )
            if found:
                derived.findings[example_id] = found
            else:
                derived.findings.pop(example_id, None)
            self._rows.pop(example_id, None)

    def validate_all(self, progress: Callable[[int, int], None] | None = None) -> ValidationReport:
        """Validate the current content (edits included) in one pass; refreshes `findings`,
        token counts and the duplicate table. Raises what the validator raises when it cannot
        start (e.g. an unknown encoding or a local model without a tokenizer), and whatever
        `progress` raises (to cancel).

        It may run in a thread worker while the UI keeps editing: it validates a snapshot of
        the content, and examples edited during the pass are re-checked afterwards."""
        from ftui.core.validation.validate import DatasetValidator

        self.ensure_indexed()
        validator = DatasetValidator(self._validation_options(), path=self.path)
        # Snapshot: edits replace overlay values (never mutate them), so copies of the order and
        # of the overlay dict are the content as of now.
        version = self.version
        id_of: range | array[int] = (
            range(len(self)) if self._order is None else array("q", self._order)
        )
        overlay = dict(self._overlay)
        touched: set[int] = set()
        self._touched_during_pass = touched
        try:
            report, derived = self._validate_snapshot(validator, id_of, overlay, progress)
        finally:
            self._touched_during_pass = None
        self._derived = derived
        self._analyser = self._analyser or validator
        self._stale = touched  # what changed while the pass ran is checked again
        self._rows.clear()
        self._report = report
        self._findings_rev += 1
        self.version += 1
        self._validated_version = self.version if version + 1 == self.version else -1
        return report

    def _validate_snapshot(
        self,
        validator: DatasetValidator,
        id_of: range | array[int],
        overlay: dict[int, Any],
        progress: Callable[[int, int], None] | None,
    ) -> tuple[ValidationReport, ExampleFacts]:
        total = len(id_of)
        derived = ExampleFacts.for_base(self.indexed_count)
        for pos in range(total):
            example_id = id_of[pos]
            analysis = validator.analyse_record(
                self._record_for_validation(example_id, pos, overlay)
            )
            found = validator.merge(analysis)
            if found:
                derived.findings[example_id] = list(found)
            if analysis.tokens >= 0:
                derived.remember_token(example_id, analysis.tokens)
            if analysis.exact_key:
                derived.set_key(example_id, analysis.exact_key)
            if progress is not None and (pos % 2000 == 0 or pos == total - 1):
                progress(pos + 1, total)
        report = validator.finish()
        for finding in report.findings:
            if 0 <= finding.example < total:
                target = id_of[finding.example]
                if finding not in derived.findings.get(target, ()):
                    derived.findings.setdefault(target, []).append(finding)
            elif finding.example < 0:
                derived.file_findings.append(finding)
        return report, derived

    def _record_for_validation(
        self, example_id: int, pos: int, overlay: dict[int, Any] | None = None
    ) -> RawRecord:
        overlay = self._overlay if overlay is None else overlay
        if example_id in overlay:
            line = self._index.line(example_id) if example_id >= 0 and self._index else 0
            return RawRecord(
                index=pos, line=line, offset=-1, length=0, value=overlay[example_id], finding=None
            )
        record = self._base_record(example_id)
        if record.index != pos:
            record.index = pos
            if record.finding is not None:
                record.finding = at_position(record.finding, pos)
        return record

    # ------------------------------------------------------------------ saving

    def changed_on_disk(self) -> str | None:
        """How the file on disk differs from the version this session edits (None: it doesn't)."""
        try:
            now = FileFingerprint.of(self.path)
        except FileNotFoundError:
            return "it was deleted or renamed"
        except OSError as exc:
            return f"it cannot be read any more ({exc.strerror or exc})"
        return self._source.describe_change(now)

    def save(self, path: str | os.PathLike[str] | None = None, *, force: bool = False) -> Path:
        """Write the current content atomically, in the file's own format, and continue editing
        the saved file. Raises FileChangedError if the file changed on disk (unless force)."""
        target = Path(os.path.abspath(os.fspath(path))) if path is not None else self.path
        self.ensure_indexed()
        if target == self.path and not force:
            change = self.changed_on_disk()
            if change is not None:
                raise FileChangedError(self.path, change)
        self._check_source_intact()
        with _writing(target) as handle:
            self._write(handle, range(len(self)), pause_for_tests=True)
        self._after_save(target)
        _remove_stale_temp_files(target)
        return target

    def _check_source_intact(self) -> None:
        """Unedited examples are copied from the file as it was opened; if another program
        rewrote it in place, those bytes are gone and no consistent file can be written."""
        if not self._source.still_in(self._fd):
            raise SourceRewrittenError(self.path)

    def export(self, positions: Iterable[int], path: str | os.PathLike[str]) -> Path:
        """Write the examples at `positions` (in view order) to a new file, atomically, in this
        dataset's format; a .jsonl name gives JSON lines, a .json name a JSON array."""
        target = Path(os.path.abspath(os.fspath(path)))
        if target == self.path:
            raise ValueError("export to the dataset itself would overwrite it; choose another file")
        chosen = sorted({int(p) for p in positions})
        for pos in chosen:
            self._id_at(pos)
        self.ensure_indexed()
        self._check_source_intact()
        kind = "json_array" if target.suffix.lower() == ".json" else "jsonl"
        with _writing(target) as handle:
            self._write(handle, chosen, kind=kind)
        return target

    def _write(
        self,
        handle: IO[bytes],
        positions: Iterable[int],
        *,
        kind: str | None = None,
        pause_for_tests: bool = False,
    ) -> None:
        """Write the examples at `positions` in the file's layout. Runs of unedited records that
        are consecutive in the original are copied as one block, separators included."""
        style = self._get_style()
        same_kind = kind is None or kind == style.kind
        out = style if same_kind else RecordLayout.default(kind or style.kind)
        index = self._index
        items = positions if isinstance(positions, range) else list(positions)
        pause_at = len(items) // 2
        pause = float(os.environ.get(SAVE_PAUSE_ENV, "0") or 0) if pause_for_tests else 0.0
        overlay = self._overlay
        order = self._order
        run_first = run_last = -1  # a run of original records to copy as one block

        def flush() -> None:
            assert index is not None
            start = index.offset(run_first)
            stop = index.offset(run_last) + index.length(run_last)
            data = os.pread(self._fd, stop - start, start)
            if len(data) != stop - start:
                raise FileChangedError(self.path, "it is shorter than when it was indexed")
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
                handle.write(out.render(self._value_by_id(example_id)))
        if run_first >= 0:
            flush()
        handle.write(out.tail if len(items) else out.empty_tail)

    def _after_save(self, target: Path) -> None:
        """Re-bind to the saved file: it is the new original; edits and journal are done.
        What validation knew carries over (example ids become the new file's positions)."""
        count = len(self)
        id_of: range | array[int] = range(count) if self._order is None else self._order
        derived = self._derived.renumbered(id_of)
        stale = {p for p, example_id in enumerate(id_of) if example_id in self._stale}
        self._clear_journal()
        self._bind(target)
        try:
            self._index = build_index(target)
        except DatasetError:  # saved with no example left: an empty file
            self._index = ExampleIndex(target, "jsonl")
        self._scanner = None
        self.indexing_done = True
        self._order = None
        self._overlay.clear()
        self._undo.clear()
        self._redo.clear()
        self._saved_top = None
        self._derived = derived
        self._stale = stale
        self._rows.clear()
        self._pending = None
        self._structure_changed()
        self._findings_rev += 1
        self.version += 1

    def _get_style(self) -> RecordLayout:
        if self._style is None:
            self._style = RecordLayout.detect(self._index, self._fd, self._source.size)
        return self._style


# ---------------------------------------------------------------------- helpers


def _clone(value: Any) -> Any:
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
