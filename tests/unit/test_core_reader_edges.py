"""Shapes that used to lose records silently, and files that are no dataset at all.

Each case was a partial read that exited 0 (or a wrong name for the file): now every record is
read or reported with its line, and a file that is not JSON text says what it is.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from ftui.core.dataset.reader import (
    MAX_NESTING,
    DatasetError,
    build_index,
    detect_layout,
    iter_records,
    parse_record,
)


def _alpaca(shared_datasets: Path, n: int) -> list[dict[str, str]]:
    records = json.loads((shared_datasets / "alpaca/alpaca_en_demo.json").read_text())
    return records[:n]


def test_two_arrays_one_after_another_are_both_read(shared_datasets: Path, tmp_path: Path) -> None:
    records = _alpaca(shared_datasets, 91)
    path = tmp_path / "joined.json"
    first, second = json.dumps(records[:40], indent=2), json.dumps(records[40:], indent=2)
    path.write_text(first + "\n" + second + "\n")
    read = list(iter_records(path))
    assert [r.value for r in read] == records
    assert all(r.finding is None for r in read)
    index = build_index(path)
    assert len(index) == 91 and index.truncated is None
    assert index.read(90).value == records[90]
    assert read[40].line == first.count("\n") + 3  # the second array's first object


def test_an_array_cut_at_a_record_boundary_ends_with_a_finding(
    shared_datasets: Path, tmp_path: Path
) -> None:
    records = _alpaca(shared_datasets, 20)
    text = json.dumps(records, indent=2)
    cut = text[: text.index("\n  {", len(text) // 2)]  # a cut download: ends after a record
    path = tmp_path / "cut.json"
    path.write_text(cut)
    read = list(iter_records(path))
    assert all(r.finding is None for r in read[:-1])
    last = read[-1]
    assert last.value is None and last.finding is not None
    assert last.finding.code == "invalid_json" and "closing ']'" in last.finding.message
    assert last.line == cut.count("\n") + 1
    index = build_index(path)
    assert len(index) == len(read) and index.truncated == len(read) - 1
    assert index.read(len(read) - 1).finding == last.finding
    assert (tmp_path / "open.json").write_text("[") and list(iter_records(tmp_path / "open.json"))


def test_a_jsonl_starting_with_an_empty_array_reads_every_line(
    shared_datasets: Path, tmp_path: Path
) -> None:
    source = (shared_datasets / "openai-chat/uploaded_output.jsonl").read_bytes()
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"[]\n" + source)
    assert detect_layout(path)[0] == "jsonl"
    read = list(iter_records(path))
    assert len(read) == 12
    assert read[0].finding is not None and read[0].finding.code == "data_type"
    assert all(isinstance(r.value, dict) and r.finding is None for r in read[1:])


def test_bare_message_lists_one_per_line_are_each_reported(tmp_path: Path) -> None:
    rows = [
        [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]
        for i in range(5)
    ]
    path = tmp_path / "bare.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    read = list(iter_records(path))
    assert [r.line for r in read] == [1, 2, 3, 4, 5]
    for record in read:
        assert record.finding is not None and record.finding.code == "data_type"
        assert '{"messages": [...]}' in record.finding.message


def test_a_compact_one_line_array_is_still_an_array(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps([{"a": 1}, {"a": 2}]) + "\n")
    assert detect_layout(path)[0] == "json_array"
    assert [r.value for r in iter_records(path)] == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize(
    ("encoding", "bom", "said"),
    [
        ("utf-16-le", b"", "UTF-16 (little-endian)"),
        ("utf-16-be", b"", "UTF-16 (big-endian)"),
        ("utf-32-le", b"", "UTF-32 (little-endian)"),
        ("utf-32-be", b"", "UTF-32 (big-endian)"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "UTF-32 encoded"),
        ("utf-16-le", b"\xff\xfe", "UTF-16 encoded"),
    ],
)
def test_wide_encodings_are_named(tmp_path: Path, encoding: str, bom: bytes, said: str) -> None:
    text = '{"messages": [{"role": "user", "content": "héllo"}]}\n' * 3
    path = tmp_path / "wide.jsonl"
    path.write_bytes(bom + text.encode(encoding))
    with pytest.raises(DatasetError, match=r"re-save it as UTF-8") as caught:
        detect_layout(path)
    assert said in str(caught.value)


def test_a_binary_program_is_not_a_dataset(tmp_path: Path) -> None:
    program = shutil.which("ls") or "/bin/ls"
    path = tmp_path / "ls.jsonl"
    shutil.copyfile(program, path)
    with pytest.raises(DatasetError, match="binary program"):
        detect_layout(path)
    path.write_bytes(b'{"a": 1}\n\x00\x01\x02\x00' * 100)
    with pytest.raises(DatasetError, match="binary data"):
        detect_layout(path)


def test_a_named_pipe_is_refused_at_once_instead_of_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            list(iter_records(fifo))
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():  # unblock it (a writer opening the pipe), then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("reading a named pipe blocked")
    assert len(outcome) == 1 and isinstance(outcome[0], DatasetError)
    assert "named pipe" in str(outcome[0]) and "save it to a file first" in str(outcome[0])


def test_integers_beyond_64_bits_are_read_exactly() -> None:
    data = b'{"id": 123456789012345678901234567890, "n": -9223372036854775809, "x": 1.5}'
    record = parse_record(data, 0, 1, 0, len(data))
    assert record.finding is None
    assert record.value == {
        "id": 123456789012345678901234567890,
        "n": -9223372036854775809,
        "x": 1.5,
    }
    text = b'{"t": "call 1234567890123456789012 now", "n": 1}'  # digits inside a string only
    assert parse_record(text, 0, 1, 0, len(text)).value == {
        "t": "call 1234567890123456789012 now",
        "n": 1,
    }


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 255, 1024, 5000])
def test_records_nested_too_deep_are_one_finding(depth: int) -> None:
    data = b'{"messages": ' + b"[" * depth + b"]" * depth + b"}"
    record = parse_record(data, 3, 7, 0, len(data))
    assert record.value is None and record.finding is not None
    assert record.finding.code == "nested_too_deep" and record.finding.line == 7
    assert str(MAX_NESTING) in record.finding.message


def test_deep_but_writable_records_are_kept() -> None:
    depth = MAX_NESTING - 2
    data = b'{"a": ' + b"[" * depth + b"]" * depth + b"}"
    record = parse_record(data, 0, 1, 0, len(data))
    assert record.finding is None and record.value is not None


def test_an_edit_and_save_keeps_integers_beyond_64_bits(tmp_path: Path) -> None:
    from ftui.core.editing.edits import SetContent
    from ftui.core.editing.session import DatasetSession

    path = tmp_path / "ids.jsonl"
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"q{i}"},
                {"role": "assistant", "content": "a"},
            ],
            "id": 123456789012345678901234567890 + i,
        }
        for i in range(3)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    session = DatasetSession.open(path, journal_dir=tmp_path / "journals")
    for _ in session.index_steps():
        pass
    session.apply(SetContent(1, 0, "edited"))
    session.save()
    rows[1]["messages"][0]["content"] = "edited"  # type: ignore[index]
    assert path.read_text() == "".join(json.dumps(r) + "\n" for r in rows)


def test_readers_that_write_nothing_back_may_skip_the_exact_number_search() -> None:
    data = b'{"id": 123456789012345678901234567890}'
    fast = parse_record(data, 0, 1, 0, len(data), exact_numbers=False)
    assert fast.value == {"id": 1.2345678901234568e29}  # orjson's reading: a float


def test_exact_big_integers_stay_usable_by_the_editors_search_and_duplicate_key() -> None:
    from ftui.core.dataset.formats import DatasetFormat
    from ftui.core.editing.search import message_text
    from ftui.core.editing.session_checks import exact_key

    data = (
        b'{"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "f", '
        b'"arguments": {"n": 123456789012345678901234567890}}}]}'
    )
    message = parse_record(data, 0, 1, 0, len(data)).value
    assert "123456789012345678901234567890" in message_text(message)
    odd = {"x": 2**70}
    assert exact_key(odd, DatasetFormat.OPENAI) == exact_key({"x": 2**70}, DatasetFormat.OPENAI)
    assert exact_key(odd, DatasetFormat.OPENAI) != exact_key({"x": 2**70 + 1}, DatasetFormat.OPENAI)
