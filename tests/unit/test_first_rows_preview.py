"""The first rows shown before a session opens are the session's own rows, row for row."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftui.core.editing.first_rows import FirstRows
from ftui.core.editing.row_summary import RowSummary
from ftui.core.editing.session import DatasetSession

SHARED_FILES = [
    "openai-chat/toy_chat_fine_tuning.jsonl",
    "openai-chat/sgd_dialogues.jsonl",
    "alpaca/alpaca_en_demo.json",
    "sharegpt/glaive_toolcall_en_demo.json",
    "bad/known_bad_cases.jsonl",
    "bad/dataset-1-simple.jsonl",
    "llamafactory-v1/v1_sft_demo.jsonl",
]


def session_rows(path: Path, journals: Path, count: int) -> list[RowSummary]:
    session = DatasetSession.open(path, journal_dir=journals)
    try:
        session.ensure_indexed()
        return [session.row(pos) for pos in range(count)]
    finally:
        session.close()


@pytest.mark.parametrize("name", SHARED_FILES)
def test_first_rows_are_the_sessions_rows(name: str, shared_datasets: Path, tmp_path: Path) -> None:
    path = shared_datasets / name
    first = FirstRows.read(path)
    assert first is not None and len(first) > 0
    expected = session_rows(path, tmp_path / "j", len(first))
    got = [first.row(pos) for pos in range(len(first))]
    # The session counts tokens and finds problems once it can; the first rows never do.
    assert all(row.tokens is None and row.findings == () for row in got)
    assert [facts(row) for row in got] == [facts(row) for row in expected]


def facts(row: RowSummary) -> tuple[object, ...]:
    return (row.number, row.source_line, row.turns, row.roles, row.first_user, row.edited)


def test_a_file_that_cannot_be_read_has_no_first_rows(tmp_path: Path) -> None:
    assert FirstRows.read(tmp_path / "missing.jsonl") is None
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert FirstRows.read(tmp_path / "empty.jsonl") is None
    (tmp_path / "binary.jsonl").write_bytes(b"\x00\x01\x02" * 100)
    assert FirstRows.read(tmp_path / "binary.jsonl") is None
