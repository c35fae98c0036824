"""Finding local models and reading what their files say, without importing transformers.

ftui trains offline: a base model is a local folder (under ftui's models folder or anywhere) or a
model id already in the Hugging Face cache. The launch form lists both and checks the choice by
reading `config.json` and the tokenizer files only, so the app never pays for torch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer_config.json")


class ModelNotFound(FileNotFoundError):
    """The message says where ftui looked and what to do."""


def hf_hub_cache() -> Path:
    """The Hugging Face hub cache, following the same environment variables as huggingface_hub."""
    if value := os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE"):
        return Path(value).expanduser()
    if value := os.environ.get("HF_HOME"):
        return Path(value).expanduser() / "hub"
    cache_home = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(cache_home).expanduser() / "huggingface" / "hub"


@dataclass(frozen=True)
class LocalModel:
    name: str  # what to type: a folder name under the models folder, or a hub id
    path: Path
    source: str  # "models" (ftui's models folder), "hf-cache" or "path"
    model_type: str | None
    params: int | None  # parameter count when the config allows computing it


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file()


def _describe(name: str, path: Path, source: str) -> LocalModel:
    from ftui.core.training.memory_estimate import ModelShape

    config = read_json(path / "config.json")
    try:
        params: int | None = ModelShape.from_config(config).total_params
    except (ValueError, TypeError):
        params = None
    return LocalModel(name, path, source, config.get("model_type"), params)


def _snapshot(repo_dir: Path) -> Path | None:
    """The snapshot `refs/main` points at, else the newest one that has a config.json."""
    ref = repo_dir / "refs" / "main"
    if ref.is_file():
        candidate = repo_dir / "snapshots" / ref.read_text().strip()
        if is_model_dir(candidate):
            return candidate
    snapshots = [p for p in (repo_dir / "snapshots").glob("*") if is_model_dir(p)]
    return max(snapshots, key=lambda p: p.stat().st_mtime) if snapshots else None


def _cached_repo_dir(model_id: str, cache: Path) -> Path:
    return cache / ("models--" + model_id.replace("/", "--"))


def list_local_models(models_dir: Path, hf_cache: Path | None = None) -> list[LocalModel]:
    """Models under ftui's models folder (one or two levels deep) and in the HF cache."""
    found: list[LocalModel] = []
    if models_dir.is_dir():
        for child in sorted(models_dir.iterdir()):
            if is_model_dir(child):
                found.append(_describe(child.name, child, "models"))
            elif child.is_dir() and not child.name.startswith("."):
                for grandchild in sorted(child.iterdir()):
                    if is_model_dir(grandchild):
                        name = f"{child.name}/{grandchild.name}"
                        found.append(_describe(name, grandchild, "models"))
    cache = hf_cache if hf_cache is not None else hf_hub_cache()
    if cache.is_dir():
        for repo_dir in sorted(cache.glob("models--*")):
            snapshot = _snapshot(repo_dir)
            if snapshot is not None:
                model_id = repo_dir.name.removeprefix("models--").replace("--", "/")
                found.append(_describe(model_id, snapshot, "hf-cache"))
    return found


def resolve_model(spec: str, models_dir: Path, hf_cache: Path | None = None) -> Path:
    """The folder holding the model named by `spec`: a path, a name under `models_dir`, or a hub
    id in the cache. Raises ModelNotFound saying where it looked."""
    spec = spec.strip()
    if not spec:
        raise ModelNotFound("No base model given: name a local model folder or a cached hub id.")
    as_path = Path(spec).expanduser()
    if as_path.is_dir():
        if is_model_dir(as_path):
            return as_path.resolve()
        raise ModelNotFound(
            f"{as_path} is a folder but not a model: it has no config.json. Point at the folder "
            "that holds config.json, the weights and the tokenizer files."
        )
    if spec.startswith(("/", "./", "../", "~")):
        raise ModelNotFound(f"The model folder {as_path} does not exist.")
    under_models = models_dir / spec
    if is_model_dir(under_models):
        return under_models.resolve()
    cache = hf_cache if hf_cache is not None else hf_hub_cache()
    snapshot = _snapshot(_cached_repo_dir(spec, cache))
    if snapshot is not None:
        return snapshot
    raise ModelNotFound(
        f"Model {spec!r} is neither a local folder, nor under {models_dir}, nor in the Hugging "
        f"Face cache ({cache}). ftui trains offline and never downloads: on a machine with "
        f"internet run `huggingface-cli download {spec}` and copy the cache here (or set "
        "HF_HUB_CACHE), or pass the model's folder."
    )


def has_tokenizer(model_dir: Path) -> bool:
    return any((model_dir / name).is_file() for name in TOKENIZER_FILES[:3])


def read_chat_template(model_dir: Path) -> str | None:
    """The tokenizer's default chat template, from wherever transformers would read it."""
    jinja = model_dir / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    for source in (model_dir / "chat_template.json", model_dir / "tokenizer_config.json"):
        template = read_json(source).get("chat_template")
        if isinstance(template, str) and template:
            return template
        if isinstance(template, list):  # named templates: [{"name": "default", "template": ...}]
            named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
            chosen = named.get("default") or next(iter(named.values()), None)
            if isinstance(chosen, str) and chosen:
                return chosen
    return None


def tokenizer_special_tokens(model_dir: Path) -> set[str]:
    """Added/special tokens the tokenizer files declare (enough to recognise a model family)."""
    tokens: set[str] = set()
    config = read_json(model_dir / "tokenizer_config.json")
    for entry in (config.get("added_tokens_decoder") or {}).values():
        if isinstance(entry, dict) and isinstance(entry.get("content"), str):
            tokens.add(entry["content"])
    for key in ("bos_token", "eos_token", "pad_token", "unk_token"):
        value = config.get(key)
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str):
            tokens.add(value)
    for key in ("additional_special_tokens", "extra_special_tokens"):
        values = config.get(key)
        if isinstance(values, list):
            tokens.update(v for v in values if isinstance(v, str))
    tokenizer_json = model_dir / "tokenizer.json"
    if tokenizer_json.is_file():
        for entry in read_json(tokenizer_json).get("added_tokens") or []:
            if isinstance(entry, dict) and isinstance(entry.get("content"), str):
                tokens.add(entry["content"])
    return tokens


def tokenizer_token(model_dir: Path, key: str) -> str:
    """A named token of the tokenizer ("bos_token", "eos_token", ...), or "" when it has none."""
    value = read_json(model_dir / "tokenizer_config.json").get(key)
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else ""
