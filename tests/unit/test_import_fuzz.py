"""`ftui import` on mutated files: an exit code and a message, never a traceback.

Hypothesis cuts, deletes and inserts bytes (quotes, delimiters, newlines, NUL, invalid UTF-8, a
BOM, brackets) in a small tickets CSV, a JSONL log and a JSON array; each mutated file is
imported in-process with and without a filter."""

from __future__ import annotations

import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftui.cli import cli

SEEDS = {
    "t.csv": (
        b"\xef\xbb\xbfid,question,answer,score\n"
        b'1,"Hi, there","Hello!\nHow can I help?",5\n'
        b"2,Where?,Here.,n/a\n3,Why,,4\n"
    ),
    "t.jsonl": (
        b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n'
        b'{"conversation_id": "c1", "role": "user", "content": "x", "turn": 1}\n'
    ),
    "t.json": b'[{"prompt": "p", "response": "r", "score": 3}, {"prompt": 1}, []]',
}
HOSTILE = [b'"', b",", b";", b"\t", b"\n", b"\r", b"\x00", b"\xff", b"\xe9", b"\xef\xbb\xbf"]
HOSTILE += [b"[", b"]", b"{", b"}", b"\\", b'""', b"0" * 30]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["cut", "delete", "insert"]))
        if action == "cut":
            del data[at:]
        elif action == "delete" and data:
            del data[at : at + draw(st.integers(1, 8))]
        else:
            data[at:at] = draw(st.sampled_from(HOSTILE))
    return name, bytes(data)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(mutated(), st.sampled_from([[], ["--where", "score >= 4"], ["--per-reply", "--strict"]]))
def test_no_mutated_file_makes_import_crash(file: tuple[str, bytes], extra: list[str]) -> None:
    name, data = file
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory) / name
        source.write_bytes(data)
        out = Path(directory) / "out.jsonl"
        result = CliRunner().invoke(cli, ["import", str(source), str(out), *extra])
        assert result.exit_code in (0, 1, 2), result.output
        if result.exception is not None:
            assert isinstance(result.exception, SystemExit), repr(result.exception)
        assert "Traceback" not in result.output
        assert out.exists() == (result.exit_code == 0)
