"""Imports of real table shapes, with bad rows of every kind reported with their row numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftui.core.importing import (
    ColumnMapping,
    ImportedExample,
    ImportInputError,
    ImportOptions,
    SkippedRow,
    preview_import,
    run_import,
)


def collect(
    path: Path, **options: object
) -> tuple[list[ImportedExample], list[SkippedRow], object]:
    with run_import(path, ImportOptions(**options)) as run:  # type: ignore[arg-type]
        items = list(run)
        summary = run.summary
    examples = [i for i in items if isinstance(i, ImportedExample)]
    skipped = [i for i in items if isinstance(i, SkippedRow)]
    return examples, skipped, summary


def texts(example: ImportedExample) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in example.messages]


TICKETS = (
    b"\xef\xbb\xbfticket_id,customer_message,agent_reply,satisfaction,status\r\n"
    b'1,"My card, the blue one, was charged twice",'
    b'"Sorry about that!\r\nI refunded one.",5,resolved\r\n'
    b"2,Where is my parcel?,,4,resolved\r\n"
    b"3,Caf\xe9 opening hours?,We open at 9.,5,resolved\r\n"
    b"4,Too,many,cells,5,resolved\r\n"
    b"5,Short row\r\n"
    b'6,"Can I get a refund?",Yes within 30 days.,n/a,resolved\r\n'
    b"\r\n"
    b"7,Hello,Hi! How can I help?,3,open\r\n"
)


def test_a_tickets_csv_with_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_bytes(TICKETS)
    examples, skipped, summary = collect(path, where='satisfaction >= 4 and status == "resolved"')
    # The BOM is not part of the first column's name; the columns were guessed from names.
    assert summary.columns[0] == "ticket_id"
    assert summary.mapping == {"user": "customer_message", "assistant": "agent_reply"}
    # Quotes, a comma and a CRLF inside cells survive; the row is numbered by its first line.
    assert [texts(e) for e in examples] == [
        [
            ("user", "My card, the blue one, was charged twice"),
            ("assistant", "Sorry about that!\r\nI refunded one."),
        ]
    ]
    assert examples[0].rows == (2,)
    by_row = {s.row: s for s in skipped}
    assert by_row[4].kind == "empty_cell" and "agent_reply" in by_row[4].reason
    assert by_row[5].kind == "bad_encoding" and "0xe9" in by_row[5].reason
    assert "line 5" in by_row[5].reason and by_row[5].fix and "--encoding" in by_row[5].fix
    assert by_row[6].kind == "ragged_row" and "6 cells, the header 5" in by_row[6].reason
    assert by_row[7].kind == "ragged_row" and "no agent_reply" in by_row[7].reason
    assert by_row[8].kind == "bad_value" and "'n/a', not a number" in by_row[8].reason
    assert sorted(by_row) == [4, 5, 6, 7, 8]
    assert summary.rows_read == 7 and summary.rows_filtered == 1  # row 10: satisfaction 3
    assert summary.rows_kept + summary.rows_skipped + summary.rows_filtered == summary.rows_read
    assert summary.skipped == {
        "empty_cell": 1,
        "bad_encoding": 1,
        "ragged_row": 2,
        "bad_value": 1,
    }


def test_the_encoding_fix_and_replace(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_bytes(TICKETS)
    examples, skipped, _ = collect(path, encoding="cp1252")
    assert ("user", "Café opening hours?") in [t for e in examples for t in texts(e)]
    assert not [s for s in skipped if s.kind == "bad_encoding"]
    examples, skipped, _ = collect(path, encoding="replace")
    assert ("user", "Caf\ufffd opening hours?") in [t for e in examples for t in texts(e)]
    with pytest.raises(ImportInputError, match="unknown encoding 'klingon'"):
        collect(path, encoding="klingon")


def test_tsv_and_a_sniffed_semicolon(tmp_path: Path) -> None:
    tsv = tmp_path / "faq.tsv"
    tsv.write_text("prompt\tresponse\nA, b; c?\tYes; no, maybe.\n")
    examples, skipped, _ = collect(tsv)
    assert texts(examples[0]) == [("user", "A, b; c?"), ("assistant", "Yes; no, maybe.")]
    semi = tmp_path / "faq.csv"
    semi.write_text('question;answer\n"Why, though?";Because.\nHow?;Like this.\n')
    examples, skipped, _ = collect(semi)
    assert not skipped and len(examples) == 2
    assert texts(examples[0])[0] == ("user", "Why, though?")


def test_unknown_columns_are_caught_before_any_row(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_bytes(TICKETS)
    with pytest.raises(ImportInputError, match=r"no column 'stars'.*ticket_id, customer_message"):
        run_import(path, ImportOptions(where="stars > 3"))
    with pytest.raises(ImportInputError, match="no column 'reply'"):
        run_import(path, ImportOptions(mapping=ColumnMapping(assistant="reply")))
    with pytest.raises(ImportInputError, match="col 14: expected a value after '>'"):
        run_import(path, ImportOptions(where="satisfaction >> 4"))
    nothing = tmp_path / "nothing.csv"
    nothing.write_text("id,when\n1,today\n")
    with pytest.raises(ImportInputError, match="no column for the user and the assistant turns"):
        run_import(nothing, ImportOptions())


def test_json_array_and_an_object_holding_one(tmp_path: Path) -> None:
    rows = [
        {"question": "Q1", "answer": "A1", "system": "Be brief."},
        {"question": "Q2"},
        {"question": ["not", "text"], "answer": "A3"},
        "just a string",
        {"question": 42, "answer": 43, "system": ""},
    ]
    array = tmp_path / "qa.json"
    array.write_text(json.dumps(rows, indent=2))
    examples, skipped, summary = collect(array)
    assert summary.mapping == {"user": "question", "assistant": "answer", "system": "system"}
    assert texts(examples[0]) == [("system", "Be brief."), ("user", "Q1"), ("assistant", "A1")]
    assert texts(examples[1]) == [("user", "42"), ("assistant", "43")]  # numbers are text
    assert examples[1].rows == (5,)  # the array index + 1
    assert [(s.row, s.kind) for s in skipped] == [
        (2, "missing_column"),
        (3, "wrong_type"),
        (4, "bad_record"),
    ]
    assert "the system cell was empty" in " ".join(summary.notes)
    wrapped = tmp_path / "export.json"
    wrapped.write_text(json.dumps({"exported": "2026-11-02", "data": rows[:2]}))
    examples, skipped, _ = collect(wrapped)
    assert len(examples) == 1 and [(s.row, s.kind) for s in skipped] == [(2, "missing_column")]


def test_jsonl_lines_bad_utf8_and_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_bytes(
        b'{"input": "hi", "output": "hello"}\n'
        b"\n"
        b'{"input": "caf\xe9", "output": "x"}\n'
        b'{"input": "broken", \n'
        b'{"input": "last", "output": "one"}\n'
    )
    examples, skipped, _ = collect(path)
    assert [e.rows for e in examples] == [(1,), (5,)]  # JSONL line numbers, blanks counted
    assert [(s.row, s.kind) for s in skipped] == [(3, "bad_encoding"), (4, "bad_record")]


def test_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "qa.parquet"
    pq.write_table(
        pa.table({"prompt": ["a", "b", None], "completion": ["A", "B", "C"], "score": [1, 5, 5]}),
        path,
    )
    examples, skipped, _ = collect(path, where="score >= 5")
    assert [texts(e) for e in examples] == [[("user", "b"), ("assistant", "B")]]
    assert [(s.row, s.kind) for s in skipped] == [(3, "empty_cell")]


def test_strict_stops_at_the_first_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_bytes(TICKETS)
    examples, skipped, summary = collect(path, strict=True)
    assert len(examples) == 1 and [s.row for s in skipped] == [4]
    assert summary.stopped is not None and summary.stopped.row == 4


def test_a_preview_stops_early_on_a_big_file(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w") as handle:
        handle.write("question,answer\n")
        for number in range(200_000):
            handle.write(f"q{number},a{number}\n")
    preview = preview_import(path, ImportOptions(), limit=5)
    assert [e.rows[0] for e in preview.examples] == [2, 3, 4, 5, 6]
    assert preview.summary.rows_read == 5 and not preview.summary.complete
    filtered = preview_import(path, ImportOptions(where='question == "nope"'), max_rows=1000)
    assert filtered.examples == [] and filtered.summary.rows_read == 1000


def test_a_real_alpaca_file_as_a_table(shared_datasets: Path) -> None:
    # An Alpaca JSON array read as a table of records: instruction / output columns.
    path = shared_datasets / "alpaca/alpaca_en_demo.json"
    options = ImportOptions(mapping=ColumnMapping(user="instruction", assistant="output"))
    examples, skipped, summary = collect(path, **{"mapping": options.mapping})
    assert summary.record_format is None and summary.mapping["assistant"] == "output"
    assert summary.rows_read == len(json.loads(path.read_text()))
    assert len(examples) + summary.rows_skipped == summary.rows_read
    assert all(s.kind == "empty_cell" for s in skipped)


def test_a_quote_never_closed_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('question,answer\nq1,a1\n"q2 never closed,a2\nq3,a3\n')
    examples, skipped, _ = collect(path)
    assert len(examples) == 1
    assert [(s.row, s.kind) for s in skipped] == [(3, "ragged_row")]
    assert "runs from line 3 to line 4: a quote in it is likely not closed" in skipped[0].reason
