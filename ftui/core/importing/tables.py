"""Reading a source table row by row: CSV / TSV, JSON, JSONL, and Parquet when pyarrow is there.

Every row keeps its source row number, the one a user finds in an editor: the CSV line where the
row starts (a quoted cell may hold newlines, so a row can span lines), the JSONL line, the JSON
array index + 1, the Parquet row + 1. A row that can't be read (bytes that are not text in the
encoding, a ragged CSV row, a JSON record that does not parse) comes out as a `SkippedRow`, and
reading goes on.

CSV text is decoded line by line, so an undecodable byte is reported with its line and byte
offset and only the rows it touches are skipped. JSON goes through the dataset reader (streamed,
records located); an object holding one array of records (`{"data": [...]}`) is read as that
array.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import IO, Any, Literal

from ftui.core.importing.problems import ImportInputError, SkippedRow

TableKind = Literal["csv", "tsv", "json", "jsonl", "parquet"]
TABLE_KINDS: tuple[TableKind, ...] = ("csv", "tsv", "json", "jsonl", "parquet")
REPLACE = "replace"  # the encoding option that keeps undecodable bytes as U+FFFD

_EXTENSIONS: dict[str, TableKind] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SNIFF_BYTES = 64 << 10
_PEEK_RECORDS = 200  # JSON records whose keys name the columns
# A quoted cell may be long (a whole ticket thread); csv's default limit is 128 KiB.
_FIELD_LIMIT = 64 << 20
# Keys whose list is one conversation, not a table of records.
_CONVERSATION_KEYS = frozenset({"messages", "conversation", "conversations", "turns"})
ENCODING_FIX = "--encoding cp1252 (or latin-1, or replace to keep the row with � for the bytes)"


@dataclass(frozen=True, slots=True)
class SourceRow:
    row: int
    values: dict[str, Any]
    end_row: int = 0  # the last line of a CSV row that spans several (0: same as row)


@dataclass
class Table:
    """An open source: its kind, its columns, and its rows (read once, in order)."""

    kind: TableKind
    columns: list[str]
    rows: Iterator[SourceRow | SkippedRow]
    row_label: str  # how its row numbers are named: "line", "record", "row"


def table_kind(path: str | os.PathLike[str]) -> TableKind:
    """The kind of table a path holds, by its extension, else by its first byte."""
    suffix = Path(path).suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096).lstrip(_UTF8_BOM).lstrip()
    except OSError as exc:
        raise ImportInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head[:4] == b"PAR1":
        return "parquet"
    if head[:1] in (b"[", b"{"):
        return "json" if head[:1] == b"[" else "jsonl"
    return "csv"


def check_encoding(encoding: str) -> str:
    """The codec name to decode CSV with; ImportInputError for one that can't be used."""
    if encoding == REPLACE:
        return "utf-8"
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise ImportInputError(
            f"unknown encoding {encoding!r}: try utf-8, cp1252, latin-1, or replace"
        ) from None
    if info.name.startswith(("utf-16", "utf-32")):
        raise ImportInputError(
            f"{encoding} is read only as UTF-8 here: convert the file first "
            f"(iconv -f {encoding} -t UTF-8 FILE > FILE.utf8.csv)"
        )
    return info.name


@contextlib.contextmanager
def open_table(
    path: str | os.PathLike[str],
    *,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    kind: TableKind | None = None,
) -> Iterator[Table]:
    """Open `path` as a table; ImportInputError when it can't be read at all."""
    kind = kind or table_kind(path)
    if kind == "parquet":
        yield _parquet_table(path)
        return
    _refuse_binary(path)
    if kind in ("json", "jsonl"):
        with _json_table(path, kind) as table:
            yield table
        return
    codec = check_encoding(encoding)
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        raise ImportInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        head = handle.read(_SNIFF_BYTES)
        if head.startswith(_WIDE_BOMS):
            raise ImportInputError(
                f"{path} is UTF-16 text: convert it to UTF-8 first "
                "(iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8.csv)"
            )
        handle.seek(0)
        chosen = delimiter or ("\t" if kind == "tsv" else _sniff_delimiter(head, codec))
        yield _csv_table(path, handle, codec, encoding == REPLACE, chosen, kind)


