"""Eval sets: prompt, reference and key per example; bad lines refused with where and why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftui.core.judge.evalset import EvalExample, EvalSetError, read_eval_set


def _write(path: Path, *records: object) -> Path:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records)
        + "\n",
        encoding="utf-8",
    )
    return path


def _chat(*turns: tuple[str, str]) -> dict[str, object]:
    return {"messages": [{"role": r, "content": c} for r, c in turns]}


def test_prompt_is_every_turn_before_the_last_assistant_turn(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "eval.jsonl",
        _chat(("system", "Be brief."), ("user", "2+2?"), ("assistant", "4")),
        _chat(
            ("user", "Hi"), ("assistant", "Hello!"), ("user", "Your name?"), ("assistant", "Bot")
        ),
        _chat(("user", "Open question, no reference")),
    )
    first, second, third = read_eval_set(path)
    assert first.messages == (
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "2+2?"},
    )
    assert first.reference == "4"
    assert [m["content"] for m in second.messages] == ["Hi", "Hello!", "Your name?"]
    assert second.reference == "Bot"
    assert third.reference is None
    assert third.question == "Open question, no reference"
    assert "User: Your name?" in second.question and "Assistant: Hello!" in second.question


def test_keys_are_stable_hashes_of_the_prompt(tmp_path: Path) -> None:
    a = _chat(("user", "Capital of France?"), ("assistant", "Paris"))
    b = _chat(("user", "Capital of Spain?"), ("assistant", "Madrid"))
    forward = read_eval_set(_write(tmp_path / "f.jsonl", a, b))
    backward = read_eval_set(_write(tmp_path / "b.jsonl", b, a))
    assert forward[0].key == backward[1].key and forward[1].key == backward[0].key
    assert forward[0].key != forward[1].key
    # The reference is not part of the key: a corrected reference keeps the cache and votes.
    changed = read_eval_set(
        _write(tmp_path / "c.jsonl", _chat(("user", "Capital of France?"), ("assistant", "Paris.")))
    )
    assert changed[0].key == forward[0].key
    assert len(forward[0].key) == 16 and int(forward[0].key, 16) >= 0


def test_a_repeated_prompt_gets_a_key_of_its_own(tmp_path: Path) -> None:
    first = _chat(("user", "Name a colour"), ("assistant", "red"))
    again = _chat(("user", "Name a colour"), ("assistant", "blue"))
    other = _chat(("user", "Name a fruit"), ("assistant", "apple"))
    examples = read_eval_set(_write(tmp_path / "e.jsonl", first, other, again, first))
    keys = [e.key for e in examples]
    assert len(set(keys)) == 4
    assert keys[2] == f"{keys[0]}-2" and keys[3] == f"{keys[0]}-3"
    assert [e.reference for e in examples] == ["red", "apple", "blue", "red"]


def test_limit_reads_only_the_first_examples(tmp_path: Path) -> None:
    records = [_chat(("user", f"q{i}"), ("assistant", f"a{i}")) for i in range(5)]
    # A broken line past the limit is never read.
    path = _write(tmp_path / "e.jsonl", *records, "{not json")
    got = read_eval_set(path, limit=3)
    assert [e.reference for e in got] == ["a0", "a1", "a2"]
    with pytest.raises(ValueError, match="at least 1"):
        read_eval_set(path, limit=0)


def test_text_parts_are_joined_and_other_formats_are_read(tmp_path: Path) -> None:
    parts = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Hello "}, {"type": "text", "text": "there"}],
            },
            {"role": "assistant", "content": "Hi"},
        ]
    }
    (example,) = read_eval_set(_write(tmp_path / "p.jsonl", parts))
    assert example.messages[0]["content"] == "Hello there"
    alpaca = tmp_path / "alpaca.json"
    alpaca.write_text(
        json.dumps([{"instruction": "Translate: chat", "input": "", "output": "cat"}]),
        encoding="utf-8",
    )
    (row,) = read_eval_set(alpaca)
    assert row.reference == "cat"
    assert row.messages[-1]["role"] == "user" and "Translate: chat" in row.messages[-1]["content"]


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("{not json", "invalid JSON"),
        (json.dumps([1, 2]), "JSON object"),
        (json.dumps({"messages": [{"role": "wizard", "content": "x"}]}), "role 'wizard'"),
        (json.dumps({"messages": [{"role": "user", "content": None}]}), "no text content"),
        (
            json.dumps({"messages": [{"role": "assistant", "content": "only an answer"}]}),
            "no user turn",
        ),
        (
            json.dumps(
                {"messages": [{"role": "user", "content": "q"}, {"role": "tool", "content": "r"}]}
            ),
            "ends with a 'tool' turn",
        ),
        (
            json.dumps(
                {
                    "messages": [
                        {
                            "role": "user",
                            "content": [{"type": "image_url", "image_url": {"url": "x"}}],
                        }
                    ]
                }
            ),
            "not text",
        ),
    ],
)
def test_a_bad_line_says_where_what_and_what_to_do(tmp_path: Path, line: str, what: str) -> None:
    path = _write(tmp_path / "bad.jsonl", _chat(("user", "fine"), ("assistant", "ok")), line)
    with pytest.raises(EvalSetError) as caught:
        read_eval_set(path)
    error = caught.value
    assert error.line == 2
    assert error.path == path
    assert what in str(error)
    assert str(path) in str(error) and error.fix


def test_missing_and_empty_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(EvalSetError, match="no such file"):
        read_eval_set(tmp_path / "absent.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match="no examples"):
        read_eval_set(empty)


def test_reads_a_real_eval_split(shared_datasets: Path) -> None:
    path = shared_datasets / "openai-chat" / "fluid_eval.jsonl"
    if not path.exists():
        pytest.skip("fluid_eval.jsonl is absent")
    examples = read_eval_set(path)
    assert examples and all(isinstance(e, EvalExample) for e in examples)
    assert all(e.reference for e in examples)
    assert all(e.messages[-1]["role"] == "user" for e in examples)
    assert read_eval_set(path) == examples
    assert len({e.key for e in examples}) == len(examples)  # it holds a repeated prompt


def test_a_system_prompt_takes_the_place_of_the_example_s_own() -> None:
    from ftui.core.judge.evalset import with_system_prompt

    messages = (
        {"role": "system", "content": "old"},
        {"role": "user", "content": "hi"},
    )
    assert with_system_prompt(messages, None) == messages
    assert with_system_prompt(messages, "new") == (
        {"role": "system", "content": "new"},
        {"role": "user", "content": "hi"},
    )
    assert with_system_prompt(({"role": "user", "content": "hi"},), "new")[0]["content"] == "new"
