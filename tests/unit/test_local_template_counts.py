"""Counting with a local model's chat template: a template that rejects an example, or leaves
out its tool calls, is reported per example with the template's own words, never counted as
something else. The tokenizers are built here (no downloads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("transformers")

from ftui.core.validation.report import format_report
from ftui.core.validation.validate import ValidationOptions, validate_file

# Mistral's rules, as its template enforces them: no system role, strict alternation.
STRICT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{%- for message in messages %}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}"
    "{%- if message['role'] == 'user' %}[INST] {{ message['content'] }} [/INST]"
    "{%- else %}{{ message['content'] }}</s>{% endif %}"
    "{%- endfor %}"
)
# A template that renders text only: tool calls vanish.
TEXT_ONLY_TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"


def local_model(folder: Path, template: str) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<s>", "</s>"])
    tokenizer.train_from_iterator(["hello world, how are you today? [INST]"] * 20, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>")
    fast.chat_template = template
    fast.save_pretrained(folder)
    (folder / "config.json").write_text(json.dumps({"max_position_embeddings": 4096}))
    return folder


def chat(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {"messages": [{"role": r, "content": c} for r, c in pairs]}


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_template_that_rejects_an_example_is_an_error_with_its_message(tmp_path: Path) -> None:
    model = local_model(tmp_path / "strict-model", STRICT_TEMPLATE)
    good = [
        chat(("user", f"hello {i}"), ("assistant", f"world {i}, how are you")) for i in range(10)
    ]
    system = chat(("system", "be kind"), ("user", "hello"), ("assistant", "world"))
    twice = chat(("user", "hello"), ("user", "again"), ("assistant", "world"))
    path = write(tmp_path / "d.jsonl", [*good, system, twice])
    report = validate_file(path, ValidationOptions(model=str(model)))
    rejected = {f.line: f.message for f in report.findings if f.code == "chat_template_error"}
    assert set(rejected) == {11, 12}
    assert "System role not supported" in rejected[11] and "strict-model" in rejected[11]
    assert "Conversation roles must alternate" in rejected[12]
    assert not report.ok and "OK: no errors" not in format_report(report)
    assert report.tokens.count == 10  # the rejected examples are not counted as something else


def test_tool_calls_the_template_leaves_out_are_reported(tmp_path: Path) -> None:
    model = local_model(tmp_path / "text-model", TEXT_ONLY_TEMPLATE)
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    row = {
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
            {"role": "assistant", "content": "It is sunny."},
        ]
    }
    report = validate_file(
        write(tmp_path / "t.jsonl", [row] * 10), ValidationOptions(model=str(model))
    )
    dropped = [f for f in report.findings if f.code == "tool_calls_not_rendered"]
    assert len(dropped) == 10  # once per example
    assert dropped[0].message_index == 1 and "'get_weather'" in dropped[0].message
    assert report.tokens.min > 0