def _refuse_binary(path: str | os.PathLike[str]) -> None:
    """ImportInputError when the file starts like a binary file (NUL bytes): the CSV and JSON
    readers would only say something obscure about its first line."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise ImportInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head.startswith(_WIDE_BOMS):
        return  # UTF-16 text: the CSV reader says how to convert it
    nul = head.find(b"\x00")
    if nul >= 0:
        raise ImportInputError(
            f"{path} looks like a binary file, not text (a NUL byte at byte offset {nul:,}): "
            "import a CSV, TSV, JSON or JSONL export of the data, or a Parquet file named "
            "*.parquet (UTF-16 text without a BOM: iconv -f UTF-16 -t UTF-8 FILE > FILE.csv)"
        )


# ------------------------------------------------------------------------------------------ CSV


def _sniff_delimiter(head: bytes, codec: str) -> str:
    sample = head.removeprefix(_UTF8_BOM).decode(codec, "replace")
    # The sample may end inside a row: sniff only whole lines.
    sample = sample[: sample.rfind("\n") + 1] or sample
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


class _DecodedLines:
    """A binary file's lines, decoded one by one; which lines held undecodable bytes, and where."""

    def __init__(self, handle: IO[bytes], codec: str, replace: bool) -> None:
        self.handle = handle
        self.codec = codec
        self.replace = replace
        self.bad: dict[int, str] = {}
        self.replaced = 0  # lines where bytes became U+FFFD (the "replace" choice)

    def __iter__(self) -> Iterator[str]:
        offset = 0
        for number, raw in enumerate(self.handle, 1):
            data = raw
            if number == 1 and data.startswith(_UTF8_BOM):
                data = data[len(_UTF8_BOM) :]
                offset += len(_UTF8_BOM)
            try:
                text = data.decode(self.codec)
            except UnicodeDecodeError as exc:
                if self.replace:
                    self.replaced += 1
                else:
                    byte = data[exc.start]
                    self.bad[number] = (
                        f"byte 0x{byte:02x} at byte offset {offset + exc.start:,} "
                        f"(line {number}) is not valid {self.codec}"
                    )
                text = data.decode(self.codec, "replace")
            offset += len(data)
            yield text


