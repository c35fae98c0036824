from __future__ import annotations

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
