"""`ftui validate / convert / split / stats`: exit codes, JSON contract, readable output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from ftui.cli import cli


def run_ftui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ftui", *args], capture_output=True, text=True, timeout=300
    )


def good_file(tmp_path: Path, n: int = 12) -> Path:
    path = tmp_path / "good.jsonl"
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"What is {i} plus one?"},
                {"role": "assistant", "content": f"It is {i + 1}, of course."},
            ]
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_sgd_dialogues_json_report_has_the_exact_cookbook_figures(shared_datasets: Path) -> None:
    path = shared_datasets / "openai-chat/sgd_dialogues.jsonl"
    done = run_ftui("validate", str(path), "--encoding", "cl100k_base", "--json")
    data = json.loads(done.stdout)  # stdout is exactly one JSON object
    assert data["examples"] == 17_193 and data["format"] == "openai"
    assert data["tokens"]["total"] == 5_242_958 and data["tokens"]["encoding"] == "cl100k_base"
    assert data["billing"]["epochs"] == 1
    assert data["billing"]["billed_tokens"] == 5_242_958
    assert set(data["tokens"]) >= {"encoding", "total", "min", "max", "mean", "p50", "p95"}
    assert set(data["billing"]) >= {"model", "epochs", "billed_tokens", "estimated_cost_usd"}
    assert data["errors"] == sum(1 for f in data["findings"] if f["severity"] == "error")
    assert done.returncode == (1 if data["errors"] else 0)


def test_exit_codes_and_stderr(tmp_path: Path) -> None:
    ok = run_ftui("validate", str(good_file(tmp_path)))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK: no errors" in ok.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n')
    failed = run_ftui("validate", str(bad))
    assert failed.returncode == 1
    assert "example_missing_assistant_message" in failed.stdout and "lines 1" in failed.stdout
    missing = run_ftui("validate", str(tmp_path / "nope.jsonl"), "--json")
    assert missing.returncode == 2 and missing.stdout == ""
    assert "nope.jsonl: no such file" in missing.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert run_ftui("validate", str(empty)).returncode == 2


def test_the_validate_path_imports_no_ui_and_no_openai(tmp_path: Path) -> None:
    code = (
        "import sys; from ftui.cli import main\n"
        "try:\n    main(['validate', sys.argv[1], '--json'])\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('textual', 'openai', 'torch', 'transformers') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(good_file(tmp_path))], capture_output=True, text=True
    )
    assert "HEAVY []" in done.stderr, done.stderr


def test_validation_file_and_text_report_grouped_by_code(tmp_path: Path) -> None:
    train = good_file(tmp_path)
    val = tmp_path / "val.jsonl"
    val.write_text(train.read_text().splitlines()[0] + "\n")
    result = CliRunner().invoke(cli, ["validate", str(train), "--validation-file", str(val)])
    assert result.exit_code == 0  # leakage is a warning; a validation file may be small
    assert "leakage" in result.output and "validation file:" in result.output
    result = CliRunner().invoke(
        cli, ["validate", str(train), "--validation-file", str(val), "--json"]
    )
    data = json.loads(result.output)
    assert data["validation"]["examples"] == 1
    assert any(f["code"] == "leakage" for f in data["findings"])


def test_convert_split_and_stats_commands(shared_datasets: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "glaive.jsonl"
    source = shared_datasets / "sharegpt/glaive_toolcall_en_demo.json"
    result = runner.invoke(cli, ["convert", str(source), str(out), "--to", "openai"])
    assert result.exit_code == 0, result.output
    assert "wrote 300 examples" in result.output and "sharegpt → openai" in result.output
    assert sum(1 for _ in out.open()) == 300
    result = runner.invoke(cli, ["split", str(out), "--val", "0.1", "--test", "30", "--seed", "7"])
    assert result.exit_code == 0, result.output
    for name in ("train", "val", "test"):
        assert str(tmp_path / f"glaive.{name}.jsonl") in result.output
    lines = {n: sum(1 for _ in (tmp_path / f"glaive.{n}.jsonl").open()) for n in ("val", "test")}
    assert lines["test"] >= 30 and lines["val"] >= 30
    result = runner.invoke(cli, ["split", str(out), "--val", "abc"])
    assert result.exit_code == 2 and "fraction" in result.output
    # A split without a test set says the earlier test file is stale, and leaves it as it was.
    test_file = tmp_path / "glaive.test.jsonl"
    before = test_file.read_bytes()
    result = runner.invoke(cli, ["split", str(out), "--val", "0.1"])
    assert result.exit_code == 0, result.output
    assert f"warning: {test_file} is from an earlier split" in result.output
    assert test_file.read_bytes() == before
    result = runner.invoke(cli, ["stats", str(out)])
    assert result.exit_code == 0
    assert "conversation shapes" in result.output and "tokens per example" in result.output
    result = runner.invoke(cli, ["stats", str(out), "--json"])
    data = json.loads(result.output)
    assert data["examples"] == 300 and sum(data["tokens_histogram"].values()) == 300
