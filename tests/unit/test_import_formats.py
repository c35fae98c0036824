"""Sources that already are a dataset format ftui reads are imported with its readers, not
by guessing columns (an Alpaca file's `input` is not its user turn)."""

from __future__ import annotations

import json
from pathlib import Path

from ftui.core.dataset.to_canonical import ALPACA_PROMPT_JOIN
from ftui.core.importing import ColumnMapping, ImportedExample, ImportOptions, run_import


def collect(
    path: Path, options: ImportOptions | None = None
) -> tuple[list[ImportedExample], object]:
    with run_import(path, options or ImportOptions()) as run:
        items = list(run)
        summary = run.summary
    return [i for i in items if isinstance(i, ImportedExample)], summary


def test_a_real_alpaca_file_keeps_instruction_and_input(shared_datasets: Path) -> None:
    path = shared_datasets / "alpaca/alpaca_en_demo.json"
    records = json.loads(path.read_text())
    examples, summary = collect(path)
    assert summary.record_format == "alpaca"  # type: ignore[attr-defined]
    assert len(examples) == len(records) and summary.rows_skipped == 0  # type: ignore[attr-defined]
    by_row = {e.rows[0]: e for e in examples}
    with_input = next(i for i, r in enumerate(records) if r["input"].strip())
    without = next(i for i, r in enumerate(records) if not r["input"].strip())
    user = by_row[with_input + 1].messages[0]
    assert user == {
        "role": "user",
        "content": records[with_input]["instruction"]
        + ALPACA_PROMPT_JOIN
        + records[with_input]["input"],
    }
    assert by_row[without + 1].messages[0]["content"] == records[without]["instruction"]
    assert by_row[without + 1].messages[-1]["content"] == records[without]["output"]
    assert "read as Alpaca" in summary.lines()[0]  # type: ignore[attr-defined]


def test_alpaca_system_and_history_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    record = {
        "instruction": "And now?",
        "input": "",
        "output": "Now it is two.",
        "system": "Count.",
        "history": [["Start", "One."]],
    }
    path.write_text(json.dumps(record) + "\n")
    examples, _ = collect(path)
    assert [(m["role"], m["content"]) for m in examples[0].messages] == [
        ("system", "Count."),
        ("user", "Start"),
        ("assistant", "One."),
        ("user", "And now?"),
        ("assistant", "Now it is two."),
    ]


def test_sharegpt_system_field_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    record = {
        "system": "Be brief.",
        "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello."}],
    }
    path.write_text(json.dumps([record]))
    examples, summary = collect(path)
    assert summary.record_format == "sharegpt"  # type: ignore[attr-defined]
    assert examples[0].messages[0] == {"role": "system", "content": "Be brief."}


def test_a_map_or_a_plain_table_still_maps_columns(tmp_path: Path) -> None:
    # A table with an 'output' column is not an Alpaca file; a --map is obeyed as given.
    table = tmp_path / "t.csv"
    table.write_text("prompt,output\nq1,a1\n")
    examples, summary = collect(table)
    assert summary.record_format is None and summary.mapping == {  # type: ignore[attr-defined]
        "user": "prompt",
        "assistant": "output",
    }
    alpaca = tmp_path / "a.jsonl"
    alpaca.write_text(json.dumps({"instruction": "i", "input": "x", "output": "o"}) + "\n")
    mapping = ColumnMapping(user="input", assistant="output")
    examples, summary = collect(alpaca, ImportOptions(mapping=mapping))
    assert summary.record_format is None  # type: ignore[attr-defined]
    assert examples[0].messages[0]["content"] == "x"
