"""The training process itself (run in this process): its own checks fail fast with the user's
words, early stopping ends a run that stopped improving, and stop requests are honoured early."""

from __future__ import annotations

import gzip
import json
import random
import shutil
import statistics
from pathlib import Path
from typing import Any

import pytest
from train_helpers import ChatData, fast_config

from ftui.core.training.local_config import LocalTrainConfig
from ftui.core.training.speedups import plan_speedups
from ftui.core.training.trl_templates import trl_templates_dir
from ftui.services.eventlog import read_events
from ftui.train.callback import StopRequest
from ftui.train.loading import choose_placement, load_model, load_tokenizer
from ftui.train.trainer import _build_trainer, run_training, sft_arguments

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
    gpu = plan_speedups(
        config.with_changes(quantization="4bit", gradient_checkpointing=None),
        on_gpu=True,
        packages={"liger_kernel", "bitsandbytes"},
        estimate_without_checkpointing=30 * 1024**3,
        free_memory=80 * 1024**3,
    )
    args = sft_arguments(config, tmp_path, precision="bf16", on_gpu=True, has_eval=True, speed=gpu)
    assert args["bf16"] and not args["fp16"] and not args["use_cpu"]
    assert args["packing"] and args["use_liger_kernel"] and args["optim"] == "paged_adamw_32bit"
    assert not args["gradient_checkpointing"]  # 30 GiB fits the 80 GiB free
    assert args["eval_steps"] == 0.25 and args["save_steps"] == 0.25  # saved at every evaluation
    assert args["load_best_model_at_end"] and args["metric_for_best_model"] == "eval_loss"
    assert args["output_dir"] == str(tmp_path / "checkpoints")
    cpu = sft_arguments(
        config.with_changes(early_stopping_patience=0),
        tmp_path,
        precision="fp32",
        on_gpu=False,
        has_eval=False,
        speed=plan_speedups(config, on_gpu=False, packages={"liger_kernel", "bitsandbytes"}),
    )
    assert cpu["use_cpu"] and not cpu["bf16"] and cpu["eval_strategy"] == "no"
    assert "use_liger_kernel" not in cpu and cpu["optim"] == "adamw_torch_fused"
    assert cpu["train_sampling_strategy"] == "group_by_length" and cpu["packing"] is False
    assert "train_sampling_strategy" not in args  # packed on the GPU: no padding to save
    assert cpu["save_steps"] == 50 and isinstance(cpu["save_steps"], int)


def test_a_cpu_run_trains_with_trls_template_and_the_models_own_loss(
    tiny_model: Path, chat_data: ChatData, tmp_path: Path
) -> None:
    """A tokenizer wearing a published template trl knows (Qwen 2.5's ChatML, without markers):
    trl swaps in its training variant, as the plan said; on a CPU the loss is the model's own
    (no entropy, no token accuracy), examples are padded per batch, not packed, and the loss
    falls."""
    folder = trl_templates_dir()
    assert folder is not None
    model = Path(shutil.copytree(tiny_model, tmp_path / "model"))
    (model / "chat_template.jinja").write_text((folder / "qwen2_5.jinja").read_text("utf-8"))
    run_dir = make_run(tmp_path, fast_config(model, chat_data, validation_path=None))
    assert run_training(run_dir) == "succeeded"
    logged = [e["message"] for e in events(run_dir) if e["type"] == "log"]
    template = next(m for m in logged if m.startswith("Chat template: "))
    assert "trl's qwen2_5_training.jinja" in template and "learns to stop" in template
    assert not any("did not swap in" in m for m in logged)
    speed = next(m for m in logged if m.startswith("Speed-ups: "))
    assert "model's own loss" in speed and "length-grouped batches" in speed
    assert any(m.startswith("Peak memory: ") and "estimated" in m for m in logged)
    metrics = [e["values"] for e in events(run_dir) if "train_loss" in e.get("values", {})]
    assert not any("train_entropy" in v or "train_mean_token_accuracy" in v for v in metrics)
    losses = [v["train_loss"] for v in metrics]
    assert len(losses) >= 20
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.05, losses
    saved = (run_dir / "adapter" / "chat_template.jinja").read_text("utf-8")
    assert saved == (folder / "qwen2_5.jinja").read_text("utf-8")  # inference keeps its own


def test_unpacked_batches_hold_examples_of_similar_length(
    tiny_model: Path, chat_data: ChatData, tmp_path: Path
) -> None:
    """Without packing, the trainer draws batches of examples of similar length (transformers'
    length-grouped sampler, as the plan says), so they pad far less than the same examples drawn
    at random (767 padding tokens against a median of 2,847 here); every example is still drawn
    once per epoch."""
    rng = random.Random(3)
    question = "What is two plus two?"
    rows = [
        {
            "messages": [
                {"role": "user", "content": " ".join([question] * rng.randint(1, 12))},
                {"role": "assistant", "content": "Four."},
            ]
        }
        for _ in range(64)
    ]
    config = fast_config(tiny_model, chat_data, max_length=512, validation_path=None)
    speed = plan_speedups(config, on_gpu=False, packages=set())
    assert speed.length_grouping and "length-grouped batches" in speed.summary()
    placement = choose_placement(config)
    tokenizer = load_tokenizer(tiny_model)
    model = load_model(tiny_model, config, placement, attention=speed.attention)
    trainer = _build_trainer(config, tmp_path, model, tokenizer, rows, None, placement, speed)
    batches = list(trainer.get_train_dataloader())
    padding = sum(int((batch["attention_mask"] == 0).sum()) for batch in batches)
    lengths = [len(ids) for ids in trainer.train_dataset["input_ids"]]
    assert sum(int(batch["attention_mask"].sum()) for batch in batches) == sum(lengths)

    def padding_of(order: list[int]) -> int:
        groups = [order[i : i + config.batch_size] for i in range(0, len(order), 4)]
        return sum(max(g) * len(g) - sum(g) for g in groups)

    shuffled = [padding_of(rng.sample(lengths, len(lengths))) for _ in range(20)]
    assert padding * 2 < statistics.median(shuffled), (padding, shuffled)
