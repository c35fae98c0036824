"""Every dataset command on mutated real files: an exit code and a message, never a traceback
or a hang.

Seeds are small excerpts of the files in the shared datasets (a few built-in records stand in
when they are absent); hypothesis mutates their bytes (cuts, deletions, insertions of structural
and hostile bytes: deep nesting, huge integers, NUL, invalid UTF-8) or their JSON values (any key
of any message set to any JSON value). Each mutated file then goes through `validate`, `stats`,
`split` and `convert` to every format, in-process, each with a watchdog.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftui.cli import cli
from tests.conftest import SHARED_DATASETS

COMMAND_TIMEOUT_S = 30
SEED_BYTES = 6_000

# (file under the shared datasets, how many records of it)
_EXCERPTS = [
    ("openai-chat/uploaded_output.jsonl", 4),
    ("openai-chat/fluid_train.jsonl", 4),
    ("bad/known_bad_cases.jsonl", 12),
    ("llamafactory-v1/v1_sft_demo.jsonl", 3),
    ("llamafactory-v1/v1_multimodal_demo.jsonl", 3),
    ("alpaca/alpaca_en_demo.json", 4),
    ("alpaca/identity.json", 4),
    ("sharegpt/glaive_toolcall_en_demo.json", 3),
    ("sharegpt/kto_en_demo.json", 3),
    ("sharegpt/dpo_en_demo.json", 2),
    ("sharegpt/fastchat_dummy_conversation.json", 3),
    ("bad/axolotl_conversation.missingturns.json", 3),
]

_BUILT_IN: list[tuple[str, list[Any]]] = [
    (
        ".jsonl",
        [
            {
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Weather in Paris?"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
                    {"role": "assistant", "content": "Sunny."},
                ]
            },
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "yo"},
                ]
            },
        ],
    ),
    (".json", [{"instruction": "Add", "input": "1 and 2", "output": "3"}]),
    (
        ".json",
        [{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}],
    ),
]


def _load_excerpt(path: Path, count: int) -> list[Any]:
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        return data[:count] if isinstance(data, list) else [data]
    values = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                values.append(json.loads(line))
            except ValueError:
                continue  # known-bad files hold broken lines on purpose: keep the parsable
        if len(values) >= count:
            break
    return values


def _seeds() -> list[tuple[str, bytes]]:
    """(suffix, bytes) of each seed file, each cut to a few KB of whole records."""
    sources: list[tuple[str, list[Any]]] = list(_BUILT_IN)
    for name, count in _EXCERPTS:
        path = SHARED_DATASETS / name
        if path.is_file():
            sources.append((path.suffix, _load_excerpt(path, count)))
    seeds = []
    for suffix, values in sources:
        kept: list[Any] = []
        size = 0
        for value in values:
            size += len(json.dumps(value, ensure_ascii=False))
            if kept and size > SEED_BYTES:
                break
            kept.append(value)
        if suffix == ".json":
            data = json.dumps(kept, indent=2, ensure_ascii=False).encode()
        else:
            data = "".join(json.dumps(v, ensure_ascii=False) + "\n" for v in kept).encode()
        seeds.append((suffix, data))
    return seeds


SEEDS = _seeds()

HOSTILE = [
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b'"',
    b"\n",
    b"\r\n",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\\ud800",
    b"123456789012345678901234567890",
    b"-1e999",
    b"NaN",
    b"null",
    b"[]\n",
    b"[" * 300,
    b"{" * 40,
    b'"tool_calls": "x", ',
    b'"function_call": 1, ',
]

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**80), 2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.sampled_from(["user", "assistant", "system", "tool", "gpt", "human", "function_call"]),
)
json_values = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["role", "content", "function", "arguments", "name", "type", "x"]),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=10,
)
MESSAGE_KEYS = st.sampled_from(
    ["role", "content", "tool_calls", "function_call", "name", "weight", "from", "value", "tools"]
)
# Tool calls are where converters dig deepest: half the time, a near-miss of the real shape.
tool_call_values = st.lists(
    st.one_of(
        json_values,
        st.fixed_dictionaries({"function": json_values}),
        st.fixed_dictionaries(
            {
                "type": st.just("function"),
                "function": st.fixed_dictionaries(
                    {"name": json_values, "arguments": json_values | st.text(max_size=20)}
                ),
            }
        ),
    ),
    max_size=2,
)


def _byte_mutation() -> st.SearchStrategy[Any]:
    position = st.floats(0, 1)
    return st.one_of(
        st.tuples(st.just("cut"), position),
        st.tuples(st.just("delete"), position, st.integers(1, 64)),
        st.tuples(st.just("insert"), position, st.sampled_from(HOSTILE) | st.binary(max_size=6)),
        st.tuples(st.just("repeat"), position, st.integers(1, 200)),
    )


def _apply_bytes(data: bytes, mutations: list[Any]) -> bytes:
    for mutation in mutations:
        at = int(mutation[1] * len(data))
        if mutation[0] == "cut":
            data = data[:at]
        elif mutation[0] == "delete":
            data = data[:at] + data[at + mutation[2] :]
        elif mutation[0] == "insert":
            data = data[:at] + mutation[2] + data[at:]
        else:
            data = data[:at] + data[at : at + mutation[2]] * 2 + data[at + mutation[2] :]
    return data


def _apply_value(seed: bytes, suffix: str, where: float, key: str, value: Any) -> bytes:
    """Set `key` of one message (or of the record) of the seed to `value`."""
    if suffix == ".json":
        records = json.loads(seed)
    else:
        records = [json.loads(line) for line in seed.splitlines() if line.strip()]
    if not records:
        return seed
    record = records[int(where * len(records)) % len(records)]
    turns = None
    if isinstance(record, dict):
        turns = next(
            (record[k] for k in ("messages", "conversations") if isinstance(record.get(k), list)),
            None,
        )
    if turns:
        target = turns[int(where * 997) % len(turns)]
        if isinstance(target, dict):
            target[key] = value
    elif isinstance(record, dict):
        record[key] = value
    if suffix == ".json":
        return json.dumps(records, indent=2).encode()
    return "".join(json.dumps(r) + "\n" for r in records).encode()


mutated_files = st.one_of(
    st.builds(
        lambda seed, mutations: (seed[0], _apply_bytes(seed[1], mutations)),
        st.sampled_from(SEEDS),
        st.lists(_byte_mutation(), min_size=1, max_size=3),
    ),
    st.builds(
        lambda seed, where, key, value: (
            seed[0],
            _apply_value(seed[1], seed[0], where, key, value),
        ),
        st.sampled_from(SEEDS),
        st.floats(0, 1),
        MESSAGE_KEYS,
        json_values,
    ),
    st.builds(
        lambda seed, where, key, value: (
            seed[0],
            _apply_value(seed[1], seed[0], where, key, value),
        ),
        st.sampled_from(SEEDS),
        st.floats(0, 1),
        st.sampled_from(["tool_calls", "function_call"]),
        tool_call_values | json_values,
    ),
)


def _invoke(args: list[str]) -> Result:
    """Run one command in-process; fail the test if it doesn't finish within the watchdog."""
    outcome: list[Result] = []
    runner = CliRunner()
    worker = threading.Thread(target=lambda: outcome.append(runner.invoke(cli, args)), daemon=True)
    worker.start()
    worker.join(COMMAND_TIMEOUT_S)
    if worker.is_alive():
        pytest.fail(f"ftui {' '.join(args)} did not finish in {COMMAND_TIMEOUT_S} s (a hang)")
    return outcome[0]


