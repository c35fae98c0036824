"""Validate a whole dataset file: per-example rules, cross-example checks, tokens and cost.

`validate_file()` is the fast path for a whole file: the main process indexes it (record
boundaries only, no JSON parsing), worker processes (forked, so the loaded tokenizer and the index
are shared) parse, check and count ranges of examples, and the main process merges their results
in file order into one `DatasetValidator` (validator.py; the UI drives that one directly).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

from ftui.core.dataset.formats import DatasetFormat, detect_format
from ftui.core.dataset.reader import (
    MAX_RECORD_BYTES,
    ExampleIndex,
    build_index,
    detect_layout,
    iter_records,
)
from ftui.core.pricing.tokens import LocalTokenCounter
from ftui.core.validation.analysis import ExampleAnalysis, ValidationOptions, role_pattern
from ftui.core.validation.report import ValidationReport
from ftui.core.validation.validator import DatasetValidator

__all__ = [
    "DatasetValidator",
    "ExampleAnalysis",
    "ValidationOptions",
    "ValidationReport",
    "role_pattern",
    "validate_file",
]

PARALLEL_MIN_BYTES = 2 << 20
BATCH_BYTES = 512 << 10
BATCH_RECORDS = 1_000


# --------------------------------------------------------------------------- whole files

# What the forked workers inherit: the validator and the file's index (set just before forking).
_WORKER_STATE: tuple[DatasetValidator, ExampleIndex] | None = None


def _analyse_range(task: tuple[int, int]) -> tuple[int, list[ExampleAnalysis]]:
    """Worker side: analyse examples first..stop-1; returns (byte offset reached, analyses)."""
    assert _WORKER_STATE is not None
    validator, index = _WORKER_STATE
    first, stop = task
    records = index.read_range(first, stop)
    return index.offset(stop - 1) + index.length(stop - 1), [
        validator.analyse_record(record) for record in records
    ]


def _ranges(index: ExampleIndex) -> Iterator[tuple[int, int]]:
    """Batches of ~512 KB of examples (an oversized example travels alone).

    Tasks are two ints, so the pipe to the workers holds hundreds of them: a busy machine that
    descheduled this process doesn't starve the workers.
    """
    lengths = index.lengths
    first = size = 0
    for i in range(len(index)):
        length = lengths[i]
        if length > MAX_RECORD_BYTES and i > first:
            yield first, i
            first, size = i, 0
        size += length
        if size >= BATCH_BYTES or i + 1 - first >= BATCH_RECORDS or length > MAX_RECORD_BYTES:
            yield first, i + 1
            first, size = i + 1, 0
    if first < len(index):
        yield first, len(index)


def default_workers(size: int) -> int:
    """Worker processes for a file of `size` bytes: every core, when forking is safe."""
    if size < PARALLEL_MIN_BYTES or not sys.platform.startswith("linux"):
        return 1
    if threading.active_count() > 1:
        return 1  # forking a multi-threaded process (e.g. a running UI) is not safe
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _run(
    validator: DatasetValidator,
    path: str,
    workers: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    global _WORKER_STATE
    total = os.path.getsize(path)
    if workers <= 1 or isinstance(validator.counter, LocalTokenCounter):
        for record in iter_records(path):
            validator.add(record)
            if progress is not None and record.index % 1000 == 999:
                progress(record.offset + record.length, total)
        if progress is not None:
            progress(total, total)
        return
    index = build_index(path)
    _WORKER_STATE = (validator, index)
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(workers) as pool:
            for reached, results in pool.imap(_analyse_range, _ranges(index)):
                for result in results:
                    validator.merge(result)
                if progress is not None:
                    progress(min(reached, total), total)
    finally:
        _WORKER_STATE = None
    if progress is not None:
        progress(total, total)


def validate_file(
    path: str | os.PathLike[str],
    options: ValidationOptions | None = None,
    *,
    validation_path: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ValidationReport:
    """Validate a whole file (and, with `validation_path`, check it for train/validation leakage).

    Raises DatasetError when a file can't be read at all; never for bad content.
    """
    started = time.perf_counter()
    options = options or ValidationOptions()
    path = str(path)
    detect_layout(path)  # file-level problems first, with their own message
    given_fmt = DatasetFormat(options.fmt) if options.fmt else None
    options = replace(options, fmt=given_fmt or detect_format(path))
    size = os.path.getsize(path)
    workers = options.workers if options.workers is not None else default_workers(size)
    validator = DatasetValidator(options, path=path, track_prompts=validation_path is not None)
    _run(validator, path, workers, progress)
    validation_report = None
    if validation_path is not None:
        v_path = str(validation_path)
        detect_layout(v_path)
        v_fmt = given_fmt or detect_format(v_path)
        v_options = replace(options, fmt=v_fmt)
        v_validator = DatasetValidator(v_options, path=v_path, keep_keys=True, validation_file=True)
        v_workers = (
            options.workers
            if options.workers is not None
            else default_workers(os.path.getsize(v_path))
        )
        _run(v_validator, v_path, v_workers, None)
        validator.add_leakage(v_validator, v_path)
        validation_report = v_validator.finish()
    report = validator.finish()
    report.validation = validation_report
    report.elapsed_s = time.perf_counter() - started
    return report
