"""Completing a model spec as it is typed: a real server's /v1/models, real folders, runs."""

from __future__ import annotations

from pathlib import Path

from ftui.services.inference.discovery import complete_spec, folders_like, server_models
from tests.support.fake_chat import FakeChat


def test_a_server_s_model_names_come_from_its_models_list(fake_chat: FakeChat) -> None:
    fake_chat.script("qwen2.5-7b-instruct", lambda messages: "hi")
    names = server_models(fake_chat.base_url)
    assert "qwen2.5-7b-instruct" in names and names == sorted(names)
    typed = f"openai-compatible:{fake_chat.base_url}#qwen"
    assert complete_spec(typed, server_names=names) == [
        f"openai-compatible:{fake_chat.base_url}#qwen2.5-7b-instruct"
    ]


def test_a_server_that_is_down_offers_nothing() -> None:
    assert server_models("http://127.0.0.1:9/v1") == []


def test_local_folders_model_folders_first(tmp_path: Path) -> None:
    (tmp_path / "models" / "qwen").mkdir(parents=True)
    (tmp_path / "models" / "qwen" / "config.json").write_text("{}")
    (tmp_path / "models" / "q-adapters").mkdir()
    (tmp_path / "models" / "other").mkdir()
    assert folders_like("models/q", base=tmp_path) == ["models/qwen", "models/q-adapters/"]
    assert complete_spec("local:models/q", base=tmp_path) == [
        "local:models/qwen",
        "local:models/q-adapters/",
    ]
    (tmp_path / "models" / "q-adapters" / "a1").mkdir()
    (tmp_path / "models" / "q-adapters" / "a1" / "adapter_config.json").write_text("{}")
    assert complete_spec("local:models/qwen+models/q-adapters/", base=tmp_path) == [
        "local:models/qwen+models/q-adapters/a1"
    ]
    assert folders_like("nowhere/x", base=tmp_path) == []


def test_kinds_runs_and_openai_models() -> None:
    assert complete_spec("op") == ["openai:", "openai-compatible:"]
    assert complete_spec("run:3f", run_ids=["3f2a9c1d", "77aa0000"]) == ["run:3f2a9c1d"]
    assert complete_spec("openai:gpt-4o-m", openai_models=["gpt-4o", "gpt-4o-mini"]) == [
        "openai:gpt-4o-mini"
    ]
    assert complete_spec("bogus:x") == []
