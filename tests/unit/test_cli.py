from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ftui.cli import _first_positional


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], None),
        (["data.jsonl"], 0),
        (["--home", "/tmp/h"], None),
        (["--home", "/tmp/h", "demo"], 2),
        (["--", "-weird.jsonl"], 1),
    ],
)
def test_first_positional_skips_option_values(args: list[str], expected: int | None) -> None:
    assert _first_positional(args) == expected


def test_one_existing_file_opens_the_workbench_without_the_click_group(tmp_path: Path) -> None:
    # `ftui data.jsonl` is the common start; everything else goes through the group.
    from ftui.entry import opens_a_file

    data = tmp_path / "data.jsonl"
    data.write_text('{"messages": []}\n')
    (tmp_path / "folder").mkdir()
    assert opens_a_file([str(data)]) == data
    assert opens_a_file([str(tmp_path / "missing.jsonl")]) is None  # the group says why
    assert opens_a_file([str(tmp_path / "folder")]) is None
    assert opens_a_file(["--home", str(tmp_path), str(data)]) is None
    assert opens_a_file([str(data), "--format", "openai"]) is None
    assert opens_a_file(["-h"]) is None


def test_a_subcommand_name_is_a_subcommand_even_beside_a_file_of_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ftui.commands import COMMAND_NAMES
    from ftui.entry import opens_a_file

    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").write_text("{}\n")
    assert "demo" in COMMAND_NAMES and opens_a_file(["demo"]) is None


def test_telling_a_file_from_a_subcommand_imports_no_click() -> None:
    code = (
        "import sys; from ftui.entry import opens_a_file; opens_a_file(['x.jsonl']); "
        "sys.exit('click' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
