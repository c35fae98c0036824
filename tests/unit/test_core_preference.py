"""Preference data is its own kind: DPO pairs and KTO labels are recognised, validated, counted,
converted between their forms without loss, and reduced to SFT only on purpose and with a count.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ftui.core.dataset.convert import convert_file
from ftui.core.dataset.formats import (
    LEFT_OUT_UNDESIRABLE,
    DatasetFormat,
    convert_example,
    convert_record,
    detect_format,
    to_chat,
)
from ftui.core.dataset.from_canonical import NOTE_REJECTED_LEFT_OUT
from ftui.core.dataset.reader import iter_records
from ftui.core.validation.report import format_report
from ftui.core.validation.stats import format_stats, stats_dict
from ftui.core.validation.validate import DatasetValidator, ValidationOptions, validate_file

PAIR = {
    "conversations": [{"from": "human", "value": "Name a colour."}],
    "chosen": {"from": "gpt", "value": "Blue."},
    "rejected": {"from": "gpt", "value": "I won't."},
}


def records(path: Path) -> list[Any]:
    return [r.value for r in iter_records(path)]


def test_dpo_and_kto_files_are_counted_as_preference_data(shared_datasets: Path) -> None:
    dpo = validate_file(shared_datasets / "sharegpt/dpo_en_demo.json")
    assert dpo.kinds == {"dpo": 300} and dpo.errors == 0
    assert "preference data: 300 DPO pairs" in format_report(dpo)
    kto = validate_file(shared_datasets / "sharegpt/kto_en_demo.json")
    assert kto.kinds == {"kto+": 150, "kto-": 150}
    assert "150 KTO examples labelled desirable and 150 undesirable" in format_report(kto)
    assert stats_dict(kto)["kinds"] == {"kto+": 150, "kto-": 150}
    assert "150 undesirable" in format_stats(kto)
    # A pair trains on both answers: the rejected one is in the token count.
    chosen_only = validate_file(
        shared_datasets / "sharegpt/dpo_en_demo.json", ValidationOptions(near_duplicates=False)
    )
    assert chosen_only.tokens.total == dpo.tokens.total
    validator = DatasetValidator(ValidationOptions(fmt=DatasetFormat.SHAREGPT))
    pair = validator.analyse(0, 1, PAIR)
    plain = validator.analyse(0, 1, {"conversations": [*PAIR["conversations"], PAIR["chosen"]]})
    rejected_tokens = validator.counter.count_example(
        [{"role": "assistant", "content": "I won't."}]
    )
    assert pair.tokens == plain.tokens + rejected_tokens[0] - 3


def test_kto_to_sft_keeps_only_the_desirable_answers(shared_datasets: Path, tmp_path: Path) -> None:
    source = shared_datasets / "sharegpt/kto_en_demo.json"
    out = tmp_path / "kto_sft.jsonl"
    result = convert_file(source, out, "openai")
    assert result.written == 150 and result.notes[LEFT_OUT_UNDESIRABLE] == 150
    desirable = [r for r in records(source) if r["label"] is True]
    written = records(out)
    assert [w["messages"] for w in written] == [d["messages"] for d in desirable]
    assert all(set(w) == {"messages"} for w in written)
    # And the CLI says so, and exits 0: nothing went wrong, the loss was asked for.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ftui",
            "convert",
            str(source),
            str(tmp_path / "o.jsonl"),
            "--to",
            "openai",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote 150 examples" in done.stdout
    assert f"150 × {LEFT_OUT_UNDESIRABLE}" in done.stdout


def test_dpo_to_sft_keeps_the_chosen_answer_and_counts_the_rejected(
    shared_datasets: Path, tmp_path: Path
) -> None:
    source = shared_datasets / "sharegpt/dpo_en_demo.json"
    result = convert_file(source, tmp_path / "sft.jsonl", "openai")
    assert result.written == 300 and result.notes[NOTE_REJECTED_LEFT_OUT] == 300
    first, original = records(tmp_path / "sft.jsonl")[0], records(source)[0]
    assert first["messages"][-1] == {"role": "assistant", "content": original["chosen"]["value"]}


def test_sharegpt_pairs_round_trip_through_openai_dpo(
    shared_datasets: Path, tmp_path: Path
) -> None:
    source = shared_datasets / "sharegpt/dpo_en_demo.json"
    assert convert_file(source, tmp_path / "pairs.jsonl", "dpo").notes == {}
    assert detect_format(tmp_path / "pairs.jsonl") is DatasetFormat.DPO
    first = records(tmp_path / "pairs.jsonl")[0]
    assert set(first) == {"input", "preferred_output", "non_preferred_output"}
    assert first["non_preferred_output"][0]["role"] == "assistant"
    report = validate_file(tmp_path / "pairs.jsonl")
    assert report.format == "dpo" and report.kinds == {"dpo": 300} and report.errors == 0
    back = convert_file(tmp_path / "pairs.jsonl", tmp_path / "back.json", "sharegpt")
    assert back.notes == {}
    # The same conversations, answers and system prompts (a leading system turn comes back
    # as ShareGPT's `system` key, which LLaMA-Factory reads the same way).
    canonical = [to_chat(r, "sharegpt") for r in records(tmp_path / "back.json")]
    assert canonical == [to_chat(r, "sharegpt") for r in records(source)]
    same = [a == b for a, b in zip(records(tmp_path / "back.json"), records(source), strict=True)]
    assert sum(same) == 220


def test_alpaca_pairs_and_kto_labels_convert_without_loss() -> None:
    alpaca_pair = {
        "instruction": "Name a colour.",
        "input": "",
        "chosen": "Blue.",
        "rejected": "I won't.",
    }
    dpo, notes = convert_record(alpaca_pair, "alpaca", "dpo")
    assert notes == [] and dpo is not None
    assert dpo["non_preferred_output"] == [{"role": "assistant", "content": "I won't."}]
    again, notes = convert_record(dpo, "dpo", "alpaca")
    assert notes == [] and again == alpaca_pair
    sharegpt, _ = convert_record(dpo, "dpo", "sharegpt")
    assert sharegpt == PAIR
    kto = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    for label in (True, False):
        alpaca, notes = convert_record({**kto, "label": label}, "sharegpt", "alpaca")
        assert alpaca == {"instruction": "q", "input": "", "output": "a", "label": label}
        chat, _ = to_chat(alpaca, "alpaca")
        assert chat == {**kto, "label": label}
    # A KTO example has no second answer to pair: not convertible to DPO, and says why.
    conversion = convert_example({**kto, "label": True}, "sharegpt", "dpo")
    assert conversion.record is None and "unpaired" in conversion.notes[0]


def test_broken_and_identical_pairs_are_reported() -> None:
    validator = DatasetValidator(ValidationOptions(fmt=DatasetFormat.SHAREGPT))
    same = {**PAIR, "rejected": {"from": "gpt", "value": " Blue. "}}
    found = [f.code for f in validator.check_example(0, 1, same)]
    assert found == ["identical_preference_answers"]
    lone = {k: v for k, v in PAIR.items() if k != "rejected"}
    assert "invalid_preference" in [f.code for f in validator.check_example(0, 1, lone)]
    dpo = DatasetValidator(ValidationOptions(fmt=DatasetFormat.DPO))
    record, _ = convert_record(PAIR, "sharegpt", "dpo")
    assert record is not None and dpo.check_example(0, 1, record) == []
    broken = {**record, "non_preferred_output": "No."}
    assert "invalid_preference" in [f.code for f in dpo.check_example(0, 1, broken)]
    bad_label = {"messages": PAIR["conversations"] + [PAIR["chosen"]], "label": "yes"}
    assert "invalid_field_type" in [f.code for f in validator.check_example(0, 1, bad_label)]


def test_a_file_mixing_pairs_and_plain_examples_says_so(tmp_path: Path) -> None:
    plain = {"conversations": [*PAIR["conversations"], PAIR["chosen"]]}
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([PAIR] * 8 + [plain] * 4))
    report = validate_file(path)
    assert report.kinds == {"dpo": 8, "sft": 4}
    (mixed,) = [f for f in report.findings if f.code == "mixed_data_kinds"]
    assert "8 DPO pairs, 4 plain" in mixed.message


def test_alpaca_instruction_and_input_join_with_one_newline(shared_datasets: Path) -> None:
    path = shared_datasets / "alpaca/alpaca_en_demo.json"
    joined = 0
    for value in records(path):
        chat, _ = to_chat(value, "alpaca")
        assert chat is not None
        user = next(m for m in chat["messages"] if m["role"] == "user")
        if value["instruction"] and value["input"]:
            assert user["content"] == value["instruction"] + "\n" + value["input"]
            joined += 1
    assert joined == 412
