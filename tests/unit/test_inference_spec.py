"""Model specs: every form read back, every bad form refused with what is wrong and the forms."""

from __future__ import annotations

import pytest

from ftui.services.inference.spec import ModelSpec, SpecError, parse_spec, spec_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("openai:gpt-4o-mini", ModelSpec("openai", "openai:gpt-4o-mini", model="gpt-4o-mini")),
        (
            "openai:ft:gpt-4o-mini-2024-07-18:acme::9xYz",
            ModelSpec(
                "openai",
                "openai:ft:gpt-4o-mini-2024-07-18:acme::9xYz",
                model="ft:gpt-4o-mini-2024-07-18:acme::9xYz",
            ),
        ),
        (
            "openai-compatible:http://127.0.0.1:8000/v1#Qwen/Qwen2.5-0.5B-Instruct",
            ModelSpec(
                "openai-compatible",
                "openai-compatible:http://127.0.0.1:8000/v1#Qwen/Qwen2.5-0.5B-Instruct",
                model="Qwen/Qwen2.5-0.5B-Instruct",
                base_url="http://127.0.0.1:8000/v1",
            ),
        ),
        (
            "openai-compatible:http://localhost:11434/v1/#llama3.2:1b",
            ModelSpec(
                "openai-compatible",
                "openai-compatible:http://localhost:11434/v1/#llama3.2:1b",
                model="llama3.2:1b",
                base_url="http://localhost:11434/v1",
            ),
        ),
        ("local:/models/tiny", ModelSpec("local", "local:/models/tiny", path="/models/tiny")),
        (
            "local:~/models/tiny+runs/abc/adapter",
            ModelSpec(
                "local",
                "local:~/models/tiny+runs/abc/adapter",
                path="~/models/tiny",
                adapter="runs/abc/adapter",
            ),
        ),
        ("run:20261201-abc", ModelSpec("run", "run:20261201-abc", run_id="20261201-abc")),
        ("  OpenAI:gpt-4o  ", ModelSpec("openai", "OpenAI:gpt-4o", model="gpt-4o")),
    ],
)
def test_every_form_is_read(text: str, expected: ModelSpec) -> None:
    assert parse_spec(text) == expected


def test_a_bare_host_gets_the_v1_every_such_server_answers_under() -> None:
    spec = parse_spec("openai-compatible:http://127.0.0.1:8080#tiny")
    assert spec.base_url == "http://127.0.0.1:8080/v1"
    assert parse_spec("openai-compatible:https://gpu.example.com/#m").base_url == (
        "https://gpu.example.com/v1"
    )
    # A path of its own is kept: some proxies serve under another prefix.
    assert parse_spec("openai-compatible:http://h:1/api/v2#m").base_url == "http://h:1/api/v2"


@pytest.mark.parametrize(
    "text",
    [
        "openai:gpt-4o",
        "openai-compatible:http://127.0.0.1:8000/v1#m",
        "local:/m",
        "local:/m+/a",
        "run:abc",
    ],
)
def test_the_canonical_text_reads_back_as_the_same_model(text: str) -> None:
    spec = parse_spec(text)
    again = parse_spec(spec_text(spec))
    assert (again.kind, again.model, again.base_url, again.path, again.adapter, again.run_id) == (
        spec.kind,
        spec.model,
        spec.base_url,
        spec.path,
        spec.adapter,
        spec.run_id,
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("gpt-4o-mini", "it has no kind; did you mean openai:gpt-4o-mini?"),
        ("ft:gpt-4o-mini:acme::x1", "did you mean openai:ft:gpt-4o-mini:acme::x1?"),
        ("http://127.0.0.1:8000/v1", "did you mean openai-compatible:http://127.0.0.1:8000/v1"),
        ("vllm:http://x/v1#m", "unknown kind 'vllm' (the kinds are openai, openai-compatible"),
        ("openai:", "the model name after 'openai:' is missing"),
        ("openai:gpt 4o", "the model name 'gpt 4o' has a space in it"),
        ("openai-compatible:", "the server's URL after 'openai-compatible:' is missing"),
        ("openai-compatible:#m", "the server's URL after 'openai-compatible:' is missing"),
        ("openai-compatible:127.0.0.1:8000#m", "is not an http:// or https:// URL with a host"),
        ("openai-compatible:ftp://h/v1#m", "is not an http:// or https:// URL with a host"),
        ("openai-compatible:http://h/v1", "the model name is missing: put it after '#'"),
        ("openai-compatible:http://h/v1#", "the model name is missing: put it after '#'"),
        ("local:", "the model folder after 'local:' is missing"),
        ("local:+adapter", "the model folder after 'local:' is missing"),
        ("local:/models/tiny+", "the adapter folder after '+' is missing"),
        ("run:", "the run id after 'run:' is missing"),
        ("run:abc/def", "'abc/def' is not a run id"),
    ],
)
def test_a_bad_spec_says_what_is_wrong_and_the_four_forms(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_spec(text)
    assert isinstance(caught.value, SpecError)
    message = str(caught.value)
    assert problem in message
    for form in ("openai:MODEL", "openai-compatible:URL#MODEL", "local:PATH[+ADAPTER]", "run:ID"):
        assert form in message
    assert "?." not in message and ".." not in message  # one mark ends the problem
