"""The launcher on plain processes: detached, found again safely, stopped gently or not."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from pathlib import Path

from train_helpers import wait_for

from ftui.services import launcher
from ftui.services.runs import atomic_write_json


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_launched_process_is_detached_and_recorded(tmp_path: Path) -> None:
    record = launcher.launch(
        tmp_path, argv=python("import time\nfor i in range(30): print('line', i)\ntime.sleep(30)")
    )
    try:
        assert launcher.read_process(tmp_path) == record
        assert launcher.is_running(tmp_path)
        assert os.getsid(record.pid) == record.pid != os.getsid(0)  # its own session, no tty
        assert os.readlink(f"/proc/{record.pid}/fd/0") == "/dev/null"
        assert os.readlink(f"/proc/{record.pid}/fd/1") == str(tmp_path / "train.log")
        wait_for(lambda: "line 29" in (tmp_path / "train.log").read_text(), 10, "its output")
        assert launcher.last_log_lines(tmp_path, 3) == ["line 27", "line 28", "line 29"]
    finally:
        assert asyncio.run(launcher.stop(tmp_path, grace_s=10)) == "stopped"
    assert not launcher.is_running(tmp_path)


def test_a_reused_pid_is_not_mistaken_for_the_run(tmp_path: Path) -> None:
    record = launcher.launch(tmp_path, argv=["sleep", "30"])
    try:
        impostor = dataclasses.replace(record, start_time="1")
        assert launcher.pid_alive(record)
        assert not launcher.pid_alive(impostor)
        atomic_write_json(tmp_path / launcher.PROCESS_FILE, dataclasses.asdict(impostor))
        assert not launcher.is_running(tmp_path)
        assert asyncio.run(launcher.stop(tmp_path, grace_s=1)) == "not-running"
        assert launcher.pid_alive(record)  # the impostor record never signalled the real one
    finally:
        atomic_write_json(tmp_path / launcher.PROCESS_FILE, dataclasses.asdict(record))
        asyncio.run(launcher.stop(tmp_path, grace_s=5))


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    record = launcher.launch(tmp_path, argv=python(code))
    # (the log's first line echoes the command, so wait for the line the child prints)
    wait_for(lambda: launcher.last_log_lines(tmp_path, 1) == ["ready"], 10, "the child to start")
    assert asyncio.run(launcher.stop(tmp_path, grace_s=0.5)) == "killed"
    assert not launcher.pid_alive(record)


def test_records_from_elsewhere_are_not_judged_here(tmp_path: Path) -> None:
    assert launcher.read_process(tmp_path) is None
    (tmp_path / launcher.PROCESS_FILE).write_text("{not json")
    assert launcher.read_process(tmp_path) is None
    assert not launcher.is_running(tmp_path)
    remote = launcher.ProcessRecord(pid=1, start_time="5", host="another-host", argv=["x"])
    atomic_write_json(tmp_path / launcher.PROCESS_FILE, dataclasses.asdict(remote))
    assert launcher.is_running(tmp_path)  # cannot be checked from here: never called dead
    assert launcher.request_stop(tmp_path) is None


def test_multi_gpu_runs_go_through_accelerate_one_process_per_gpu(tmp_path: Path) -> None:
    single = launcher.training_command(tmp_path, resume=True)
    assert single == [sys.executable, "-m", "ftui.train", str(tmp_path), "--resume"]
    multi = launcher.training_command(tmp_path, processes=4)
    assert multi[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    assert multi[multi.index("--num_processes") + 1] == "4"
    assert multi[-3:] == ["-m", "ftui.train", str(tmp_path)]
