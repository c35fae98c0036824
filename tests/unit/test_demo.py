"""The demo dataset: original, realistic, big enough, and its planted defects are all found."""

from __future__ import annotations

import json
from pathlib import Path

from ftui.core.dataset.demo import (
    DEMO_DEFECTS,
    DEMO_EXAMPLES,
    create_demo_workspace,
    demo_dataset_bytes,
)
from ftui.core.validation.validate import ValidationOptions, validate_file


def test_demo_dataset_is_a_realistic_chat_dataset() -> None:
    examples = [json.loads(line) for line in demo_dataset_bytes().decode().splitlines()]
    assert len(examples) == DEMO_EXAMPLES >= 60
    assert all(e["messages"][0]["role"] == "system" for e in examples)
    assert sum(len(e["messages"]) > 3 for e in examples) >= 10  # multi-turn ones
    with_tools = [e for e in examples if "tools" in e]
    assert len(with_tools) >= 3
    for example in with_tools:
        roles = [m["role"] for m in example["messages"]]
        assert "tool" in roles and any(m.get("tool_calls") for m in example["messages"])
    assert all("Inkwell" in e["messages"][0]["content"] for e in examples if e is not examples[37])


def test_create_demo_workspace_writes_once_and_keeps_user_edits(tmp_path: Path) -> None:
    path = create_demo_workspace(tmp_path / "ws")
    assert path.read_bytes() == demo_dataset_bytes()
    path.write_text("edited by the user\n")
    assert create_demo_workspace(tmp_path / "ws") == path
    assert path.read_text() == "edited by the user\n"
    create_demo_workspace(tmp_path / "ws", overwrite=True)
    assert path.read_bytes() == demo_dataset_bytes()
    assert [p.name for p in (tmp_path / "ws").iterdir()] == ["demo_chat.jsonl"]  # no temp left


def test_validator_finds_every_planted_defect(tmp_path: Path) -> None:
    path = create_demo_workspace(tmp_path)
    report = validate_file(path, ValidationOptions(workers=1))
    for defect in DEMO_DEFECTS:
        matching = [f for f in report.findings if f.code == defect.code]
        assert matching, f"no {defect.code} finding"
        assert any(
            f.line == defect.line or (f.line == 0 and str(defect.line) in f.message)
            for f in matching
        ), f"{defect.code} not reported at line {defect.line}"
    planted = {d.line for d in DEMO_DEFECTS}
    # Nothing else is wrong with the demo: every example-level error or warning is planted.
    stray = [
        f
        for f in report.findings
        if f.line not in planted and f.line != 0 and f.severity in ("error", "warning")
    ]
    assert stray == []
    assert report.examples == DEMO_EXAMPLES
