"""Sources whose records already are a dataset format ftui reads (OpenAI chat, Alpaca, ShareGPT).

Guessing columns of such a file goes wrong (an Alpaca record's `input` looks like the user
turn, its `instruction` is lost), so with no `--map` an import reads them with the dataset
readers' own converters: Alpaca's instruction + input, system and history; ShareGPT's system
field; OpenAI chat's messages. Each record becomes a list of turns the example builder checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ftui.core.dataset.format_spec import DatasetFormat
from ftui.core.dataset.formats import detect_format_of, to_chat_issues
from ftui.core.importing.problems import SkippedRow
from ftui.core.importing.tables import SourceRow

TURNS_KEY = "messages"  # where a converted record's turns go, for the builder's messages shape
CONVERTED_FORMATS = (DatasetFormat.OPENAI, DatasetFormat.ALPACA, DatasetFormat.SHAREGPT)
# What each format's converter reads, in words, for the import's summary.
FORMAT_READS = {
    DatasetFormat.OPENAI: "OpenAI chat: the 'messages' turns",
    DatasetFormat.ALPACA: "Alpaca: user = instruction + input, assistant = output, system, history",
    DatasetFormat.SHAREGPT: "ShareGPT: the 'conversations' turns and the system field",
}


def _is_turn_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict)


def _fits(fmt: DatasetFormat, values: Mapping[str, Any]) -> bool:
    """The record has what `fmt`'s converter needs, not just one telling name (an 'output'
    column of a table is not an Alpaca file)."""
    if fmt is DatasetFormat.ALPACA:
        return "instruction" in values and ("output" in values or "chosen" in values)
    if fmt is DatasetFormat.SHAREGPT:
        return _is_turn_list(values.get("conversations")) or _is_turn_list(values.get("messages"))
    return _is_turn_list(values.get("messages"))


def detect_record_format(
    samples: Iterable[Mapping[str, Any]], layout: str | None = None
) -> DatasetFormat | None:
    """The dataset format most sampled records are in, if every one fits it; else None."""
    records = [dict(values) for values in samples]
    if not records:
        return None
    fmt = detect_format_of(records, layout=layout)
    if fmt not in CONVERTED_FORMATS or not all(_fits(fmt, r) for r in records):
        return None
    return fmt


def convert_row(row: SourceRow, fmt: DatasetFormat) -> SourceRow | SkippedRow:
    """The row with its turns under TURNS_KEY, or a SkippedRow saying what the converter met."""
    chat, issues = to_chat_issues(row.values, fmt)
    if chat is None or issues:
        reasons = "; ".join(issue.message for issue in issues) or "not a record"
        return SkippedRow(row.row, f"not a valid {fmt.value} record: {reasons}", "bad_record")
    return SourceRow(row.row, {TURNS_KEY: chat.get("messages", [])}, row.end_row)
