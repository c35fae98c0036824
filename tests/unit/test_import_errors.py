"""Sources that can't be imported say why in words a user can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftui.core.importing import ImportInputError, ImportOptions, run_import


@pytest.mark.parametrize("name", ["bin.csv", "bin.json", "bin.jsonl"])
def test_a_binary_file_is_named_as_such(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(Path("/bin/ls").read_bytes()[:3000])  # a real executable's first bytes
    with pytest.raises(ImportInputError) as caught:
        run_import(path, ImportOptions())
    message = str(caught.value)
    assert "looks like a binary file" in message and "NUL byte" in message
    assert "universal-newline" not in message


def test_a_wrong_delimiter_is_hinted(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("ticket_id,question,answer\n1,Where is it?,On its way.\n")
    with pytest.raises(ImportInputError, match="pass --delimiter ','"):
        run_import(path, ImportOptions(delimiter=";"))
    with run_import(path, ImportOptions(delimiter=",")) as run:
        assert run.mapping.columns.user == "question"


def test_a_single_column_without_another_delimiter_gets_no_hint(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("question\nWhere is it?\n")
    with pytest.raises(ImportInputError) as caught:
        run_import(path, ImportOptions())
    assert "--delimiter" not in str(caught.value)
