"""Converting between formats and splitting files: nothing lost silently, every write atomic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftui.core.dataset.convert import ConvertError, convert_file
from ftui.core.dataset.formats import DatasetFormat, detect_format
from ftui.core.dataset.reader import iter_records
from ftui.core.dataset.split import SplitError, split_file


def test_alpaca_to_openai_and_back_keeps_everything_alpaca_holds(
    shared_datasets: Path, tmp_path: Path
) -> None:
    source = shared_datasets / "alpaca/identity.json"
    chat_file = tmp_path / "identity.jsonl"
    result = convert_file(source, chat_file, "openai")
    assert result.written == 91 and not result.notes and not result.skipped
    assert detect_format(chat_file) is DatasetFormat.OPENAI
    back = tmp_path / "identity.json"
    convert_file(chat_file, back, "alpaca")
    original = [r.value for r in iter_records(source)]
    again = [r.value for r in iter_records(back)]
    # identity.json has no 'input's, so the round trip is exact.
    assert again == original
    assert back.read_bytes().startswith(b"[\n")


def test_sharegpt_tools_to_openai_and_alpaca_reports_what_is_dropped(
    shared_datasets: Path, tmp_path: Path
) -> None:
    source = shared_datasets / "sharegpt/glaive_toolcall_en_demo.json"
    openai = tmp_path / "glaive.jsonl"
    result = convert_file(source, openai, "openai")
    assert result.written == 300 and not result.notes
    first = next(iter_records(openai)).value
    assert first["tools"][0]["type"] == "function"
    alpaca = tmp_path / "glaive.alpaca.json"
    result = convert_file(source, alpaca, "alpaca")
    assert result.notes["dropped 'tools': Alpaca has no tools"] == 300


def test_a_record_that_cannot_be_converted_stops_the_write(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"instruction": "a", "output": "b"}\n{broken\n')
    target = tmp_path / "out.jsonl"
    target.write_text("keep me\n")
    with pytest.raises(ConvertError, match=r"(?s)line 2: column 2: invalid JSON.*--skip-invalid"):
        convert_file(source, target, "openai", source_format="alpaca")
    assert target.read_text() == "keep me\n"
    result = convert_file(source, target, "openai", source_format="alpaca", skip_invalid=True)
    assert result.written == 1 and result.skipped[0][0] == 2
    assert json.loads(target.read_text()) == {
        "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    }


def test_split_keeps_duplicates_together_and_is_seeded(tmp_path: Path) -> None:
    rows = []
    for i in range(40):
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": f"q{i}"},
                    {"role": "assistant", "content": f"a{i}"},
                ]
            }
        )
    for i in range(0, 40, 4):  # ten examples duplicated (one with extra whitespace)
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": f" q{i} "},
                    {"role": "assistant", "content": f"a{i}"},
                ]
            }
        )
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = split_file(path, val=0.2, test=5, seed=3)
    assert sum(result.counts.values()) == 50
    assert result.duplicate_groups == 10
    assert set(result.paths) == {"train", "val", "test"}
    assert result.paths["train"].name == "d.train.jsonl"
    contents = {name: p.read_text().splitlines() for name, p in result.paths.items()}
    assert {name: len(lines) for name, lines in contents.items()} == result.counts
    assert 10 <= result.counts["val"] <= 11 and 5 <= result.counts["test"] <= 6
    where: dict[str, set[str]] = {}
    for name, lines in contents.items():
        for line in lines:
            user = json.loads(line)["messages"][0]["content"].strip()
            where.setdefault(user, set()).add(name)
    assert all(len(splits) == 1 for splits in where.values())
    first = {name: p.read_text() for name, p in result.paths.items()}
    split_file(path, val=0.2, test=5, seed=3)
    assert {name: p.read_text() for name, p in result.paths.items()} == first
    split_file(path, val=0.2, test=5, seed=4)
    assert {name: p.read_text() for name, p in result.paths.items()} != first


def test_split_refuses_impossible_sizes_and_unreadable_records(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"messages": []}\n' * 3)
    with pytest.raises(SplitError, match="of only 3"):
        split_file(path, val=2, test=2)
    path.write_text('{"messages": []}\nnot json\n')
    with pytest.raises(SplitError, match="line 2"):
        split_file(path)
    assert not (tmp_path / "d.train.jsonl").exists()


def test_split_of_a_json_array_writes_json_arrays(shared_datasets: Path, tmp_path: Path) -> None:
    source = tmp_path / "alpaca.json"
    source.write_bytes((shared_datasets / "alpaca/identity.json").read_bytes())
    result = split_file(source, val=10, seed=1)
    assert result.counts["train"] + result.counts["val"] == 91
    val = json.loads(result.paths["val"].read_text())
    assert len(val) == result.counts["val"] and "instruction" in val[0]


def test_alpaca_to_openai_and_back_counts_the_prompts_it_joined(
    shared_datasets: Path, tmp_path: Path
) -> None:
    from ftui.core.dataset.formats import JOINED_ALPACA_INPUT

    source = shared_datasets / "alpaca/alpaca_en_demo.json"
    records = [r.value for r in iter_records(source)]
    with_input = sum(1 for r in records if r.get("instruction") and r.get("input"))
    chat = tmp_path / "alpaca.jsonl"
    result = convert_file(source, chat, "openai")
    assert with_input > 0 and result.notes[JOINED_ALPACA_INPUT] == with_input
    back = tmp_path / "alpaca.back.json"
    assert not convert_file(chat, back, "alpaca").notes
    again = [r.value for r in iter_records(back)]
    # Nothing lost but the split the note counts: the prompt trained on is the same.
    for old, new in zip(records, again, strict=True):
        joined = "\n".join(part for part in (old["instruction"], old["input"]) if part)
        assert (new["instruction"], new["output"]) == (joined, old["output"])
    unchanged = sum(1 for old, new in zip(records, again, strict=True) if old == new)
    assert unchanged == len(records) - with_input
