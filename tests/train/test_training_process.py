"""The training process itself (run in this process): its own checks fail fast with the user's
words, early stopping ends a run that stopped improving, and stop requests are honoured early."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from train_helpers import ChatData, fast_config

from ftui.core.training.local_config import LocalTrainConfig
from ftui.services.eventlog import read_events
from ftui.train.callback import StopRequest
from ftui.train.trainer import run_training, sft_arguments

pytestmark = pytest.mark.slow


def make_run(tmp_path: Path, config: LocalTrainConfig | dict[str, Any]) -> Path:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    data = config.to_dict() if isinstance(config, LocalTrainConfig) else config
    (run_dir / "config.json").write_text(json.dumps(data))
    return run_dir


def events(run_dir: Path) -> list[dict[str, Any]]:
    return read_events(run_dir / "events.jsonl")[0]


def failure(run_dir: Path) -> str:
    last = events(run_dir)[-1]
    assert last["type"] == "status" and last["status"] == "failed", last
    assert not any(e.get("message", "").startswith("Loading ") for e in events(run_dir))
    return str(last["error"])


def test_the_process_refuses_a_tokenizer_without_a_template_before_loading_weights(
    tiny_model: Path, chat_data: ChatData, tmp_path: Path
) -> None:
    model = Path(shutil.copytree(tiny_model, tmp_path / "model"))
    (model / "chat_template.jinja").unlink()
    run_dir = make_run(tmp_path, fast_config(model, chat_data))
    assert run_training(run_dir) == "failed"
    assert "has no chat template" in failure(run_dir)


def test_the_process_refuses_an_unreadable_dataset(
    tiny_model: Path, chat_data: ChatData, tmp_path: Path
) -> None:
    packed = tmp_path / "data.jsonl.gz"
    packed.write_bytes(gzip.compress(chat_data.train.read_bytes()))
    run_dir = make_run(tmp_path, fast_config(tiny_model, chat_data, dataset_path=str(packed)))
    assert run_training(run_dir) == "failed"
    assert "gzip-compressed" in failure(run_dir)


def test_the_process_refuses_a_missing_model_and_a_bad_config(
    chat_data: ChatData, tmp_path: Path
) -> None:
    run_dir = make_run(tmp_path, fast_config(Path("acme/not-cached"), chat_data))
    assert run_training(run_dir) == "failed"
    assert "never downloads" in failure(run_dir)

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text(json.dumps({"base_model": "x", "dataset_path": "y", "lr": 1}))
    assert run_training(bad) == "failed"
    assert "unknown setting(s) lr" in failure(bad)


def test_a_stop_requested_before_training_cancels_cleanly(
    tiny_model: Path, chat_data: ChatData, tmp_path: Path
) -> None:
    stop = StopRequest()
    stop.set("SIGTERM")
    run_dir = make_run(tmp_path, fast_config(tiny_model, chat_data))
    assert run_training(run_dir, stop=stop) == "cancelled"
    assert events(run_dir)[-1]["message"] == "Stopped by SIGTERM before training started."


def test_early_stopping_ends_a_run_whose_validation_loss_stalls(
    tiny_model: Path, chat_data: ChatData, tmp_path: Path
) -> None:
    # A learning rate too small to move the loss: the first evaluation stays the best one.
    config = fast_config(
        tiny_model,
        chat_data,
        learning_rate=1e-12,
        max_steps=40,
        eval_steps=2,
        early_stopping_patience=2,
    )
    run_dir = make_run(tmp_path, config)
    assert run_training(run_dir) == "succeeded"
    logged = [e["message"] for e in events(run_dir) if e["type"] == "log"]
    assert any(m.startswith("Early stopping at step 6") for m in logged), logged
    evaluated = [e["step"] for e in events(run_dir) if "valid_loss" in e.get("values", {})]
    assert evaluated == [2, 4, 6]
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()


def test_settings_map_onto_sft_config(
    tiny_model: Path, chat_data: ChatData, tmp_path: Path
) -> None:
    config = fast_config(
        tiny_model, chat_data, eval_steps=0.25, save_steps=50, early_stopping_patience=3
    )
    args = sft_arguments(config, tmp_path, precision="bf16", on_gpu=True, has_eval=True)
    assert args["bf16"] and not args["fp16"] and not args["use_cpu"]
    assert args["eval_steps"] == 0.25 and args["save_steps"] == 0.25  # saved at every evaluation
    assert args["load_best_model_at_end"] and args["metric_for_best_model"] == "eval_loss"
    assert args["output_dir"] == str(tmp_path / "checkpoints")
    cpu = sft_arguments(
        config.with_changes(early_stopping_patience=0),
        tmp_path,
        precision="fp32",
        on_gpu=False,
        has_eval=False,
    )
    assert cpu["use_cpu"] and not cpu["bf16"] and cpu["eval_strategy"] == "no"
    assert cpu["save_steps"] == 50 and isinstance(cpu["save_steps"], int)
