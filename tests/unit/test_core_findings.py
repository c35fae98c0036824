"""Say only what matters: relative reply lengths, summary lines, placeholders and junk replies,
and duplicate keys that see every part of a message."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ftui.core.findings import Severity
from ftui.core.validation.content_checks import is_placeholder_reply, placeholder_names
from ftui.core.validation.validate import DatasetValidator, validate_file


def chat(*pairs: tuple[str, Any]) -> dict[str, Any]:
    return {"messages": [{"role": r, "content": c} for r, c in pairs]}


def write_jsonl(path: Path, values: list[Any]) -> Path:
    path.write_text("".join(json.dumps(v) + "\n" for v in values))
    return path


def codes(report: Any) -> Counter[str]:
    return Counter(f.code for f in report.findings)


def essay(i: int, words: int = 120) -> str:
    return " ".join(f"point{i} detail{j} matters" for j in range(words // 3))


def test_a_reply_is_short_or_long_only_against_the_files_own_replies(tmp_path: Path) -> None:
    long_answers = [
        chat(("user", f"Explain topic {i}."), ("assistant", essay(i))) for i in range(40)
    ]
    short_one = [*long_answers, chat(("user", "Explain topic x."), ("assistant", "Ok."))]
    report = validate_file(write_jsonl(tmp_path / "essays.jsonl", short_one))
    (short,) = [f for f in report.findings if f.code == "short_assistant_reply"]
    assert short.line == 0 and short.severity is Severity.INFO
    assert "1 example(s) have a reply of 2 tokens or fewer" in short.message
    assert "e.g. lines 41;" in short.message
    # The same three-token reply is ordinary in chit-chat: nothing to say about it.
    chit_chat = [
        chat(("user", f"hi {i}"), ("assistant", f"Hello there, friend {i}!")) for i in range(40)
    ]
    report = validate_file(write_jsonl(tmp_path / "chat.jsonl", [*chit_chat, short_one[-1]]))
    assert "short_assistant_reply" not in codes(report)
    # An 8,000-token reply among 10-token ones is an outlier; a file of long answers is not.
    huge = chat(("user", "tell me everything"), ("assistant", essay(0, 6000)))
    report = validate_file(write_jsonl(tmp_path / "huge.jsonl", [*chit_chat, huge]))
    (long,) = [f for f in report.findings if f.code == "long_assistant_reply"]
    assert long.line == 41 and "token reply" in long.message
    assert "long_assistant_reply" not in codes(validate_file(tmp_path / "essays.jsonl"))


def test_a_file_of_terse_replies_gets_one_summary_line(tmp_path: Path) -> None:
    replies = ["Enjoy!", "You too!", "Sure.", "Thanks!"] * 6 + [
        f"The train leaves at {h} from platform {h % 7}." for h in range(16)
    ]
    rows = [chat(("user", f"message {i}"), ("assistant", r)) for i, r in enumerate(replies)]
    report = validate_file(write_jsonl(tmp_path / "terse.jsonl", rows))
    (summary,) = [f for f in report.findings if f.code == "terse_replies"]
    assert summary.line == 0 and summary.severity is Severity.INFO
    assert "60% of replies (24 of 40) are under 5 tokens" in summary.message
    assert "short_assistant_reply" not in codes(report)


def test_real_files_lose_their_length_noise(shared_datasets: Path) -> None:
    # Before: 167 short replies flagged in FastChat's dummy conversations, 42 long ones in
    # LLaMA-Factory's alpaca_en_demo, 169 in its dpo_en_demo; all legitimate.
    fastchat = validate_file(shared_datasets / "sharegpt/fastchat_dummy_conversation.json")
    assert codes(fastchat)["short_assistant_reply"] == 0
    # Its identity questions vary on purpose ("Are you davinci?" / "Are you davinci-002?"):
    # 119 near-duplicates of 500 examples are how the file is made, said in one line.
    (near,) = [f for f in fastchat.findings if f.code == "near_duplicate"]
    assert near.line == 0 and "24% of examples (119 of 500)" in near.message
    assert fastchat.code_counts["near_duplicate"].count == 1
    for name in ("alpaca/alpaca_en_demo.json", "sharegpt/dpo_en_demo.json"):
        assert codes(validate_file(shared_datasets / name))["long_assistant_reply"] == 0, name
    # The cookbook's toy file has one reply of ~8,000 tokens among short ones: still flagged.
    toy = validate_file(shared_datasets / "openai-chat/toy_chat_fine_tuning.jsonl")
    assert [f.line for f in toy.findings if f.code == "long_assistant_reply"] == [5]


def test_a_file_that_mixes_system_prompts_and_none_gets_one_line(shared_datasets: Path) -> None:
    report = validate_file(shared_datasets / "sharegpt/dpo_en_demo.json")
    (summary,) = [f for f in report.findings if f.code == "missing_system_message"]
    assert summary.line == 0 and summary.severity is Severity.INFO
    assert "220 of 300 examples have no system message" in summary.message


def test_unfilled_placeholders(shared_datasets: Path, tmp_path: Path) -> None:
    assert placeholder_names("I am {{name}}, made by {{ author }}.") == ["name", "author"]
    assert placeholder_names("Use `{{date}}` in a template:\n```\n{{title}}\n```") == []
    assert placeholder_names("uses: ${{ github.repository }}") == []
    # identity.json is all placeholders: one line for the file, not 91 findings.
    report = validate_file(shared_datasets / "alpaca/identity.json")
    (summary,) = [f for f in report.findings if f.code == "unfilled_placeholder"]
    assert summary.line == 0 and summary.severity is Severity.WARNING
    assert "93% of examples (85 of 91)" in summary.message and "{{name}}" in summary.message
    rows = [chat(("user", f"q{i}"), ("assistant", f"Answer number {i}.")) for i in range(20)]
    rows[6] = chat(("user", "Who are you?"), ("assistant", "I am {{name}}."))
    report = validate_file(write_jsonl(tmp_path / "one.jsonl", rows))
    (finding,) = [f for f in report.findings if f.code == "unfilled_placeholder"]
    assert finding.line == 7 and finding.message_index == 1


@pytest.mark.parametrize("reply", ["sdfsdf", "test aasdsd", "N/A", "TODO", "asdf asdf", "???"])
def test_junk_replies_are_flagged(reply: str) -> None:
    assert is_placeholder_reply(reply)
    found = DatasetValidator().check_example(
        0, 1, chat(("user", "Tell me a joke"), ("assistant", reply))
    )
    assert [f.code for f in found] == ["placeholder_reply"]


@pytest.mark.parametrize(
    "reply",
    ["Enjoy!", "You too!", "Yes.", "glass", "Flask", "strength", "塞翁失马。", "None", "42"],
)
def test_short_real_answers_are_not_junk(reply: str) -> None:
    assert not is_placeholder_reply(reply)


def test_an_empty_messages_list_is_missing_messages_list() -> None:
    found = DatasetValidator().check_example(0, 1, {"messages": []})
    assert [f.code for f in found] == ["missing_messages_list"]


def test_duplicates_see_image_parts(shared_datasets: Path, tmp_path: Path) -> None:
    def with_image(url: str) -> dict[str, Any]:
        user = [
            {"type": "image_url", "image_url": {"url": url}},
            {"type": "text", "text": "What is this?"},
        ]
        return {
            "messages": [
                {"role": "user", "content": user},
                {"role": "assistant", "content": "A cat."},
            ]
        }

    distinct = [with_image(f"https://example.com/cat{i}.png") for i in range(12)]
    report = validate_file(write_jsonl(tmp_path / "images.jsonl", distinct))
    assert codes(report)["duplicate_example"] == codes(report)["near_duplicate"] == 0
    same = [with_image("https://example.com/cat.png")] * 12
    assert (
        codes(validate_file(write_jsonl(tmp_path / "same.jsonl", same)))["duplicate_example"] == 11
    )
    # LLaMA-Factory's multimodal demo repeats its 6 conversations (images included) 4 times.
    demo = validate_file(shared_datasets / "llamafactory-v1/v1_multimodal_demo.jsonl")
    assert codes(demo)["duplicate_example"] == 18
