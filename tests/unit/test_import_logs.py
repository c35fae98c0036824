"""Conversation logs: a list of turns per record, or a flat log of one message per row; one
example per conversation or per assistant reply; bad conversations reported whole."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ftui.core.importing import (
    ColumnMapping,
    ImportedExample,
    ImportOptions,
    SkippedRow,
    run_import,
)


def collect(
    path: Path, **options: object
) -> tuple[list[ImportedExample], list[SkippedRow], object]:
    with run_import(path, ImportOptions(**options)) as run:  # type: ignore[arg-type]
        items = list(run)
        summary = run.summary
    return (
        [i for i in items if isinstance(i, ImportedExample)],
        [i for i in items if isinstance(i, SkippedRow)],
        summary,
    )


def roles(example: ImportedExample) -> str:
    return "".join(m["role"][0] for m in example.messages)


def write_records(path: Path) -> Path:
    records = [
        {"id": 1, "messages": [
            {"role": "system", "content": "You are the help desk."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "My order?"},
            {"role": "assistant", "content": "On its way."},
        ]},
        {"id": 2, "messages": [  # ShareGPT turns
            {"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"},
            {"from": "human", "value": "thanks"},
        ]},
        {"id": 3, "messages": [
            {"role": "user", "content": "a"}, {"role": "user", "content": "b"},
            {"role": "assistant", "content": "c"},
        ]},
        {"id": 4, "messages": [{"role": "assistant", "content": "unprompted"}]},
        {"id": 5, "messages": "not a list"},
        {"id": 6, "messages": [{"role": "wizard", "content": "?"}]},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_one_conversation_per_record(tmp_path: Path) -> None:
    examples, skipped, summary = collect(write_records(tmp_path / "chats.jsonl"))
    assert summary.shape == "messages" and summary.mapping == {"messages": "messages"}
    assert [roles(e) for e in examples] == ["suaua", "ua"]
    assert examples[1].messages[1]["content"] == "A"
    # The unanswered "thanks" is left out, and counted.
    assert sum(summary.notes.values()) == 1
    assert [(s.row, s.kind) for s in skipped] == [
        (3, "bad_turns"),
        (4, "bad_turns"),
        (5, "wrong_type"),
        (6, "bad_turns"),
    ]
    assert "second user turn in a row" in skipped[0].reason
    assert "starts with an assistant turn" in skipped[1].reason
    assert "kept from the source" in summary.system


def test_per_reply_and_a_system_prompt_for_all(tmp_path: Path) -> None:
    examples, _, summary = collect(
        write_records(tmp_path / "chats.jsonl"), per_reply=True, system="Be kind."
    )
    assert [roles(e) for e in examples] == ["sua", "suaua", "sua"]
    assert all(e.messages[0] == {"role": "system", "content": "Be kind."} for e in examples)
    assert summary.system == "--system (every example)"


def write_log(path: Path) -> Path:
    rows = [
        ("conversation_id", "turn", "role", "text"),
        ("c1", "2", "agent", "Hello, how can I help?"),  # out of file order: sorted by turn
        ("c2", "1", "customer", "Refund please"),
        ("c1", "1", "customer", "Hi there"),
        ("c1", "3", "customer", "Where is my parcel?\nIt is late."),
        ("c1", "4", "agent", "Tomorrow."),
        ("c2", "2", "agent", "Done."),
        ("c3", "1", "customer", "one"),
        ("c3", "1", "agent", "two"),  # two turns numbered 1
        ("c4", "1", "customer", "x"),
        ("c4", "2", "customer", "y"),  # does not alternate
        ("c4", "3", "agent", "z"),
        ("c5", "1", "robot", "beep"),  # unknown role
        ("c6", "1", "customer", "unanswered"),
    ]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_a_flat_log(tmp_path: Path) -> None:
    examples, skipped, summary = collect(write_log(tmp_path / "log.csv"))
    assert summary.shape == "log"
    assert summary.mapping == {
        "conversation": "conversation_id",
        "order": "turn",
        "role": "role",
        "content": "text",
    }
    assert [roles(e) for e in examples] == ["uaua", "ua"]
    assert examples[0].messages[0]["content"] == "Hi there"
    assert examples[0].messages[2]["content"] == "Where is my parcel?\nIt is late."
    # The CSV lines, in turn order (turn 3's cell spans lines 5 and 6).
    assert examples[0].rows == (4, 2, 5, 7)
    reasons = {s.row: s for s in skipped}
    assert reasons[14].kind == "bad_turns" and "robot" in reasons[14].reason
    assert "rows 9 and 10 both have turn = 1" in reasons[9].reason
    assert reasons[9].rows == (9, 10)
    assert "second user turn" in reasons[11].reason
    assert "no assistant reply" in reasons[15].reason
    assert summary.rows_kept + summary.rows_skipped == summary.rows_read


def test_a_flat_log_per_reply(tmp_path: Path) -> None:
    examples, _, _ = collect(write_log(tmp_path / "log.csv"), per_reply=True)
    assert [roles(e) for e in examples] == ["ua", "uaua", "ua"]
    assert examples[0].rows == (4, 2)


def test_rows_grouped_by_an_explicit_conversation_column(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text(
        "thread,step,question,answer\nt1,2,second?,yes\nt1,1,first?,ok\nt2,1,alone?,sure\n"
    )
    examples, skipped, _ = collect(path, mapping=ColumnMapping(conversation="thread"))
    assert not skipped
    assert [[m["content"] for m in e.messages] for e in examples] == [
        ["first?", "ok", "second?", "yes"],
        ["alone?", "sure"],
    ]
