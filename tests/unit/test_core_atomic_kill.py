"""Killed writers: a split's files change together or not at all; temp files don't outlive
their writer.

The writers run as real `ftui` processes and are SIGKILLed where the FTUI_TEST_COMMIT_PAUSE hook
holds them: with every temp file written, or between the renames of a split.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ftui.core.dataset.atomic import (
    COMMIT_PAUSE_ENV,
    atomic_group,
    atomic_write_bytes,
    remove_stale_temp_files,
    settle,
)
from ftui.core.dataset.reader import iter_records


def _dataset(tmp_path: Path, n: int = 300) -> Path:
    path = tmp_path / "data.jsonl"
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"Question number {i}?"},
                {"role": "assistant", "content": f"Answer number {i}."},
            ]
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _contents(path: Path) -> set[str]:
    return {json.dumps(r.value) for r in iter_records(path)}


def _ftui(*args: str, pause: str | None = None) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if pause:
        env[COMMIT_PAUSE_ENV] = pause
    return subprocess.Popen(
        [sys.executable, "-m", "ftui", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for(condition, what: str, process: subprocess.Popen[bytes]) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 120
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the writer exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(30)


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_a_split_killed_between_its_renames_is_completed_by_the_next_command(
    tmp_path: Path,
) -> None:
    source = _dataset(tmp_path)
    train, val = tmp_path / "data.train.jsonl", tmp_path / "data.val.jsonl"
    assert (
        subprocess.run(
            [sys.executable, "-m", "ftui", "split", str(source), "--seed", "1"], check=False
        ).returncode
        == 0
    )
    old_train, old_val = _contents(train), _contents(val)
    old_inode = train.stat().st_ino
    writer = _ftui("split", str(source), "--seed", "2", pause="mid-commit:120")
    journals = lambda: [p for p in tmp_path.iterdir() if p.name.endswith(".json")]  # noqa: E731
    _wait_for(lambda: journals() and train.stat().st_ino != old_inode, "the first rename", writer)
    _kill(writer)
    # Killed mid-commit: train is the new split's, validation still the old one's.
    assert _contents(train) != old_train and _contents(val) == old_val
    assert journals(), "the commit journal survives the kill"
    done = subprocess.run(
        [sys.executable, "-m", "ftui", "validate", str(val), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    new_train, new_val = _contents(train), _contents(val)
    assert not new_train & new_val and new_train | new_val == _contents(source)
    assert not journals() and sorted(p.name for p in tmp_path.iterdir()) == [
        "data.jsonl",
        "data.train.jsonl",
        "data.val.jsonl",
    ]
    # ... and it is exactly the split the killed run was making.
    again = tmp_path / "again"
    again.mkdir()
    copy = again / "data.jsonl"
    copy.write_bytes(source.read_bytes())
    subprocess.run(
        [sys.executable, "-m", "ftui", "split", str(copy), "--seed", "2"],
        check=True,
        capture_output=True,
    )
    assert (again / "data.train.jsonl").read_bytes() == train.read_bytes()
    assert (again / "data.val.jsonl").read_bytes() == val.read_bytes()


def test_a_split_killed_before_its_renames_changes_nothing_and_its_temps_go(
    tmp_path: Path,
) -> None:
    source = _dataset(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "ftui", "split", str(source)], check=True, capture_output=True
    )
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    writer = _ftui("split", str(source), "--seed", "7", pause="before-commit:120")
    temps = lambda: [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # noqa: E731
    _wait_for(lambda: len(temps()) == 2, "both temp files", writer)
    _kill(writer)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in before} == before
    assert all(f".{writer.pid}." in p.name for p in temps())
    settle(tmp_path / "data.train.jsonl")
    settle(tmp_path / "data.val.jsonl")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_killed_convert_leaves_a_temp_file_that_the_next_convert_removes(
    tmp_path: Path,
) -> None:
    source = _dataset(tmp_path, 50)
    target = tmp_path / "out.jsonl"
    writer = _ftui(
        "convert", str(source), str(target), "--to", "sharegpt", pause="before-commit:120"
    )
    temps = lambda: [p for p in tmp_path.iterdir() if p.name.startswith(".out.jsonl.")]  # noqa: E731
    _wait_for(lambda: bool(temps()) and temps()[0].stat().st_size > 0, "the temp file", writer)
    _kill(writer)
    assert not target.exists() and len(temps()) == 1
    done = subprocess.run(
        [sys.executable, "-m", "ftui", "convert", str(source), str(target), "--to", "sharegpt"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not temps() and len(list(iter_records(target))) == 50


def test_only_temp_files_of_gone_writers_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "d.jsonl"
    dead = tmp_path / f".d.jsonl.{_dead_pid()}.0123abcd.tmp"
    alive = tmp_path / f".d.jsonl.{os.getpid()}.0123abcd.tmp"
    other = tmp_path / ".d.jsonl.notes.tmp"  # no pid in it: kept while under an hour old
    for path in (dead, alive, other):
        path.write_bytes(b"partial")
    assert remove_stale_temp_files(target) == [dead]
    assert alive.exists() and other.exists()
    atomic_write_bytes(target, b"{}\n")
    assert target.read_bytes() == b"{}\n" and not dead.exists()


def test_a_group_that_fails_changes_no_file(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(b"old a\n")
    with pytest.raises(RuntimeError), atomic_group([a, b]) as (ha, hb):
        ha.write(b"new a\n")
        hb.write(b"new b\n")
        raise RuntimeError("disk full")
    assert a.read_bytes() == b"old a\n" and not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl"]
    with atomic_group([a, b]) as (ha, hb):
        ha.write(b"new a\n")
        hb.write(b"new b\n")
    assert a.read_bytes() == b"new a\n" and b.read_bytes() == b"new b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl", "b.jsonl"]
