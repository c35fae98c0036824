"""The streaming reader and the byte-offset index: every record located, no bad line fatal."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from ftui.core.dataset.reader import (
    MAX_RECORD_BYTES,
    DatasetError,
    build_index,
    detect_layout,
    iter_records,
    scan_index,
)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_jsonl_lines_offsets_and_problems_are_reported_and_reading_goes_on(tmp_path: Path) -> None:
    lines = [
        b'\xef\xbb\xbf{"a": 1}',  # BOM on the first line
        b"",  # blank
        b"   ",  # whitespace only
        b'{"a": 2}\r',  # CRLF
        b'{"bad": "\xff\xfe"}',  # invalid UTF-8
        b'{"a": 3,}',  # invalid JSON
        b"[1, 2]",  # valid JSON, not an object
        b'{"a": 4}',  # no trailing newline
    ]
    path = write(tmp_path, "d.jsonl", b"\n".join(lines))
    records = list(iter_records(path))
    assert [r.line for r in records] == [1, 4, 5, 6, 7, 8]
    assert [r.index for r in records] == list(range(6))
    assert records[0].value == {"a": 1} and records[0].offset == 3
    assert records[1].value == {"a": 2} and records[1].finding is None
    assert records[2].finding is not None and records[2].finding.code == "invalid_encoding"
    assert "ff fe" in records[2].finding.message
    assert records[3].finding is not None and records[3].finding.code == "invalid_json"
    assert "column" in records[3].finding.message
    assert records[4].finding is not None and records[4].finding.code == "data_type"
    assert records[4].value == [1, 2]
    assert records[5].value == {"a": 4}
    data = path.read_bytes()
    expected = [lines[0][3:], lines[3][:-1], lines[4], lines[5], lines[6], lines[7]]
    assert [data[r.offset : r.offset + r.length] for r in records] == expected


def test_a_50_mb_line_is_one_finding_read_in_constant_memory(tmp_path: Path) -> None:
    big = b'{"messages": [{"role": "user", "content": "' + b"x" * (50 << 20) + b'"}]}'
    path = write(tmp_path, "big.jsonl", b'{"a": 1}\n' + big + b'\n{"a": 2}\n')
    tracemalloc.start()
    records = list(iter_records(path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [r.line for r in records] == [1, 2, 3]
    assert records[1].finding is not None and records[1].finding.code == "oversized_record"
    assert records[1].length == len(big)
    assert records[2].value == {"a": 2}
    assert peak < MAX_RECORD_BYTES + (4 << 20)  # bounded, not the line's 50 MB
    index = build_index(path)
    assert index.length(1) == len(big)
    assert index.read(1).finding.code == "oversized_record"  # type: ignore[union-attr]
    assert index.read(2).value == {"a": 2}


def test_json_array_is_streamed_object_by_object_with_start_lines(tmp_path: Path) -> None:
    text = (
        '[\n  {\n    "instruction": "say \\"hi\\" ] }",\n    "output": "{[\\\\"\n  },\n'
        '  {"instruction": "two", "output": "x\\ny"},\n\n  {\n "instruction": "three"\n  }\n]\n'
    )
    path = write(tmp_path, "a.json", text.encode())
    records = list(iter_records(path))
    assert [r.line for r in records] == [2, 6, 8]
    assert records[0].value == {"instruction": 'say "hi" ] }', "output": "{[\\"}
    assert records[1].value == {"instruction": "two", "output": "x\ny"}
    index = build_index(path)
    assert index.kind == "json_array" and len(index) == 3
    assert [index.line(i) for i in range(3)] == [2, 6, 8]
    assert index.read(2).value == {"instruction": "three"}


def test_json_array_problems_truncation_and_non_objects(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", b'[{"a": 1}, 7, {"a": tru}, {"a": "unfinished')
    records = list(iter_records(path))
    codes = [r.finding.code if r.finding else None for r in records]
    assert codes == [None, "data_type", "invalid_json", "invalid_json"]
    assert "truncated" in records[3].finding.message  # type: ignore[union-attr]


def test_a_single_pretty_printed_object_in_a_json_file_is_one_example(tmp_path: Path) -> None:
    path = write(tmp_path, "one.json", b'{\n  "conversations": [\n    {"from": "human"}\n  ]\n}\n')
    assert detect_layout(path)[0] == "json_values"
    records = list(iter_records(path))
    assert len(records) == 1 and records[0].value == {"conversations": [{"from": "human"}]}


def test_scan_index_yields_a_growing_index_before_the_scan_ends(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", b"".join(b'{"i": %d}\n' % i for i in range(25)))
    sizes = []
    seen = None
    for index in scan_index(path, chunk_records=10):
        assert seen is None or index is seen  # the same object, growing
        seen = index
        sizes.append((len(index), index.complete))
    assert sizes == [(10, False), (20, False), (25, True)]
    assert seen is not None and seen.read(17).value == {"i": 17}
    assert [r.value for r in seen.read_range(23, 99)] == [{"i": 23}, {"i": 24}]
    assert not seen.is_stale()
    path.write_bytes(path.read_bytes() + b'{"i": 25}\n')
    assert seen.is_stale()


@pytest.mark.parametrize("name", ["d.jsonl", "d.json"])
def test_the_first_chunk_is_small_in_records_and_in_bytes(tmp_path: Path, name: str) -> None:
    # A screenful of rows at once, however long the records are; then the usual chunks.
    small = [b'{"i": %d}' % i for i in range(50)]
    big = [b'{"i": %d, "pad": "%s"}' % (i, b"x" * 1000) for i in range(50)]
    for records, first in ((small, 7), (big, 5)):
        jsonl = name.endswith("l")
        body = b"\n".join(records) + b"\n" if jsonl else b"[" + b",".join(records) + b"]"
        path = write(tmp_path, name, body)
        scanner = scan_index(path, chunk_records=20, first_records=7, first_bytes=4096)
        sizes = [len(index) for index in scanner]
        assert sizes == [first, first + 20, first + 40, 50][: len(sizes)] and sizes[-1] == 50


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b""), "is empty"),
        (lambda p: p.write_bytes(b"\xef\xbb\xbf \n\n"), "is empty"),
        (lambda p: p.write_bytes(b"\x1f\x8b\x08\x00rest"), "gzip"),
        (lambda p: p.write_bytes(b"\xff\xfe{\x00"), "UTF-16"),
    ],
)
def test_unreadable_files_raise_dataset_error_with_a_reason(
    tmp_path: Path, setup: object, expected: str
) -> None:
    path = tmp_path / "x.jsonl"
    setup(path)  # type: ignore[operator]
    with pytest.raises(DatasetError, match=expected):
        list(iter_records(path))


def test_every_shared_dataset_reads_and_indexes_identically(shared_datasets: Path) -> None:
    for path in sorted(shared_datasets.glob("*/*.json*")):
        if path.stat().st_size > 5 << 20:
            continue
        records = list(iter_records(path))
        index = build_index(path)
        assert len(index) == len(records) > 0, path
        assert all(r.finding is None for r in records), path
        for i in (0, len(records) // 2, len(records) - 1):
            again = index.read(i)
            assert (again.value, again.line, again.offset) == (
                records[i].value,
                records[i].line,
                records[i].offset,
            ), path
