"""Malformed input never makes reading, validating or converting raise."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftui.core.dataset.formats import DatasetFormat, convert_record, example_messages
from ftui.core.dataset.reader import DatasetError, iter_records
from ftui.core.validation.validate import DatasetValidator, ValidationOptions, validate_file

ROLES = st.sampled_from(["system", "user", "assistant", "tool", "function", "gpt", "human", "x"])
KEYS = st.sampled_from(
    [
        "role",
        "content",
        "name",
        "weight",
        "tool_calls",
        "tool_call_id",
        "from",
        "value",
        "messages",
        "conversations",
        "instruction",
        "input",
        "output",
        "history",
        "tools",
        "system",
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    ROLES,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(KEYS, st.text(max_size=5)), inner, max_size=5),
    ),
    max_leaves=25,
)
messages = st.lists(st.dictionaries(KEYS, st.one_of(ROLES, json_values), max_size=4), max_size=5)
examples = st.one_of(
    json_values,
    st.builds(lambda m: {"messages": m}, messages),
    st.builds(lambda m: {"conversations": m}, messages),
)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(value=examples)
def test_no_value_makes_the_validator_or_converter_raise(value: Any) -> None:
    for fmt in DatasetFormat:
        validator = _validators[fmt]
        findings = validator.check_example(0, 1, value)
        assert all(f.code != "validator_error" for f in findings), findings
        for target in DatasetFormat:
            record, notes = convert_record(value, fmt, target)
            assert record is None or isinstance(record, dict)
            assert all(isinstance(n, str) for n in notes)
        assert isinstance(example_messages(value, fmt), list)


_validators = {fmt: DatasetValidator(ValidationOptions(fmt=fmt)) for fmt in DatasetFormat}

lines = st.one_of(
    st.binary(max_size=40),
    st.builds(lambda v: json.dumps(v).encode(), examples),
    st.sampled_from([b"", b"\xef\xbb\xbf{}", b"[", b"]", b"{", b'"\\ud800"', b"\r", b"NaN"]),
)


@FUZZ
@given(chunks=st.lists(lines, max_size=8), as_array=st.booleans())
def test_no_file_makes_validate_raise(chunks: list[bytes], as_array: bool) -> None:
    data = (b",\n" if as_array else b"\n").join(chunks)
    if as_array:
        data = b"[" + data + b"]"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("d.json" if as_array else "d.jsonl")
        path.write_bytes(data)
        try:
            report = validate_file(path, ValidationOptions(workers=1))
        except DatasetError as exc:
            assert str(exc)  # an unreadable file is a message, not a crash
            return
        records = list(iter_records(path))
        assert report.examples == len(records)
        assert all(f.code != "validator_error" for f in report.findings)
