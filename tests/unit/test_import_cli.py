"""`ftui import` end to end, in a subprocess: a tickets CSV built from real rows, the JSON
contract, the origins in the store, and an OUT that is never half-written."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ftui.config import Config
from ftui.core.dataset.origin import example_key
from ftui.services.store import RunStore


def run_ftui(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ftui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def tickets_csv(shared_datasets: Path, path: Path, count: int = 60) -> Path:
    """Support tickets from real instruction/answer pairs (multi-line, quoted, commas), with
    satisfaction and status columns and a few bad rows."""
    rows = json.loads((shared_datasets / "alpaca/alpaca_en_demo.json").read_text())[:count]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ticket_id", "customer message", "agent reply", "satisfaction", "status"])
        for number, row in enumerate(rows):
            question = row["instruction"] + (f"\n{row['input']}" if row["input"] else "")
            satisfaction = "n/a" if number == 7 else str(1 + number % 5)
            status = "open" if number % 10 == 3 else "resolved"
            answer = "" if number == 11 else row["output"]
            writer.writerow([f"T{number}", question, answer, satisfaction, status])
    return path


def test_import_a_tickets_csv_with_json_output(shared_datasets: Path, tmp_path: Path) -> None:
    source = tickets_csv(shared_datasets, tmp_path / "tickets.csv")
    out = tmp_path / "out" / "train.jsonl"
    out.parent.mkdir()
    done = run_ftui(
        "import",
        str(source),
        str(out),
        "--map",
        "user=customer message,assistant=agent reply",
        "--where",
        'satisfaction >= 4 and status == "resolved"',
        "--system",
        "You are a helpful support agent.",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is True and data["format"] == "openai"
    summary = data["summary"]
    assert summary["rows_read"] == 60
    assert summary["mapping"] == {"user": "customer message", "assistant": "agent reply"}
    assert summary["system"] == "--system (every example)"
    skipped = {s["row"]: s for s in data["skipped"]}
    # Ticket 7 has satisfaction n/a; ticket 11 has no reply but is filtered out first (1 + 11 % 5
    # = 2 < 4), so only ticket 7 is a problem. Its row is its CSV line, multi-line cells counted.
    assert [s["kind"] for s in data["skipped"]] == ["bad_value"]
    with source.open(newline="") as handle:
        lines = {}
        reader = csv.reader(handle)
        start = 1
        for cells in reader:
            lines[cells[0]] = start
            start = reader.line_num + 1
    assert list(skipped) == [lines["T7"]]
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(written) == summary["examples"] == data["summary"]["rows_kept"]
    assert all(e["messages"][0]["content"] == "You are a helpful support agent." for e in written)
    assert summary["rows_read"] == (
        summary["rows_kept"] + summary["rows_skipped"] + summary["rows_filtered"]
    )
    # Every example's origin is in the store: the source file, its CSV line, one batch.
    store = RunStore.from_config(Config())
    try:
        origins = store.origins_by_key([example_key(e) for e in written])
    finally:
        store.close()
    assert len(origins) == len(written)
    first = origins[example_key(written[0])]
    assert first.kind == "import" and first.source == str(source.resolve())
    assert first.batch == data["batch"]
    assert first.detail["rows"][0] in lines.values()


def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "t.csv"
    source.write_text("question,answer,score\nq,a,5\n")
    out = tmp_path / "out.jsonl"
    for args, says in [
        (["--where", "score >> 4"], "col 7: expected a value after '>'"),
        (["--where", "stars > 4"], "no column 'stars'"),
        (["--map", "user=nope"], "there is no column 'nope'"),
        (["--map", "speaker=question"], "'speaker' is not a field"),
        (["--encoding", "klingon"], "unknown encoding"),
        (["--where", "score > 9"], "no example to write"),
    ]:
        done = run_ftui("import", str(source), str(out), *args)
        assert done.returncode == 2, (args, done.stderr)
        assert says in done.stderr and done.stderr.count("\n") == 1, done.stderr
        assert not out.exists()
    missing = run_ftui("import", str(tmp_path / "nope.csv"), str(out), "--json")
    assert missing.returncode == 2 and json.loads(missing.stdout)["ok"] is False


def test_strict_stops_and_keeps_the_old_out(tmp_path: Path) -> None:
    source = tmp_path / "t.csv"
    source.write_text("question,answer\nq1,a1\nq2,\nq3,a3\n")
    out = tmp_path / "out.jsonl"
    out.write_text("old content\n")
    done = run_ftui("import", str(source), str(out), "--strict")
    assert done.returncode == 1
    assert "line 3: the assistant turn (answer) is empty" in done.stderr
    assert out.read_text() == "old content\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    done = run_ftui("import", str(source), str(out), "--to", "alpaca")
    assert done.returncode == 0, done.stderr
    assert "skipped line 3: the assistant turn (answer) is empty" in done.stdout
    assert json.loads(out.read_text().splitlines()[0]) == {
        "instruction": "q1",
        "input": "",
        "output": "a1",
    }


def test_a_kill_before_the_rename_leaves_no_out(tmp_path: Path) -> None:
    source = tmp_path / "t.csv"
    source.write_text("question,answer\n" + "".join(f"q{i},a{i}\n" for i in range(100)))
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "FTUI_TEST_COMMIT_PAUSE": "before-commit:30"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ftui", "import", str(source), str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".out.jsonl.*.tmp")):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert not out.exists()
    # The next import settles what the killed one left, and writes the file.
    done = run_ftui("import", str(source), str(out))
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 100
    assert not list(tmp_path.glob(".out.jsonl.*.tmp"))