def _commands(path: Path, folder: Path) -> list[list[str]]:
    out = str(folder / "out")
    return [
        ["validate", str(path), "--workers", "1"],
        ["validate", str(path), "--workers", "1", "--json"],
        ["stats", str(path)],
        ["split", str(path), "--val", "0.3"],
        ["convert", str(path), out + ".jsonl", "--to", "openai"],
        ["convert", str(path), out + ".json", "--to", "alpaca", "--skip-invalid"],
        ["convert", str(path), out + ".sharegpt.json", "--to", "sharegpt"],
        ["convert", str(path), out + ".sharegpt.jsonl", "--to", "sharegpt", "--skip-invalid"],
    ]


@settings(
    max_examples=int(os.environ.get("FTUI_FUZZ_EXAMPLES", "40")),
    deadline=None,
    derandomize="FTUI_FUZZ_EXAMPLES" not in os.environ,  # CI: the same files every run
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated=mutated_files)
def test_no_mutated_file_makes_a_command_crash_or_hang(mutated: tuple[str, bytes]) -> None:
    suffix, data = mutated
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = folder / f"data{suffix}"
        path.write_bytes(data)
        for args in _commands(path, folder):
            result = _invoke(args)
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise AssertionError(
                    f"ftui {' '.join(args)} raised on a {len(data)}-byte file: "
                    f"{type(result.exception).__name__}: {result.exception}\n{data[:400]!r}"
                ) from result.exception
            assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.output)
            assert "Traceback" not in result.output
            if result.exit_code == 2:
                assert result.output.startswith("ftui: "), result.output
        leftovers = [p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".partial"))]
        assert not leftovers, leftovers


def test_the_fuzz_has_real_seeds_when_the_shared_datasets_are_there() -> None:
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"the shared datasets folder is absent ({SHARED_DATASETS})")
    assert len(SEEDS) == len(_BUILT_IN) + len(_EXCERPTS)
