"""`ftui judge` as a real process against the fake chat server: the --json object, the report
files, a process killed half way that resumes without repeating a finished call, and bad input
refused with exit status 2 and the reason."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.support.fake_chat import FakeChat, last_user

QUESTIONS = [f"Name the colour number {i}." for i in range(30)]
REFERENCES = {q: f"Colour {i} is blue." for i, q in enumerate(QUESTIONS)}


@pytest.fixture
def server() -> Iterator[FakeChat]:
    with FakeChat() as chat:
        chat.script("model-b", lambda messages: REFERENCES[last_user(messages)])
        yield chat


def write_eval(path: Path, n: int) -> Path:
    rows = [
        {
            "messages": [
                {"role": "user", "content": q},
                {"role": "assistant", "content": REFERENCES[q]},
            ]
        }
        for q in QUESTIONS[:n]
    ]
    path.write_bytes(b"\n".join(orjson.dumps(row) for row in rows) + b"\n")
    return path


def command(server: FakeChat, eval_path: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ftui",
        "judge",
        str(eval_path),
        "--a",
        server.spec("model-a"),
        "--b",
        server.spec("model-b"),
        *extra,
    ]


def ftui_judge(
    server: FakeChat, eval_path: Path, *extra: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(server, eval_path, *extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ),
    )


def cached_rows(home: Path) -> int:
    conn = sqlite3.connect(home / "ftui.db")
    try:
        return int(conn.execute("SELECT count(*) FROM generations").fetchone()[0])
    finally:
        conn.close()


def test_json_object_and_reports(tmp_path: Path, server: FakeChat) -> None:
    eval_path = write_eval(tmp_path / "eval.jsonl", 6)
    markdown = tmp_path / "out" / "report.md"
    markdown.parent.mkdir()
    done = ftui_judge(
        server,
        eval_path,
        "--judge",
        server.spec("judge-longer"),
        "--json",
        "--report",
        str(markdown),
    )
    assert done.returncode == 0, done.stderr
    data = orjson.loads(done.stdout)
    assert data["n"] == 6 and data["completed"] == 6
    assert data["metrics"]["exact_match"] == {"a": 0.0, "b": 1.0}
    assert data["metrics"]["rougeL"]["b"] == 1.0
    judge = data["judge"]
    assert set(judge) >= {"b_wins", "a_wins", "ties", "unknown", "b_win_rate", "ci95"}
    # A's answers ("model-a: <question>") are longer than B's: the length-biased judge picks A
    # in both orders.
    assert (judge["b_wins"], judge["a_wins"], judge["ties"], judge["b_win_rate"]) == (0, 6, 0, 0)
    assert len(judge["ci95"]) == 2 and judge["ci95"][0] <= judge["b_win_rate"] <= judge["ci95"][1]
    assert (data["calls"], data["cached"]) == (24, 0)
    assert "judge: 6/6 examples" in done.stderr
    text = markdown.read_text(encoding="utf-8")
    assert text.startswith("# A/B judge:") and "rougeL" in text

    # Again, with a JSON report: everything comes from the cache.
    report_json = tmp_path / "report.json"
    again = ftui_judge(
        server, eval_path, "--judge", server.spec("judge-longer"), "--report", str(report_json)
    )
    assert again.returncode == 0, again.stderr
    assert "0 sent, 24 from the cache" in again.stdout
    assert orjson.loads(report_json.read_bytes())["judge"] == judge
    assert server.chat_calls() == 24


def test_a_killed_run_resumes_without_repeating_finished_calls(
    tmp_path: Path, server: FakeChat, _isolated_ftui_home: Path
) -> None:
    server.latency_s = 0.1
    eval_path = write_eval(tmp_path / "eval.jsonl", 30)
    extra = ("--judge", server.spec("judge-a"), "--concurrency", "4")
    process = subprocess.Popen(
        command(server, eval_path, *extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while server.chat_calls() < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, "the job ended before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=10)
    finished = cached_rows(_isolated_ftui_home)
    assert 30 <= finished < 120

    server.latency_s = 0.0
    resumed = ftui_judge(server, eval_path, *extra, "--json")
    assert resumed.returncode == 0, resumed.stderr
    data = orjson.loads(resumed.stdout)
    assert data["completed"] == 30 and data["judge"]["ties"] == 30
    assert (data["cached"], data["calls"]) == (finished, 120 - finished)


def test_the_budget_stops_the_cli_with_exit_0_and_says_so(tmp_path: Path, server: FakeChat) -> None:
    eval_path = write_eval(tmp_path / "eval.jsonl", 20)
    env = dict(os.environ, OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=server.base_url)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ftui",
            "judge",
            str(eval_path),
            "--a",
            "openai:gpt-4o-mini",
            "--b",
            server.spec("model-b"),
            "--budget-usd",
            "0.0001",
            "--max-tokens",
            "64",
            "--concurrency",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    data = orjson.loads(done.stdout)
    assert data["stopped"] and "budget" in data["stopped"]
    assert 0 < data["completed"] < 20 and data["cost_usd"] <= 0.0001
    assert "stopped at the budget" in done.stderr


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing", "no such file"),
        ("bad-line", "eval.jsonl:2"),
        ("bad-spec", "--b 'gpt-4o'"),
        ("bad-rubric", "--rubric"),
        ("concurrency", "--concurrency must be at least 1"),
        ("no-key", "needs an OpenAI API key"),
    ],
)
def test_bad_input_exits_2_with_the_reason(
    tmp_path: Path, server: FakeChat, case: str, expected: str
) -> None:
    eval_path = write_eval(tmp_path / "eval.jsonl", 3)
    args = [sys.executable, "-m", "ftui", "judge", str(eval_path)]
    a, b = server.spec("model-a"), server.spec("model-b")
    extra: list[str] = []
    if case == "missing":
        args[4] = str(tmp_path / "nowhere.jsonl")
    elif case == "bad-line":
        lines = eval_path.read_text().splitlines()
        eval_path.write_text(lines[0] + "\n{not json\n" + lines[2] + "\n")
    elif case == "bad-spec":
        b = "gpt-4o"
    elif case == "bad-rubric":
        extra = ["--rubric", str(tmp_path / "no-rubric.txt")]
    elif case == "concurrency":
        extra = ["--concurrency", "0"]
    elif case == "no-key":
        a = "openai:gpt-4o-mini"
    done = subprocess.run(
        [*args, "--a", a, "--b", b, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert server.chat_calls() == 0
