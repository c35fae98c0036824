"""`ftui train openai`, `ftui openai jobs` and the follower as real processes against the test
server: exit codes, `--json`, a follower killed and started again, and the key found nowhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.unit.openai_support import write_chat

# The follower waits 1/100 of what it would: the server's clock runs fast too.
POLL_SCALE = "0.01"


@pytest.fixture
def fast_server():
    from tests.support.fake_openai import FakeOpenAI

    with FakeOpenAI(speed=100.0) as server:
        yield server


def _env(server, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FTUI_HOME=str(home),
        OPENAI_API_KEY=server.api_key,
        OPENAI_BASE_URL=server.base_url,
        FTUI_OPENAI_POLL_SCALE=POLL_SCALE,
    )
    return env


def ftui(server, home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ftui", *args],
        env=_env(server, home),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def last_json(stdout: str) -> dict:
    start = stdout.rindex("\n{") + 1 if "\n{" in stdout else stdout.index("{")
    return orjson.loads(stdout[start:])


def files_holding(root: Path, secret: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret in p.read_bytes()]


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_train_openai_waits_to_the_end_and_the_key_is_nowhere(fast_server, tmp_path) -> None:
    home = tmp_path / "home"
    data = write_chat(tmp_path / "train.jsonl", 30)
    done = ftui(fast_server, home, "train", "openai", str(data), "--yes", "--wait", "--json")
    assert done.returncode == 0, done.stderr
    record = last_json(done.stdout)
    assert record["backend"] == "openai"
    assert record["status"] == "succeeded"
    assert record["remote_job_id"]
    assert record["fine_tuned_model"].startswith("ft:")
    assert "$" in done.stderr  # the cost was shown before anything was sent
    shown = ftui(fast_server, home, "runs", "show", record["id"], "--json")
    assert last_json(shown.stdout)["fine_tuned_model"] == record["fine_tuned_model"]

    key = fast_server.api_key.encode()
    assert files_holding(home, key) == []
    assert key.decode() not in done.stdout + done.stderr + shown.stdout + shown.stderr
    run_dir = Path(record["run_dir"])
    assert (run_dir / "follower.log").is_file()  # the follower ran, from this run directory
    assert key not in (run_dir / "follower.json").read_bytes()


def test_a_refused_dataset_exits_2_and_sends_nothing(fast_server, tmp_path) -> None:
    home = tmp_path / "home"
    bad = write_chat(tmp_path / "bad.jsonl", 20, broken_line=4)
    done = ftui(fast_server, home, "train", "openai", str(bad), "--yes")
    assert done.returncode == 2
    assert "line 4" in done.stderr
    assert not [c for c in fast_server.calls if c.path == "/v1/files"]
    usage = ftui(fast_server, home, "train", "openai", str(bad), "--epochs", "lots")
    assert usage.returncode == 2


def test_no_key_says_how_to_set_one(fast_server, tmp_path) -> None:
    env = _env(fast_server, tmp_path / "home")
    del env["OPENAI_API_KEY"]
    data = write_chat(tmp_path / "train.jsonl", 12)
    done = subprocess.run(
        [sys.executable, "-m", "ftui", "train", "openai", str(data), "--yes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "OPENAI_API_KEY" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_killed_follower_is_started_again_and_nothing_is_repeated(fast_server, tmp_path):
    home = tmp_path / "home"
    data = write_chat(tmp_path / "train.jsonl", 30)
    started = ftui(fast_server, home, "train", "openai", str(data), "--yes", "--json")
    assert started.returncode == 0, started.stderr
    record = last_json(started.stdout)
    run_dir = Path(record["run_dir"])
    events = run_dir / "events.jsonl"
    _wait_for(lambda: events.read_bytes().count(b"openai_event_id") >= 3)
    follower = orjson.loads((run_dir / "follower.json").read_bytes())
    os.kill(follower["pid"], signal.SIGKILL)
    watched = ftui(fast_server, home, "runs", "watch", record["id"])  # starts another follower
    assert watched.returncode == 0, watched.stdout + watched.stderr
    restarted = orjson.loads((run_dir / "follower.json").read_bytes())
    assert restarted["pid"] != follower["pid"]
    ids = [
        orjson.loads(line)["openai_event_id"]
        for line in events.read_bytes().splitlines()
        if b"openai_event_id" in line
    ]
    assert len(ids) == len(set(ids)) == len(fast_server.jobs[record["remote_job_id"]].events)


def test_openai_jobs_lists_and_imports(fast_server, tmp_path) -> None:
    home = tmp_path / "home"
    data = write_chat(tmp_path / "train.jsonl", 12)
    started = ftui(fast_server, home, "train", "openai", str(data), "--yes", "--wait", "--json")
    job_id = last_json(started.stdout)["remote_job_id"]
    listed = ftui(fast_server, home, "openai", "jobs")
    assert listed.returncode == 0 and job_id in listed.stdout
    other_home = tmp_path / "elsewhere"
    imported = ftui(fast_server, other_home, "openai", "jobs", "--import", job_id, "--json")
    assert imported.returncode == 0, imported.stderr
    run = last_json(imported.stdout)
    assert run["remote_job_id"] == job_id and run["status"] == "succeeded"