def _unique_header(cells: list[str]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for number, cell in enumerate(cells, 1):
        name = cell.strip() or f"column {number}"
        base, count = name, 1
        while name in seen:
            count += 1
            name = f"{base} ({count})"
        seen.add(name)
        names.append(name)
    return names


def _csv_table(
    path: str | os.PathLike[str],
    handle: IO[bytes],
    codec: str,
    replace: bool,
    delimiter: str,
    kind: TableKind,
) -> Table:
    csv.field_size_limit(_FIELD_LIMIT)
    lines = _DecodedLines(handle, codec, replace)
    reader = csv.reader(iter(lines), delimiter=delimiter)
    header: list[str] | None = None
    header_line = 0
    try:
        for cells in reader:
            if cells:
                header, header_line = cells, reader.line_num
                break
    except csv.Error as exc:
        raise ImportInputError(f"{path}, line {reader.line_num}: {exc}") from None
    if header is None:
        raise ImportInputError(f"{path} is empty: a CSV import needs a header row of column names")
    if header_line in lines.bad:
        raise ImportInputError(
            f"{path}: the header row has bytes that are not {codec}: "
            f"{lines.bad[header_line]}; pass {ENCODING_FIX}"
        )
    columns = _unique_header(header)
    return Table(kind, columns, _csv_rows(path, reader, lines, columns), "line")


def _csv_rows(
    path: str | os.PathLike[str], reader: Any, lines: _DecodedLines, columns: list[str]
) -> Iterator[SourceRow | SkippedRow]:
    width = len(columns)
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportInputError(f"{path}, line {start}: {exc}") from None
        end = reader.line_num
        row, start = start, end + 1
        if not cells or (len(cells) == 1 and not cells[0].strip() and width > 1):
            continue  # a blank line is no row
        bad = None
        if lines.bad:  # rare: look only when some line did not decode
            bad = next((lines.bad[n] for n in range(row, end + 1) if n in lines.bad), None)
        if bad is not None:
            yield SkippedRow(row, bad, "bad_encoding", fix=ENCODING_FIX)
            continue
        if len(cells) > width and not any(cell.strip() for cell in cells[width:]):
            cells = cells[:width]  # trailing delimiters: empty cells past the header
        if len(cells) != width:
            reason = _ragged(cells, columns, reader.dialect.delimiter)
            if end > row and len(cells) < width:
                # A quote that is never closed swallows the lines after it into one cell.
                reason += (
                    f"; the row runs from line {row} to line {end}: a quote in it is likely "
                    "not closed"
                )
            yield SkippedRow(row, reason, "ragged_row")
            continue
        yield SourceRow(row, dict(zip(columns, cells, strict=True)), end)


def _ragged(cells: list[str], columns: list[str], delimiter: str) -> str:
    shown = "tab" if delimiter == "\t" else repr(delimiter)
    if len(cells) > len(columns):
        return (
            f"the row has {len(cells)} cells, the header {len(columns)}: a cell holding the "
            f"delimiter ({shown}) must be in double quotes"
        )
    missing = ", ".join(columns[len(cells) :][:5])
    return f"the row has {len(cells)} cells, the header {len(columns)} (no {missing})"


# ----------------------------------------------------------------------------------------- JSON


@contextlib.contextmanager
def _json_table(path: str | os.PathLike[str], kind: TableKind) -> Iterator[Table]:
    from ftui.core.dataset.reader import DatasetError, RawRecord, detect_layout, iter_records

    try:
        layout, _start = detect_layout(path)
        records = iter_records(path, exact_numbers=False)
        peeked: list[RawRecord] = []
        for record in records:
            peeked.append(record)
            if len(peeked) >= _PEEK_RECORDS:
                break
    except DatasetError as exc:
        raise ImportInputError(str(exc)) from None
    except OSError as exc:
        raise ImportInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    by_line = layout == "jsonl"
    label = "line" if by_line else "record"
    # One object in the file (a JSONL reading of a one-line .json, too) may hold the table.
    wrapped = _wrapped_records(peeked) if len(peeked) == 1 else None
    try:
        if wrapped is not None:
            _key, inner = wrapped
            rows: Iterator[SourceRow | SkippedRow] = _inner_rows(inner)
            yield Table("json", _columns(v for v in inner[:_PEEK_RECORDS]), rows, "record")
            return
        values = (r.value for r in peeked if isinstance(r.value, dict))
        rows = _record_rows(chain(peeked, records), by_line)
        yield Table("jsonl" if by_line else "json", _columns(values), rows, label)
    finally:
        with contextlib.suppress(Exception):
            records.close()  # type: ignore[attr-defined]


def _columns(values: Iterable[Any]) -> list[str]:
    found: dict[str, None] = {}
    for value in values:
        if isinstance(value, dict):
            found.update(dict.fromkeys(str(key) for key in value))
    return list(found)


def _wrapped_records(peeked: list[Any]) -> tuple[str, list[Any]] | None:
    """`{"data": [{...}, ...]}`: the key and the list, when the file is one such object."""
    value = peeked[0].value
    if not isinstance(value, dict) or _CONVERSATION_KEYS & set(value):
        return None
    lists = [
        (key, item)
        for key, item in value.items()
        if isinstance(item, list) and item and all(isinstance(x, dict) for x in item[:50])
    ]
    return lists[0] if len(lists) == 1 else None


def _inner_rows(items: list[Any]) -> Iterator[SourceRow | SkippedRow]:
    for index, item in enumerate(items):
        if isinstance(item, dict):
            yield SourceRow(index + 1, item)
        else:
            yield SkippedRow(
                index + 1, f"the record is {_type_name(item)}, not an object", "bad_record"
            )


def _record_rows(records: Iterable[Any], by_line: bool) -> Iterator[SourceRow | SkippedRow]:
    for record in records:
        row = record.line if by_line else record.index + 1
        if record.value is None:
            finding = record.finding
            kind: Any = (
                "bad_encoding" if finding and finding.code == "invalid_encoding" else "bad_record"
            )
            reason = finding.message if finding else "the record can't be read"
            fix = (
                "re-encode the file as UTF-8 (iconv -f cp1252 -t UTF-8)"
                if kind == "bad_encoding"
                else None
            )
            yield SkippedRow(row, reason, kind, fix=fix)
        elif not isinstance(record.value, dict):
            yield SkippedRow(
                row, f"the record is {_type_name(record.value)}, not an object", "bad_record"
            )
        else:
            yield SourceRow(row, record.value)


def _type_name(value: Any) -> str:
    from ftui.core.dataset.reader import json_type_name

    return json_type_name(value)


# -------------------------------------------------------------------------------------- Parquet


def _parquet_table(path: str | os.PathLike[str]) -> Table:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportInputError(
            f"{path} is Parquet, which needs pyarrow: pip install pyarrow (or export it to "
            "CSV or JSONL first)"
        ) from None
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own error types for a bad file
        raise ImportInputError(f"cannot read {path} as Parquet: {exc}") from None
    columns = [str(name) for name in parquet.schema_arrow.names]

    def rows() -> Iterator[SourceRow | SkippedRow]:
        number = 0
        for batch in parquet.iter_batches(batch_size=2048):
            for values in batch.to_pylist():
                number += 1
                yield SourceRow(number, values)

    return Table("parquet", columns, rows(), "row")
