"""`ftui train checkpoint`: refused with a reason wherever no training process can take it."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ftui.cli import cli
from ftui.config import Config
from ftui.core.runs.events import RunStatus
from ftui.services import launcher
from ftui.services.backends.base import LaunchError
from ftui.services.root import Services
from ftui.services.store import Run


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    root = Services(Config(home=tmp_path / "home"))
    yield root
    root.close()


def running_run(services: Services, backend: str = "local") -> Run:
    run = services.store.create_run(backend=backend, base_model="m", config={})
    return services.store.update_run(run.id, status=RunStatus.RUNNING)


def checkpoint(services: Services, run: Run) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["--home", str(services.config.home), "train", "checkpoint", run.id]
    )
    return result.exit_code, result.output


def test_only_the_local_backend_checkpoints_on_request(services: Services) -> None:
    assert services.backend("local").capabilities.checkpoint_now
    assert not services.backend("openai").capabilities.checkpoint_now
    code, out = checkpoint(services, running_run(services, "openai"))
    assert code == 1 and "OpenAI runs cannot checkpoint on request." in out


def test_a_run_without_its_process_here_is_refused_with_the_reason(services: Services) -> None:
    run = running_run(services)
    code, out = checkpoint(services, run)
    assert code == 1 and f"Run {run.id} has no training process running here." in out

    record = {"pid": 1, "start_time": None, "host": "gpu-box-7", "argv": ["python"]}
    (run.run_dir / launcher.PROCESS_FILE).write_text(json.dumps(record))
    with pytest.raises(LaunchError, match=f"Run {run.id} trains on gpu-box-7: ask for"):
        asyncio.run(services.backend("local").checkpoint_now(run.id))

    services.store.update_run(run.id, status=RunStatus.CANCELLED)
    code, out = checkpoint(services, run)
    assert code == 1 and "is cancelled: there is no training to checkpoint" in out


def test_a_process_of_the_group_that_is_not_training_is_never_signalled(
    services: Services,
) -> None:
    # SIGUSR1 kills a process without a handler: only `python -m ftui.train` may get one.
    run = running_run(services)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                               start_new_session=True)  # fmt: skip
    try:
        record = {
            "pid": sleeper.pid,
            "start_time": launcher.process_start_time(sleeper.pid),
            "host": socket.gethostname(),
            "argv": [sys.executable, "-m", "ftui.train", str(run.run_dir)],
        }
        (run.run_dir / launcher.PROCESS_FILE).write_text(json.dumps(record))
        assert launcher.request_checkpoint(run.run_dir) == []
        code, out = checkpoint(services, run)
        assert code == 1 and "no training process running here" in out
        assert sleeper.poll() is None, "the process got a signal it cannot handle"
    finally:
        sleeper.kill()
        sleeper.wait()
