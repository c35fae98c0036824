"""Processes launched the way the app launches them: reaped when they end, and given only the
environment they need (never an API key, a token or a secret)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest
from train_helpers import wait_for

from ftui.services import launcher


def process_state(pid: int) -> str | None:
    """The kernel's state letter of `pid` (Z: a zombie), None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def child_environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.partition(b"=") for item in raw.split(b"\0") if item)
    return {key.decode(): value.decode() for key, _, value in pairs}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_long_session_of_launches_leaves_no_zombie(tmp_path: Path) -> None:
    pids = []
    for index in range(6):
        run_dir = tmp_path / f"run-{index}"
        run_dir.mkdir()
        record = launcher.launch(run_dir, argv=[sys.executable, "-c", "print('done')"])
        assert parent_of(record.pid) in (os.getpid(), None)  # ours, or already gone
        pids.append(record.pid)
    # Nothing here asks whether they are alive (that would reap them on its own): they must be
    # collected by the launcher itself as they end.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = {pid: process_state(pid) for pid in pids}
        if all(state is None for state in states.values()):
            break
        time.sleep(0.05)
    zombies = [pid for pid in pids if process_state(pid) == "Z" and parent_of(pid) == os.getpid()]
    assert zombies == [], f"zombie children left: {zombies}"
    assert all(process_state(pid) is None for pid in pids)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_a_launched_process_gets_only_the_environment_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "OPENAI_API_KEY": "sk-test-do-not-leak-1",
        "OPENAI_ORG_ID": "org-do-not-leak",
        "ANTHROPIC_API_KEY": "do-not-leak-2",
        "HF_TOKEN": "hf_do_not_leak_3",
        "GITHUB_TOKEN": "ghp_do_not_leak_4",
        "AWS_SECRET_ACCESS_KEY": "do-not-leak-5",
        "FTUI_OPENAI_API_KEY": "sk-do-not-leak-6",
        "SOME_CLIENT_SECRET": "do-not-leak-7",
    }
    needed = {
        "HF_HOME": str(tmp_path / "hf"),
        "CUDA_VISIBLE_DEVICES": "0,1",
        "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
        "OMP_NUM_THREADS": "1",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
    }
    for name, value in {**secrets, **needed, "UNRELATED_SETTING": "x"}.items():
        monkeypatch.setenv(name, value)

    record = launcher.launch(
        tmp_path,
        argv=[sys.executable, "-c", "import time; time.sleep(30)"],
        extra_env={"FTUI_HOME": str(tmp_path / "home"), "OPENAI_BASE_URL": "http://x"},
    )
    try:
        env = child_environ(record.pid)
    finally:
        assert asyncio.run(launcher.stop(tmp_path, grace_s=10)) == "stopped"

    leaked = {name for name in env if name in secrets or name.startswith("OPENAI_")}
    assert leaked == set()
    assert not any(value in env.values() for value in secrets.values())
    for name, value in needed.items():
        assert env.get(name) == value, name
    assert env["PATH"] == os.environ["PATH"] and env["HOME"] == os.environ["HOME"]
    assert env["FTUI_HOME"] == str(tmp_path / "home")
    assert env["PYTHONUNBUFFERED"] == "1"
    assert "UNRELATED_SETTING" not in env


def test_the_environment_filter_keeps_what_training_reads_and_drops_credentials() -> None:
    parent = {
        "PATH": "/bin",
        "VIRTUAL_ENV": "/venv",
        "PYTHONPATH": "/src",
        "LANG": "C.UTF-8",
        "TMPDIR": "/scratch",
        "NVIDIA_VISIBLE_DEVICES": "all",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_TOKEN": "secret",
        "hf_token": "secret",  # case does not smuggle a token through
        "WANDB_API_KEY": "secret",
        "DB_PASSWORD": "secret",
        "SSH_AUTH_SOCK": "/tmp/agent",
    }
    env = launcher.child_environment(parent, {"FTUI_HOME": "/h", "FTUI_GITHUB_TOKEN": "t"})
    assert env == {
        "PATH": "/bin",
        "VIRTUAL_ENV": "/venv",
        "PYTHONPATH": "/src",
        "LANG": "C.UTF-8",
        "TMPDIR": "/scratch",
        "NVIDIA_VISIBLE_DEVICES": "all",
        "TRANSFORMERS_OFFLINE": "1",
        "FTUI_HOME": "/h",
    }


def test_the_detached_process_still_outlives_a_hang_up(tmp_path: Path) -> None:
    record = launcher.launch(tmp_path, argv=[sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert os.getsid(record.pid) == record.pid  # its own session: no SIGHUP from our tty
        assert record.start_time == launcher.process_start_time(record.pid)
        wait_for(lambda: launcher.is_running(tmp_path), 10, "the child to be seen running")
    finally:
        asyncio.run(launcher.stop(tmp_path, grace_s=10))
    assert not launcher.is_running(tmp_path)
