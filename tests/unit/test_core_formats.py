"""Format detection and conversion through the canonical chat form."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftui.core.dataset.formats import (
    DatasetError,
    DatasetFormat,
    convert_record,
    detect_format,
    detect_format_of,
    example_messages,
    from_chat,
    to_chat,
)
from ftui.core.dataset.reader import iter_records

EXPECTED_FORMATS = {
    "alpaca": DatasetFormat.ALPACA,
    "openai-chat": DatasetFormat.OPENAI,
    "llamafactory-v1": DatasetFormat.OPENAI,
    "sharegpt": DatasetFormat.SHAREGPT,
}


def test_every_shared_dataset_has_its_format_detected(shared_datasets: Path) -> None:
    checked = 0
    for folder, expected in EXPECTED_FORMATS.items():
        for path in sorted((shared_datasets / folder).glob("*.json*")):
            assert detect_format(path) is expected, path
            checked += 1
    assert detect_format(shared_datasets / "bad" / "axolotl_conversation.missingturns.json") is (
        DatasetFormat.SHAREGPT
    )
    assert checked >= 18


def test_detection_votes_and_falls_back(tmp_path: Path) -> None:
    alpaca = {"instruction": "a", "output": "b"}
    chat = {"messages": [{"role": "user", "content": "x"}]}
    assert detect_format_of([alpaca, alpaca, chat]) is DatasetFormat.ALPACA
    assert detect_format_of([chat], layout="json_array") is DatasetFormat.SHAREGPT
    assert detect_format_of([{"x": 1}, 3]) is None
    legacy = tmp_path / "legacy.jsonl"
    legacy.write_text('{"prompt": "a", "completion": "b"}\n')
    assert detect_format(legacy) is DatasetFormat.OPENAI  # so each line says what it lacks
    unknown = tmp_path / "unknown.json"
    unknown.write_text('[{"question": "a", "answer": "b"}]')
    with pytest.raises(DatasetError, match=r"question.*--format"):
        detect_format(unknown)


def test_alpaca_to_chat_uses_system_history_instruction_and_input() -> None:
    record = {
        "system": "Be brief.",
        "history": [["hi", "hello"]],
        "instruction": "Translate",
        "input": "bonjour",
        "output": "good day",
        "id": 7,
    }
    chat, problems = to_chat(record, "alpaca")
    assert problems == []
    assert chat == {
        "id": 7,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {
                "role": "user",
                "content": "Translate\nbonjour",
            },  # LLaMA-Factory joins with one newline
            {"role": "assistant", "content": "good day"},
        ],
    }
    back, notes = from_chat(chat, "alpaca")
    assert back["history"] == [["hi", "hello"]] and back["system"] == "Be brief."
    assert back["output"] == "good day" and back["id"] == 7 and notes == []


def test_sharegpt_function_calls_become_tool_calls_with_matching_ids(shared_datasets: Path) -> None:
    path = shared_datasets / "sharegpt" / "glaive_toolcall_en_demo.json"
    record = next(r for r in iter_records(path) if "function_call" in str(r.value))
    chat, problems = to_chat(record.value, "sharegpt")
    assert problems == [] and chat is not None
    assert chat["tools"][0]["type"] == "function" and "name" in chat["tools"][0]["function"]
    messages = chat["messages"]
    call_index = next(i for i, m in enumerate(messages) if m.get("tool_calls"))
    call = messages[call_index]["tool_calls"][0]
    assert call["type"] == "function" and isinstance(call["function"]["arguments"], str)
    reply = messages[call_index + 1]
    assert reply["role"] == "tool" and reply["tool_call_id"] == call["id"]
    # And back: ShareGPT holds all of it except the synthesised ids.
    back, notes = from_chat(chat, "sharegpt")
    assert [t["from"] for t in back["conversations"]] == [
        t["from"] for t in record.value["conversations"]
    ]
    assert notes == []


def test_sharegpt_variants_role_tags_messages_key_and_preference_pairs() -> None:
    tagged = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    chat, _ = to_chat({**tagged, "label": True}, "sharegpt")
    assert chat is not None and chat["label"] is True
    assert [m["role"] for m in chat["messages"]] == ["user", "assistant"]
    dpo = {
        "conversations": [{"from": "human", "value": "q"}],
        "chosen": {"from": "gpt", "value": "good"},
        "rejected": {"from": "gpt", "value": "bad"},
    }
    chat, _ = to_chat(dpo, "sharegpt")
    assert chat is not None and chat["messages"][-1] == {"role": "assistant", "content": "good"}
    assert chat["non_preferred_output"] == [{"role": "assistant", "content": "bad"}]
    chat, problems = to_chat({"conversations": [{"from": "alien", "value": "x"}]}, "sharegpt")
    assert chat is not None and "alien" in problems[0]


def test_llamafactory_v1_parts_and_loss_weights_become_openai(shared_datasets: Path) -> None:
    path = shared_datasets / "llamafactory-v1" / "v1_sft_demo.jsonl"
    value = next(iter_records(path)).value
    record, notes = convert_record(value, "openai", "openai")
    assert record is not None and notes == []
    user, assistant = record["messages"]
    assert user == {"role": "user", "content": "hi"}
    assert assistant["weight"] == 1 and isinstance(assistant["content"], str)
    image = {"type": "image_url", "value": "a.jpg"}
    chat, _ = to_chat({"messages": [{"role": "user", "content": [image]}]}, "openai")
    assert chat is not None
    assert chat["messages"][0]["content"] == [{"type": "image_url", "image_url": {"url": "a.jpg"}}]


def test_conversion_says_what_the_target_cannot_hold() -> None:
    chat = {
        "messages": [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
            {"role": "assistant", "content": "Sunny.", "weight": 1},
        ],
        "tools": [{"type": "function", "function": {"name": "w"}}],
        "source": "x",
    }
    alpaca, notes = from_chat(chat, "alpaca")
    assert alpaca["instruction"] == "weather?" and alpaca["output"] == "Sunny."
    assert any("tool" in n for n in notes) and any("weight" in n for n in notes)
    openai, notes = from_chat(chat, "openai")
    assert "source" not in openai and notes == [
        "dropped key 'source' (not part of OpenAI's format)"
    ]
    sharegpt, notes = from_chat(chat, "sharegpt")
    assert [t["from"] for t in sharegpt["conversations"]] == [
        "human",
        "function_call",
        "observation",
        "gpt",
    ]
    again, _ = to_chat(sharegpt, "sharegpt")
    assert again is not None and again["messages"][1]["tool_calls"][0]["function"]["name"] == "w"


@pytest.mark.parametrize("value", [None, 3, "x", [], {"messages": 5}, {"conversations": [1, None]}])
def test_uninterpretable_values_give_problems_not_exceptions(value: object) -> None:
    for fmt in DatasetFormat:
        chat, problems = to_chat(value, fmt)
        assert chat is None or isinstance(chat, dict)
        if chat is None:
            assert problems
        assert isinstance(example_messages(value, fmt), list)
