"""Log panel lines: classifying and splitting a trainer's raw output, and tailing train.log."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ftui.core.runs.kinds import AlertEvent, LogEvent, MetricEvent, StatusEvent
from ftui.core.runs.log_lines import (
    LogLine,
    classify,
    event_line,
    flush_pending,
    split_output,
)
from ftui.services.output_log import OutputTailer, offset_of_last_lines


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("Traceback (most recent call last):", "error"),
        ("RuntimeError: expected scalar type Float", "error"),
        ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", "error"),
        ("ERROR:root:the dataset is empty", "error"),
        ("error: unrecognized arguments", "error"),
        ("Killed", "error"),
        ("/x/trainer.py:12: UserWarning: the tokenizer has no pad token", "warning"),
        ("FutureWarning: `tokenizer` is deprecated", "warning"),
        ("WARNING:accelerate:no GPU found", "warning"),
        ("DEBUG loading shards", "debug"),
        ("{'loss': 2.31, 'grad_norm': 1.2, 'epoch': 0.5}", "info"),
        ("validation: 0 errors, 2 warnings_total", "info"),
        ("error_rate 0.01", "info"),
    ],
)
def test_classify_raw_output(text: str, level: str) -> None:
    assert classify(text) == level


def test_split_output_collapses_carriage_return_rewrites() -> None:
    chunk = "start\n\r 10%|#   |\r 20%|##  |\r 30%|### |\ndone\n"
    lines, pending = split_output(chunk, "")
    assert [line.text for line in lines] == ["start", " 30%|### |", "done"]
    assert pending == ""


def test_split_output_keeps_an_incomplete_last_line_pending() -> None:
    lines, pending = split_output("one\ntw", "")
    assert [line.text for line in lines] == ["one"]
    lines, pending = split_output("o\nthree", pending)
    assert [line.text for line in lines] == ["two"]
    assert pending == "three"
    assert flush_pending(pending) == [LogLine("three", "info")]


def test_a_bar_split_across_chunks_ends_in_its_last_state_and_stays_small() -> None:
    pending = ""
    collected: list[LogLine] = []
    for percent in range(0, 101):
        lines, pending = split_output(f"\r{percent:3d}%|{'#' * (percent // 10)}", pending)
        collected += lines
        assert len(pending) < 40  # only the newest state (and the one before) is kept
    lines, pending = split_output("\r\n", pending)  # tqdm closes a bar with "\r" then "\n"
    collected += lines
    assert [line.text for line in collected] == ["100%|##########"]
    assert pending == ""


def test_split_output_drops_terminal_escapes_and_blank_lines_and_reads_crlf() -> None:
    lines, _ = split_output("\x1b[31mred\x1b[0m\r\n\n  \nwarning:\tx\r\n", "")
    assert [(line.text, line.level) for line in lines] == [
        ("red", "info"),
        ("warning:        x", "warning"),
    ]


def test_event_lines_leave_metrics_out_and_carry_levels() -> None:
    assert event_line(MetricEvent(step=1, values={"train_loss": 1.0}, ts=1.0)) is None
    log = event_line(LogEvent(message="loading", level="warning", ts=5.0))
    assert log is not None and log.level == "warning" and log.ts == 5.0
    assert "loading" in log.text
    failed = event_line(StatusEvent(status="failed", error="boom"))
    assert failed is not None and failed.level == "error" and "boom" in failed.text
    nan = event_line(AlertEvent(kind="nan_loss", message="loss is nan"))
    stalled = event_line(AlertEvent(kind="stalled", message="no step for 10 min"))
    assert nan is not None and nan.level == "error"
    assert stalled is not None and stalled.level == "warning"
    odd = event_line(LogEvent(message="x", level="chatty"))
    assert odd is not None and odd.level == "info"


# -- the tailer -------------------------------------------------------------------------------


def test_tailer_waits_for_a_file_that_does_not_exist_yet(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    tailer = OutputTailer(path)
    assert tailer.read_available() == []
    path.write_text("hello\nwor")
    assert [line.text for line in tailer.read_available()] == ["hello"]
    with path.open("a") as handle:
        handle.write("ld\n")
    assert [line.text for line in tailer.read_available()] == ["world"]
    tailer.close()


def test_tailer_reads_a_flood_in_bounded_slices(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    path.write_text("".join(f"line {number}\n" for number in range(20_000)))
    tailer = OutputTailer(path)
    slices = []
    while True:
        lines = tailer.read_available(max_bytes=16 * 1024)
        slices.append(lines)
        if tailer.at_end:
            break
    assert len(slices) > 10
    assert all(len(lines) <= 16 * 1024 // 7 for lines in slices)  # "line N\n" is >= 7 bytes
    texts = [line.text for lines in slices for line in lines]
    assert texts == [f"line {number}" for number in range(20_000)]
    tailer.close()


def test_tailer_decodes_invalid_utf8_and_a_character_split_between_reads(
    tmp_path: Path,
) -> None:
    path = tmp_path / "train.log"
    path.write_bytes(b"bad \xff\xfe byte\n" + "café\n".encode())
    tailer = OutputTailer(path)
    # One byte at a time: "é" is two bytes, read in two calls, and still decoded whole.
    texts = []
    while True:
        texts += [line.text for line in tailer.read_available(max_bytes=1)]
        if tailer.at_end:
            break
    assert texts == ["bad \ufffd\ufffd byte", "café"]
    with pytest.raises(ValueError, match="max_bytes must be positive"):
        tailer.read_available(max_bytes=0)
    tailer.close()


def test_tailer_starts_again_after_truncation_and_follows_a_replaced_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "train.log"
    path.write_text("old one\nold two\n")
    tailer = OutputTailer(path)
    assert len(tailer.read_available()) == 2
    path.write_text("new\n")  # truncated in place (same inode), shorter than what was read
    assert [line.text for line in tailer.read_available()] == ["new"]
    assert tailer.restarts == 1
    # Rotation: the old file is renamed away (and gets a last line), a new one takes the path.
    with path.open("a") as handle:
        handle.write("last of the old\n")
    os.replace(path, tmp_path / "train.log.1")
    path.write_text("first of the new\n")
    texts = []
    for _ in range(3):
        texts += [line.text for line in tailer.read_available()]
    assert texts == ["last of the old", "first of the new"]
    assert tailer.restarts == 2
    tailer.close()


def test_tailer_follows_a_real_subprocess_writing_a_progress_bar(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    script = textwrap.dedent(
        """
        import sys, time
        out = open(sys.argv[1], "w", buffering=1)
        for step in range(5):
            out.write(f"step {step}\\n")
            for percent in (25, 50, 75, 100):
                out.write(f"\\r{percent}%|bar|")
                out.flush()
                time.sleep(0.005)
            out.write("\\n")
        out.write("Traceback (most recent call last):\\nRuntimeError: boom\\n")
        out.close()
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script, str(path)])
    tailer = OutputTailer(path)
    lines: list[LogLine] = []
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        lines += tailer.read_available(max_bytes=64)
        time.sleep(0.002)
    process.wait(timeout=30)
    while not tailer.at_end or not lines or lines[-1].text != "RuntimeError: boom":
        lines += tailer.read_available(max_bytes=64)
        if time.monotonic() > deadline:
            break
    tailer.close()
    expected = []
    for step in range(5):
        expected += [f"step {step}", "100%|bar|"]
    expected += ["Traceback (most recent call last):", "RuntimeError: boom"]
    assert [line.text for line in lines] == expected
    assert [line.level for line in lines[-2:]] == ["error", "error"]


def test_offset_of_last_lines_starts_a_tail_without_reading_everything(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    path.write_text("".join(f"line {number}\n" for number in range(100_000)))
    offset = offset_of_last_lines(path, 3)
    tailer = OutputTailer(path, offset)
    assert [line.text for line in tailer.read_available()] == [
        "line 99997",
        "line 99998",
        "line 99999",
    ]
    tailer.close()
    assert offset_of_last_lines(tmp_path / "missing.log", 3) == 0
