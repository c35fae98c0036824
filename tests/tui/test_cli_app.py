"""`ftui [PATH]` and `ftui demo` from a shell: bad paths are refused before any screen appears,
the demo works in a real terminal, and its tiny local model is built in the background."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ftui.cli import cli
from ftui.commands.app import demo_model_dir, start_demo_model_build
from ftui.config import Config
from ftui.tui.workspace_state import last_dataset, remember_dataset


def test_a_missing_dataset_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1
    assert "nope.jsonl: no such file" in result.output and "ftui demo" in result.output


def test_a_folder_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["open", str(tmp_path), "--home", str(tmp_path / "h")])
    assert result.exit_code == 1
    assert "is a folder" in result.output


def test_the_last_dataset_is_remembered(tmp_path: Path) -> None:
    config = Config(home=tmp_path / "home")
    assert last_dataset(config) is None
    remember_dataset(config, tmp_path / "data.jsonl")
    assert last_dataset(config) == tmp_path / "data.jsonl"
    (config.home / "workbench.json").write_text("{not json")
    assert last_dataset(config) is None  # a damaged file is not an error


def run_in_terminal(args: list[str], env: dict[str, str], timeout: float = 60) -> int:
    """Run the real `ftui` in a pseudo-terminal (Textual needs one) and return its exit code."""
    leader, follower = os.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "ftui", *args],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            env=env,
            close_fds=True,
        )
        os.close(follower)
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            try:
                os.read(leader, 65536)  # keep the terminal drained
            except OSError:
                time.sleep(0.01)
        if process.poll() is None:
            process.kill()
            raise AssertionError("ftui did not exit")
        return process.returncode
    finally:
        os.close(leader)


def test_demo_opens_in_a_terminal_and_quits_on_q(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "TEXTUAL_PRESS": "q", "TERM": "xterm-256color"}
    code = run_in_terminal(["demo", "--home", str(home), "--no-model"], env)
    assert code == 0
    assert (home / "workspaces" / "demo" / "demo_chat.jsonl").is_file()


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_the_demo_model_is_built_in_the_background(tmp_path: Path) -> None:
    from ftui.core.dataset.demo import create_demo_workspace

    config = Config(home=tmp_path / "home")
    config.ensure_dirs()
    dataset = create_demo_workspace(config.workspaces_dir / "demo")
    notice = start_demo_model_build(config, dataset)
    assert notice is not None and "in the background" in notice
    target = demo_model_dir(config)
    deadline = time.monotonic() + 300  # generous: CI shares its cores
    while not (target / "config.json").is_file() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert (target / "config.json").is_file(), (config.models_dir / "tiny-demo.log").read_text()
    assert (target / "tokenizer.json").is_file()
    assert start_demo_model_build(config, dataset) is None  # built once only
