"""Fixtures of the local-training tests: one tiny model built once per session, small datasets, and
a store and backend in the test's own ftui home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from train_helpers import ChatData, make_rows, write_jsonl

from ftui.config import Config
from ftui.services.backends.local import LocalBackend
from ftui.services.store import RunStore


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real tiny Llama model with a ChatML training template, built once per session."""
    from ftui.train.tiny_model import build_tiny_model

    texts = [m["content"] for row in make_rows(80, seed=1) for m in row["messages"]]
    # Random weights: the arithmetic chats are regular enough for LoRA alone to lower the loss.
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny", texts, pretrain_steps=0)


@pytest.fixture
def chat_data(tmp_path: Path) -> ChatData:
    rows = make_rows(48)
    return ChatData(
        write_jsonl(tmp_path / "train.jsonl", rows[:40]),
        write_jsonl(tmp_path / "valid.jsonl", rows[40:]),
    )


@pytest.fixture
def app_config(_isolated_ftui_home: Path) -> Config:
    return Config(home=_isolated_ftui_home)


@pytest.fixture
def store(app_config: Config) -> Iterator[RunStore]:
    run_store = RunStore.from_config(app_config)
    yield run_store
    run_store.close()


@pytest.fixture
def backend(store: RunStore, app_config: Config) -> LocalBackend:
    return LocalBackend(store, app_config)


@pytest.fixture(scope="session")
def adapter(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real LoRA adapter on the tiny model, its B matrices random so that it changes outputs
    (peft's default initialisation starts as a no-op)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    config = LoraConfig(r=8, lora_alpha=64, target_modules=["q_proj", "v_proj", "o_proj"],
                        init_lora_weights=False)  # fmt: skip
    out = tmp_path_factory.mktemp("adapters") / "tuned"
    get_peft_model(base, config).save_pretrained(out)
    return out
