"""A real training run killed with SIGKILL: every reader of the history reports it failed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner
from train_helpers import CPU_ONLY, ChatData, events_of, fast_config, wait_for, wait_step

from ftui.cli import cli
from ftui.config import Config
from ftui.services import launcher
from ftui.services.backends.local import LocalBackend
from ftui.services.store import RunStore

pytestmark = pytest.mark.slow


def test_a_trainer_killed_with_sigkill_is_reported_failed_by_the_cli(
    tiny_model: Path, chat_data: ChatData, store: RunStore, app_config: Config
) -> None:
    config = fast_config(tiny_model, chat_data, max_steps=2000, device="cpu")
    backend = LocalBackend(store, app_config)
    checked = asyncio.run(backend.preflight(config, capacity=CPU_ONLY))
    run = asyncio.run(backend.launch(config, checked=checked))
    wait_step(run, 2)
    home = ["--home", str(app_config.home)]
    listed = json.loads(CliRunner().invoke(cli, [*home, "runs", "list", "--json"]).stdout)
    assert [r["status"] for r in listed] == ["running"]

    record = launcher.read_process(run.run_dir)
    assert record is not None
    os.kill(record.pid, signal.SIGKILL)  # what the OOM killer does
    wait_for(lambda: not launcher.is_running(run.run_dir), 15, "the trainer to die")

    watched = CliRunner().invoke(cli, [*home, "runs", "watch", run.id, "--interval", "0.1"])
    assert watched.exit_code == 1, watched.output
    assert watched.stdout.rstrip().endswith(f"Run {run.id} failed.")
    listed = json.loads(CliRunner().invoke(cli, [*home, "runs", "list", "--json"]).stdout)
    assert listed[0]["status"] == "failed"
    assert "died without reporting" in listed[0]["error"]
    shown = json.loads(CliRunner().invoke(cli, [*home, "runs", "show", run.id, "--json"]).stdout)
    assert shown["status"] == "failed" and shown["finished_at"] is not None
    failed = store.get_run(run.id)
    statuses = [e["status"] for e in events_of(failed, "status")]
    assert statuses[-1] == "failed" and statuses.count("failed") == 1
    last_words = [e for e in events_of(failed, "log") if e["level"] == "error"]
    assert last_words and "Last lines of train.log" in last_words[-1]["message"]
