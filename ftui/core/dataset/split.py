"""Split a dataset into train / validation / test files, keeping duplicates together.

Examples are grouped by their exact signature (whitespace-normalised content, the same one the
validator uses for `duplicate_example`), and whole groups are assigned to splits in a seeded random
order, so a duplicated example never sits on both sides of a split. Records are copied byte for
byte (no re-serialisation), and the outputs are replaced together (`atomic_group`): a kill
leaves the previous split or the new one, never train from one and validation from another.
"""

from __future__ import annotations

import os
import random
from array import array
from dataclasses import dataclass, field
from pathlib import Path

from ftui.core.dataset.atomic import atomic_group, settle
from ftui.core.dataset.convert import RecordWriter, writes_array
from ftui.core.dataset.formats import DatasetFormat, detect_format, to_chat_issues
from ftui.core.dataset.reader import iter_records, iter_spans
from ftui.core.dataset.signatures import example_signatures

SPLITS = ("train", "val", "test")


class SplitError(Exception):
    """The split could not be made; nothing was written."""


@dataclass
class SplitResult:
    counts: dict[str, int] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    duplicate_groups: int = 0  # groups of 2+ identical examples kept in one split
    skipped: list[tuple[int, str]] = field(default_factory=list)
    # Split files of an earlier split that this one did not write (a test file, when this split
    # has none): left as they were, but their examples may now be in train.
    stale: list[Path] = field(default_factory=list)


def split_paths(path: str | os.PathLike[str]) -> dict[str, Path]:
    """x.jsonl -> x.train.jsonl, x.val.jsonl, x.test.jsonl (beside it)."""
    p = Path(path)
    return {name: p.with_name(f"{p.stem}.{name}{p.suffix}") for name in SPLITS}


def _target(size: float, n: int) -> int:
    """A fraction (< 1) of n, or an absolute count (>= 1)."""
    if size < 0:
        raise SplitError(f"a split size can't be negative ({size})")
    return round(size * n) if size < 1 else int(size)


def split_file(
    path: str | os.PathLike[str],
    *,
    val: float = 0.1,
    test: float = 0.0,
    seed: int = 0,
    fmt: DatasetFormat | str | None = None,
    skip_invalid: bool = False,
) -> SplitResult:
    """Write IN's train/val(/test) siblings; `val`/`test` are fractions (<1) or counts (>=1)."""
    settle(path)  # a split of this file killed mid-way is completed before it is read again
    source_fmt = DatasetFormat(fmt) if fmt else detect_format(path)
    # Pass 1: a signature per example (8 bytes each), grouped by first occurrence.
    group_of = array("q")  # example -> group id
    group_sizes = array("q")
    first_group: dict[int, int] = {}
    result = SplitResult()
    for record in iter_records(path, exact_numbers=False):  # only hashed, never written
        chat = None
        if record.value is not None:
            chat, _ = to_chat_issues(record.value, source_fmt)
        if chat is None:
            reason = record.finding.message if record.finding else "not an example of this format"
            result.skipped.append((record.line, reason))
            group_of.append(-1)
            continue
        messages = chat.get("messages", [])
        key = example_signatures(messages if isinstance(messages, list) else [], chat.get("tools"))[
            0
        ]
        group = first_group.setdefault(key, len(group_sizes))
        if group == len(group_sizes):
            group_sizes.append(0)
        group_sizes[group] += 1
        group_of.append(group)
    if result.skipped and not skip_invalid:
        listed = "\n".join(f"  line {line}: {why}" for line, why in result.skipped[:10])
        raise SplitError(
            f"{path}: {len(result.skipped)} record(s) can't be read; nothing was written:\n"
            f"{listed}\nfix them, or pass --skip-invalid to leave them out"
        )
    del first_group
    n = sum(group_sizes)
    n_test, n_val = _target(test, n), _target(val, n)
    if n_val + n_test > n:
        raise SplitError(f"asked for {n_val} validation + {n_test} test examples of only {n}")
    order = list(range(len(group_sizes)))
    random.Random(seed).shuffle(order)
    assignment = array("b", bytes(len(group_sizes)))  # 0 train, 1 val, 2 test
    taken = [0, 0, 0]
    for group in order:
        size = group_sizes[group]
        if taken[2] < n_test:
            split = 2
        elif taken[1] < n_val:
            split = 1
        else:
            split = 0
        assignment[group] = split
        taken[split] += size
    result.duplicate_groups = sum(1 for size in group_sizes if size > 1)
    # Pass 2: copy each record's bytes to its split; the files change together or not at all.
    paths = split_paths(path)
    wanted = [name for name, count in zip(SPLITS, taken, strict=True) if count or name != "test"]
    as_array = writes_array(path)
    with atomic_group([paths[name] for name in wanted]) as handles:
        writers = [RecordWriter(handle, as_array) for handle in handles]
        for _layout, spans in iter_spans(path):
            for index, (_offset, _line, _length, data, _truncated) in enumerate(spans):
                group = group_of[index]
                if group < 0 or data is None:
                    continue
                writers[assignment[group]].write_raw(data)
        for writer in writers:
            writer.close()
    for name, count in zip(SPLITS, taken, strict=True):
        if name in wanted:
            result.counts[name] = count
            result.paths[name] = paths[name]
        elif paths[name].exists():
            result.stale.append(paths[name])
    return result
