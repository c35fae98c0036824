"""An import's summary adds up: every skipped row is counted under its reason (a conversation's
rows each), and skipped rows are listed in source order."""

from __future__ import annotations

import json
from pathlib import Path

from ftui.core.importing import ImportOptions, write_import

LOG = [
    {"conversation_id": "c0", "turn": 0, "role": "user", "content": "Hi, my order is late"},
    {"conversation_id": "c0", "turn": 1, "role": "assistant", "content": "What is the number?"},
    {"conversation_id": "c1", "turn": 0, "role": "user", "content": "How do I reset it?"},
    {"conversation_id": "c1", "turn": 1, "role": "assistant", "content": "Click Forgot."},
    {"conversation_id": "c2", "turn": 0, "role": "user", "content": "hello"},
    {"conversation_id": "c2", "turn": 1, "role": "user", "content": "anyone?"},
    {"conversation_id": "c2", "turn": 2, "role": "assistant", "content": "Yes?"},
    {"conversation_id": "c3", "turn": 0, "role": "assistant", "content": "Welcome!"},
    {"conversation_id": "c3", "turn": 1, "role": "user", "content": "thanks"},
    {"conversation_id": "c4", "turn": 0, "role": "user", "content": "Refund please"},
    {"conversation_id": "c4", "turn": 1, "role": "assistant", "content": ""},
    {"conversation_id": "c9", "turn": 0, "role": "user"},
    None,  # a line that is not JSON
    {"conversation_id": "c1", "turn": "x", "role": "user", "content": 5},
]


def write_log(path: Path) -> Path:
    lines = ["not json" if r is None else json.dumps(r) for r in LOG]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_breakdown_counts_every_skipped_row_in_row_order(tmp_path: Path) -> None:
    result = write_import(write_log(tmp_path / "log.jsonl"), tmp_path / "o.jsonl", ImportOptions())
    summary = result.summary
    assert summary.rows_kept + summary.rows_skipped == summary.rows_read == len(LOG)
    assert sum(summary.skipped.values()) == summary.rows_skipped == 12
    # c1 (rows 3, 4, 14), c2 (5-7), c3 (8, 9), c4 (row 10; its empty reply 11 is skipped alone)
    assert summary.skipped["bad_turns"] == 9
    assert summary.to_json()["skipped_conversations_by_kind"] == {"bad_turns": 4}
    assert "9 bad turns: 9 rows in 4 conversations" in summary.lines()[1]
    rows = [s.row for s in result.skipped]
    assert rows == sorted(rows) == [3, 5, 8, 10, 11, 12, 13]
    c1 = result.skipped[0]
    assert c1.describe("line").startswith("line 3 (and lines 4, 14): conversation 'c1'")
