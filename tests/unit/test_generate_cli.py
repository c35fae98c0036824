"""`ftui generate` end to end, in a subprocess against the fake chat server: each kind writes its
output and says so, `--json` is one stable object, a rerun asks nothing, a budget stop exits 3,
bad input exits 2 with a one-line reason before any call."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.support.fake_chat import FakeChat, made_up_words


@pytest.fixture
def server() -> Iterator[FakeChat]:
    with FakeChat() as chat:
        yield chat


def ftui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ftui", "generate", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ),
    )


def dataset(path: Path, n: int) -> Path:
    rows = [
        {"messages": [{"role": "user", "content": f"Why {made_up_words(str(i), 4)}?"}]}
        for i in range(n)
    ]
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    return path


def lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_distill_writes_answers_and_a_rerun_asks_nothing(tmp_path: Path, server: FakeChat) -> None:
    src = dataset(tmp_path / "p.jsonl", 4)
    out = tmp_path / "out.jsonl"
    done = ftui("distill", str(src), "--model", server.spec("teacher"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "4 new examples written" in done.stdout and "generate: 4/4 tasks" in done.stderr
    assert [r["messages"][-1]["role"] for r in lines(out)] == ["assistant"] * 4

    again = ftui(
        "distill", str(src), "--model", server.spec("teacher"), "--out", str(out), "--json"
    )
    data = orjson.loads(again.stdout)
    assert again.returncode == 0 and server.chat_calls() == 4
    assert (data["written"], data["calls"], data["tasks"]["resumed"], data["complete"]) == (
        0,
        0,
        4,
        True,
    )
    assert set(data) >= {"out", "batch", "kind", "dropped", "flagged", "cost_usd", "stopped"}


def test_synth_and_paraphrase(tmp_path: Path, server: FakeChat) -> None:
    scenarios = tmp_path / "s.txt"
    scenarios.write_text("A bank app\nA bakery\n")
    out = tmp_path / "synth.jsonl"
    synth = ftui(
        "synth",
        str(scenarios),
        "--model",
        server.spec("writer"),
        "--n",
        "2",
        "--out",
        str(out),
        "--json",
    )
    assert synth.returncode == 0, synth.stderr
    assert orjson.loads(synth.stdout)["written"] == 4 == len(lines(out))

    para = tmp_path / "para.jsonl"
    run = ftui(
        "paraphrase",
        str(out),
        "--k",
        "2",
        "--model",
        server.spec("writer"),
        "--out",
        str(para),
        "--json",
    )
    assert run.returncode == 0, run.stderr
    rows = lines(para)
    assert len(rows) == 8 and all(r["messages"][1]["content"].startswith("Answer to") for r in rows)


def test_a_budget_stop_exits_3_with_how_to_go_on(tmp_path: Path, server: FakeChat) -> None:
    src = dataset(tmp_path / "p.jsonl", 10)
    out = tmp_path / "o.jsonl"
    run = ftui(
        "distill",
        str(src),
        "--model",
        server.spec("teacher"),
        "--out",
        str(out),
        "--budget-tokens",
        "150",
        "--max-tokens",
        "64",
        "--concurrency",
        "1",
        "--json",
    )
    assert run.returncode == 3, run.stderr
    data = orjson.loads(run.stdout)
    assert data["stopped"] and not data["complete"] and 0 < data["written"] < 10
    assert "run again with a higher" in run.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["distill", "missing.jsonl", "--model", "openai-compatible:http://127.0.0.1:9/v1#m"],
            "no such file",
        ),
        (["distill", "{src}", "--model", "nonsense"], "--model 'nonsense'"),
        (["distill", "{src}", "--model", "openai:gpt-4o-mini"], "API key"),
        (["distill", "{src}"], "no model"),
        (["synth", "{scenarios}", "--model", "{spec}", "--prompt-file", "{bad}"], "{x}"),
        (
            ["synth", "{scenarios}", "--model", "{spec}", "--prompt-file", "{missing}"],
            "leaves out {n}",
        ),
        (["paraphrase", "{src}", "--model", "{spec}", "--k", "0"], "--k must be at least 1"),
    ],
)
def test_bad_input_exits_2_before_any_call(
    tmp_path: Path, server: FakeChat, args: list[str], message: str
) -> None:
    src = dataset(tmp_path / "p.jsonl", 2)
    scenarios = tmp_path / "s.txt"
    scenarios.write_text("One\n")
    (tmp_path / "bad.txt").write_text("About {scenario}, {n} of them, {x}")
    (tmp_path / "missing.txt").write_text("About {scenario}")
    values = {
        "src": str(src),
        "scenarios": str(scenarios),
        "spec": server.spec("writer"),
        "bad": str(tmp_path / "bad.txt"),
        "missing": str(tmp_path / "missing.txt"),
    }
    filled = [a.format(**values) if a.startswith("{") else a for a in args]
    run = ftui(*filled, "--out", str(tmp_path / "o.jsonl"))
    assert run.returncode == 2, run.stderr
    assert message in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert server.chat_calls() == 0 and not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize("budget", ["0", "1000"])
def test_a_token_budget_too_small_for_one_call_says_so_before_any_call(
    tmp_path: Path, server: FakeChat, budget: str
) -> None:
    scenarios = tmp_path / "s.txt"
    scenarios.write_text("A bank app\nA bakery\n")
    out = tmp_path / "o.jsonl"
    run = ftui(
        "synth", str(scenarios), "--model", server.spec("writer"), "--out", str(out),
        "--budget-tokens", budget, "--n", "2",
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert f"--budget-tokens {int(budget):,} cannot cover one call" in run.stderr
    assert "1,024 --max-tokens" in run.stderr and "lower --max-tokens" in run.stderr
    assert "written to" not in run.stderr
    assert server.chat_calls() == 0 and not out.exists()


def test_a_budget_stop_gives_one_total_of_tokens(tmp_path: Path) -> None:
    # Questions of one-letter words: the server counts more prompt tokens than ftui estimates
    # (4 characters a token), so calls still in flight at the stop add to the total after it.
    src = tmp_path / "p.jsonl"
    rows = [
        {"messages": [{"role": "user", "content": f"{made_up_words(str(i), 2)} " + "a " * 300}]}
        for i in range(12)
    ]
    src.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    with FakeChat(latency_s=0.3) as slow:
        run = ftui(
            "paraphrase", str(src), "--model", slow.spec("writer"), "--out",
            str(tmp_path / "o.jsonl"), "--budget-tokens", "2000", "--max-tokens", "16", "--json",
        )  # fmt: skip
    assert run.returncode == 3, run.stderr
    data = orjson.loads(run.stdout)
    assert data["written"] > 0 and data["calls"] > 1
    used = f"{data['tokens']:,} of 2,000 tokens used"
    assert used in run.stderr and used in data["stopped"], (run.stderr, data["tokens"])


def test_an_unreachable_model_exits_1_and_names_no_file(tmp_path: Path) -> None:
    src = dataset(tmp_path / "p.jsonl", 2)
    out = tmp_path / "dead.jsonl"
    run = ftui(
        "distill", str(src), "--model", "openai-compatible:http://127.0.0.1:1/v1#writer",
        "--out", str(out),
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert "nothing was generated" in run.stderr and "is in" not in run.stderr
    assert not out.exists()


def test_a_rerun_with_another_model_warns_that_the_output_is_the_other_models(
    tmp_path: Path, server: FakeChat
) -> None:
    src = dataset(tmp_path / "p.jsonl", 3)
    out = tmp_path / "bad.jsonl"
    first = ftui("distill", str(src), "--model", server.spec("teacher"), "--out", str(out))
    assert first.returncode == 0, first.stderr
    again = ftui("distill", str(src), "--model", server.spec("other"), "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "3 of the 3 examples already in" in again.stderr
    assert f"3 by {server.spec('teacher')}" in again.stderr
    assert "give a new --out" in again.stderr and "no new examples" in again.stdout
    same = ftui("distill", str(src), "--model", server.spec("teacher"), "--out", str(out))
    assert "another model" not in same.stderr


def test_paraphrase_help_speaks_of_paraphrases_not_answers() -> None:
    helped = ftui("paraphrase", "--help")
    assert "Of the paraphrases" in helped.stdout and "Of the answers" not in helped.stdout
