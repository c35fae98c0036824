"""Reading and tailing event logs: partial lines, missing files, truncation, rotation, bad lines."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from ftui.core.runs.events import EventWriter, encode_event
from ftui.services.eventlog import EventTailer, read_chunk, read_events


def line(step: int) -> bytes:
    return encode_event({"ts": float(step), "type": "metric", "step": step, "values": {"x": step}})


def steps(events: list[dict]) -> list[int]:
    return [event["step"] for event in events]


def test_read_events_stops_before_a_partial_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(line(1) + line(2) + line(3)[:10])
    events, offset = read_events(path)
    assert steps(events) == [1, 2]
    assert offset == len(line(1) + line(2))
    with path.open("ab") as handle:
        handle.write(line(3)[10:])
    events, offset = read_events(path, offset)
    assert steps(events) == [3]
    assert offset == path.stat().st_size


def test_read_chunk_skips_and_counts_invalid_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(line(1) + b"{broken\n" + b"\n" + b"[1, 2]\n" + b'{"no": "type"}\n' + line(2))
    chunk = read_chunk(path)
    assert steps(chunk.events) == [1, 2]
    assert chunk.invalid == 3
    assert chunk.offsets == [0, path.stat().st_size - len(line(2))]


def test_read_chunk_on_missing_and_truncated_files(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    missing = read_chunk(path, 0)
    assert missing.events == [] and missing.end == 0 and not missing.truncated
    path.write_bytes(line(1))
    assert read_chunk(path, 1000).truncated
    events, offset = read_events(path, 1000)  # a rewritten file is read from its start
    assert steps(events) == [1] and offset == len(line(1))


def test_read_chunk_respects_max_bytes_without_splitting_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(line(i) for i in range(100)))
    seen: list[int] = []
    offset = 0
    while True:
        chunk = read_chunk(path, offset, max_bytes=150)
        if chunk.end == offset:
            break
        seen += steps(chunk.events)
        offset = chunk.end
    assert seen == list(range(100))
    # One line longer than max_bytes is still read whole rather than stalling.
    long_line = encode_event({"ts": 0.0, "type": "log", "level": "info", "message": "x" * 1000})
    path.write_bytes(long_line)
    assert len(read_chunk(path, 0, max_bytes=100).events) == 1


def test_tailer_waits_for_the_file_and_for_newlines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    tailer = EventTailer(path)
    assert tailer.read_available() == []  # no file yet
    path.write_bytes(line(1)[:5])
    assert tailer.read_available() == []  # a write in progress
    with path.open("ab") as handle:
        handle.write(line(1)[5:] + line(2))
    assert steps(tailer.read_available()) == [1, 2]
    assert tailer.offset == path.stat().st_size


def test_tailer_restarts_after_truncation(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(line(1) + line(2) + line(3))
    tailer = EventTailer(path)
    assert steps(tailer.read_available()) == [1, 2, 3]
    with path.open("r+b") as handle:
        handle.truncate(0)
        handle.write(line(7))
    assert steps(tailer.read_available()) == [7]
    assert tailer.restarts == 1


def test_tailer_drains_a_rotated_file_then_follows_the_new_one(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(line(1))
    tailer = EventTailer(path)
    assert steps(tailer.read_available()) == [1]
    with path.open("ab") as old:
        old.write(line(2))  # written just before rotation: must not be lost
    os.rename(path, tmp_path / "events.jsonl.1")
    path.write_bytes(line(10) + line(11))  # bigger than nothing, smaller than the old offset
    assert steps(tailer.read_available()) == [2]
    assert steps(tailer.read_available()) == [10, 11]
    assert tailer.restarts == 1


def test_tailer_counts_invalid_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(line(1) + b"garbage\n" + line(2))
    tailer = EventTailer(path)
    assert steps(tailer.read_available()) == [1, 2]
    assert tailer.invalid_lines == 1


async def test_tailer_follows_a_live_writer_until_stopped(tmp_path: Path) -> None:
    path = tmp_path / "run" / "events.jsonl"
    tailer = EventTailer(path, poll_interval=0.01)
    received: list[dict] = []

    async def consume() -> None:
        async for event in tailer:
            received.append(event)
            if event.get("type") == "status" and event["status"] == "succeeded":
                tailer.stop()

    async def produce() -> None:
        with EventWriter(path) as writer:
            for step in range(1, 51):
                writer.metric(step, {"train_loss": 1.0 / step})
                if step % 10 == 0:
                    await asyncio.sleep(0.01)
            writer.status("succeeded")

    await asyncio.wait_for(asyncio.gather(consume(), produce()), timeout=10)
    assert steps(received[:-1]) == list(range(1, 51))
    assert received[-1]["status"] == "succeeded"
    assert tailer.stopped


async def test_tailer_from_an_offset_yields_only_newer_events(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(line(1) + line(2))
    _, offset = read_events(path)
    with path.open("ab") as handle:
        handle.write(line(3))
    tailer = EventTailer(path, offset=offset, poll_interval=0.01)
    batches = tailer.batches()
    first = await asyncio.wait_for(anext(batches), timeout=5)
    tailer.stop()
    assert steps(first) == [3]
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(batches), timeout=5)


def test_offset_of_last_lines(tmp_path: Path) -> None:
    from ftui.services.eventlog import offset_of_last_lines

    path = tmp_path / "events.jsonl"
    assert offset_of_last_lines(path, 3) == 0  # no file
    path.write_bytes(b"".join(line(i) for i in range(10)) + line(10)[:7])  # partial last line
    offset = offset_of_last_lines(path, 3)
    assert steps(read_events(path, offset)[0]) == [7, 8, 9]
    assert offset_of_last_lines(path, 50) == 0
    assert steps(read_events(path, offset_of_last_lines(path, 0))[0]) == []
    path.write_bytes(b"".join(line(i) for i in range(10)))
    assert offset_of_last_lines(path, 0) == path.stat().st_size
    assert steps(read_events(path, offset_of_last_lines(path, 2))[0]) == [8, 9]
