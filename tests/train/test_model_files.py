"""Finding models offline: ftui's models folder, any folder, and the Hugging Face cache layout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ftui.core.training.model_files import (
    ModelNotFound,
    list_local_models,
    read_chat_template,
    resolve_model,
    tokenizer_special_tokens,
)


def cache_model(cache: Path, model_id: str, source: Path, commit: str = "0" * 40) -> Path:
    """Lay a model out the way huggingface_hub stores a download."""
    repo = cache / ("models--" + model_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    shutil.copytree(source, snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def test_models_are_found_in_the_models_folder_and_the_hub_cache(
    tiny_model: Path, tmp_path: Path
) -> None:
    models_dir, cache = tmp_path / "models", tmp_path / "hub"
    shutil.copytree(tiny_model, models_dir / "mine")
    shutil.copytree(tiny_model, models_dir / "org" / "nested")
    (models_dir / "not-a-model").mkdir()
    snapshot = cache_model(cache, "acme/tiny-chat", tiny_model)

    found = {m.name: m for m in list_local_models(models_dir, cache)}
    assert set(found) == {"mine", "org/nested", "acme/tiny-chat"}
    assert found["acme/tiny-chat"].source == "hf-cache"
    assert found["mine"].model_type == "llama"
    from transformers import AutoModelForCausalLM

    real = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert found["mine"].params == sum(p.numel() for p in real.parameters())

    assert resolve_model("mine", models_dir, cache) == (models_dir / "mine").resolve()
    assert resolve_model("acme/tiny-chat", models_dir, cache) == snapshot
    assert resolve_model(str(tiny_model), models_dir, cache) == tiny_model.resolve()


def test_hf_cache_location_follows_the_environment(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_model(tmp_path / "hf-home" / "hub", "acme/tiny-chat", tiny_model)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    assert resolve_model("acme/tiny-chat", tmp_path / "models").name == "0" * 40


def test_a_missing_model_says_where_it_looked_and_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound) as caught:
        resolve_model("meta-llama/Llama-3.2-1B", tmp_path / "models", tmp_path / "hub")
    message = str(caught.value)
    assert "Hugging Face cache" in message and str(tmp_path / "hub") in message
    assert "huggingface-cli download meta-llama/Llama-3.2-1B" in message
    with pytest.raises(ModelNotFound, match="does not exist"):
        resolve_model(str(tmp_path / "nowhere"), tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFound, match=r"no config\.json"):
        resolve_model(str(tmp_path / "empty"), tmp_path)


def test_tokenizer_files_are_read_without_transformers(tiny_model: Path, tmp_path: Path) -> None:
    assert {"<|im_start|>", "<|im_end|>", "<|endoftext|>"} <= tokenizer_special_tokens(tiny_model)
    template = read_chat_template(tiny_model)
    assert template is not None and "{%- generation -%}" in template

    # Older layouts keep the template inside tokenizer_config.json, sometimes as named templates.
    older = tmp_path / "older"
    shutil.copytree(tiny_model, older)
    (older / "chat_template.jinja").unlink()
    config = json.loads((older / "tokenizer_config.json").read_text())
    config["chat_template"] = [
        {"name": "tool_use", "template": "T"},
        {"name": "default", "template": "D"},
    ]
    (older / "tokenizer_config.json").write_text(json.dumps(config))
    assert read_chat_template(older) == "D"
    del config["chat_template"]
    (older / "tokenizer_config.json").write_text(json.dumps(config))
    assert read_chat_template(older) is None
