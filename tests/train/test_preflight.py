"""Bad inputs are refused before anything starts, each with a message that says what to do."""

from __future__ import annotations

import asyncio
import gzip
import json
import shutil
import time
from pathlib import Path

import pytest
from train_helpers import CPU_ONLY, ChatData, fast_config, make_rows, write_jsonl

from ftui.core.training.chat_templates import TRAINING_TEMPLATES
from ftui.services.backends.local import Capacity, LaunchError, LocalBackend
from ftui.services.gpu import GpuInfo
from ftui.services.store import RunStore


def copy_model(tiny_model: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_model, tmp_path / "model-copy"))


def gpu(index: int, capability: float, total_gib: float = 80) -> GpuInfo:
    return GpuInfo(index, "GPU", int(total_gib * 1024**3), 0, 0.0, capability)


def test_a_good_run_passes_with_a_plan_to_show(
    tiny_model: Path, chat_data: ChatData, backend: LocalBackend
) -> None:
    checked = asyncio.run(backend.preflight(fast_config(tiny_model, chat_data), capacity=CPU_ONLY))
    assert checked.ok, checked.problems
    assert checked.examples == 40
    assert checked.precision == "fp32"
    plan = "\n".join(checked.plan_lines())
    assert "24 steps" in plan and "r=8" in plan and "no GPU" in plan
    assert "Memory     ~" in plan and "trainable" in plan
    template = "Template   the tokenizer's own (with generation markers), loss on assistant turns"
    assert f"{template} only; the end-of-turn token is trained, so the model learns to stop" in plan
    assert "Speed-ups  model's own loss, length-grouped batches, SDPA attention" in plan
    assert "padding-free packing is slower on a CPU" in plan
    assert "gradient checkpointing off (as set)" in plan
    # fast_config evaluates every 8 steps and checkpoints every 100 (of 24).
    assert "Eval, save evaluate every 8 steps, checkpoint every 100 steps, keeping" in plan

    # By epochs, the plan counts the steps as the trainer will: 40 examples in batches of 4,
    # 2 accumulated, 3 epochs = 15 steps; eval at 10 % of them.
    by_epochs = fast_config(tiny_model, chat_data, max_steps=-1, epochs=3, grad_accum=2)
    by_epochs = by_epochs.with_changes(eval_steps=0.1)
    plan = "\n".join(asyncio.run(backend.preflight(by_epochs, capacity=CPU_ONLY)).plan_lines())
    assert "Training   3 epochs (~15 steps)" in plan
    assert "evaluate every 10% of the steps (~2)" in plan


def test_a_missing_model_is_refused_and_nothing_is_recorded(
    chat_data: ChatData, backend: LocalBackend, store: RunStore, tmp_path: Path
) -> None:
    config = fast_config(tmp_path / "no-such-model", chat_data)
    with pytest.raises(LaunchError, match="does not exist"):
        asyncio.run(backend.launch(config))
    config = config.with_changes(base_model="acme/never-downloaded")
    checked = asyncio.run(backend.preflight(config, capacity=CPU_ONLY))
    assert any("huggingface-cli download acme/never-downloaded" in p for p in checked.problems)
    assert store.list_runs() == []


def test_a_tokenizer_without_a_chat_template_is_refused_with_an_offer(
    tiny_model: Path, chat_data: ChatData, backend: LocalBackend, tmp_path: Path
) -> None:
    model = copy_model(tiny_model, tmp_path)
    (model / "chat_template.jinja").unlink()
    checked = asyncio.run(backend.preflight(fast_config(model, chat_data), capacity=CPU_ONLY))
    assert len(checked.problems) == 1
    assert "has no chat template" in checked.problems[0]
    assert "--chat-template chatml" in checked.problems[0]
    fixed = asyncio.run(
        backend.preflight(fast_config(model, chat_data, chat_template="chatml"), capacity=CPU_ONLY)
    )
    assert fixed.ok, fixed.problems


def test_a_template_without_generation_markers_is_refused_for_assistant_only_loss(
    tiny_model: Path, chat_data: ChatData, backend: LocalBackend, tmp_path: Path
) -> None:
    model = copy_model(tiny_model, tmp_path)
    plain = TRAINING_TEMPLATES["chatml"].source.replace("{%- generation -%}", "")
    (model / "chat_template.jinja").write_text(plain.replace("{%- endgeneration -%}", ""))
    checked = asyncio.run(backend.preflight(fast_config(model, chat_data), capacity=CPU_ONLY))
    assert len(checked.problems) == 1
    assert "does not mark assistant turns with {% generation %}" in checked.problems[0]
    assert "--no-assistant-only-loss" in checked.problems[0]
    whole = fast_config(model, chat_data, assistant_only_loss=False)
    assert asyncio.run(backend.preflight(whole, capacity=CPU_ONLY)).ok


def test_unreadable_or_broken_datasets_are_refused_with_file_and_line(
    tiny_model: Path, chat_data: ChatData, backend: LocalBackend, tmp_path: Path
) -> None:
    def problems_for(path: Path) -> str:
        config = fast_config(tiny_model, chat_data, dataset_path=str(path))
        return " ".join(asyncio.run(backend.preflight(config, capacity=CPU_ONLY)).problems)

    packed = tmp_path / "train.jsonl.gz"
    packed.write_bytes(gzip.compress(chat_data.train.read_bytes()))
    assert "gzip-compressed; decompress it first" in problems_for(packed)
    assert "does not exist" in problems_for(tmp_path / "missing.jsonl")
    assert "does not exist or is not a file" in problems_for(tmp_path)

    rows = make_rows(12)
    rows[3]["messages"][2]["content"] = "   "
    broken = write_jsonl(tmp_path / "broken.jsonl", rows)
    with broken.open("a") as handle:
        handle.write('{"messages": [\n')
    text = problems_for(broken)
    assert "The dataset has errors" in text
    assert f"{broken}, line 4" in text and f"{broken}, line 13" in text


def test_openai_only_rules_do_not_block_a_local_run(
    tiny_model: Path, chat_data: ChatData, backend: LocalBackend, tmp_path: Path
) -> None:
    rows = make_rows(4)
    rows[0]["messages"][1]["extra_key"] = "kept"
    few = write_jsonl(tmp_path / "few.jsonl", rows)
    config = fast_config(tiny_model, chat_data, dataset_path=str(few))
    assert asyncio.run(backend.preflight(config, capacity=CPU_ONLY)).ok


def test_gpus_decide_processes_and_precision(
    tiny_model: Path, chat_data: ChatData, backend: LocalBackend
) -> None:
    config = fast_config(tiny_model, chat_data, batch_size=2)
    two_h100 = Capacity([gpu(0, 9.0), gpu(1, 9.0)], None, None)
    checked = asyncio.run(backend.preflight(config, capacity=two_h100))
    assert checked.ok and checked.processes == 2 and checked.precision == "bf16"
    assert "2 processes" in "\n".join(checked.plan_lines())
    one = asyncio.run(backend.preflight(config.with_changes(gpus=1), capacity=two_h100))
    assert one.processes == 1
    v100 = asyncio.run(backend.preflight(config, capacity=Capacity([gpu(0, 7.0)], None, None)))
    assert v100.precision == "fp16"
    too_many = asyncio.run(backend.preflight(config.with_changes(gpus=3), capacity=two_h100))
    assert "gpus is 3 but this machine shows 2 GPU(s)." in too_many.problems
    no_gpu = asyncio.run(backend.preflight(config.with_changes(device="cuda"), capacity=CPU_ONLY))
    assert any("no NVIDIA GPU was found" in p for p in no_gpu.problems)
    fp16_cpu = asyncio.run(
        backend.preflight(config.with_changes(precision="fp16"), capacity=CPU_ONLY)
    )
    assert any("fp16 training needs a GPU" in p for p in fp16_cpu.problems)


def test_a_run_that_will_not_fit_is_flagged(
    tiny_model: Path, chat_data: ChatData, backend: LocalBackend, tmp_path: Path
) -> None:
    model = copy_model(tiny_model, tmp_path)
    config = json.loads((model / "config.json").read_text())
    config.update(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32)
    config.update(num_attention_heads=32, num_key_value_heads=8, head_dim=128)
    (model / "config.json").write_text(json.dumps(config))
    small_gpu = Capacity([gpu(0, 8.6, total_gib=12)], None, None)
    full = asyncio.run(backend.preflight(fast_config(model, chat_data), capacity=small_gpu))
    assert any("will likely run out of memory" in w for w in full.warnings)
    qlora = asyncio.run(
        backend.preflight(fast_config(model, chat_data, quantization="4bit"), capacity=small_gpu)
    )
    assert not any("out of memory" in w for w in qlora.warnings)
    assert any("QLoRA" in w for w in qlora.warnings)


def test_bad_settings_are_named(
    tiny_model: Path, chat_data: ChatData, backend: LocalBackend
) -> None:
    config = fast_config(
        tiny_model,
        chat_data,
        lora_r=0,
        quantization="3bit",
        eval_steps=2.5,
        early_stopping_patience=2,
        validation_path=None,
    )
    problems = " ".join(asyncio.run(backend.preflight(config, capacity=CPU_ONLY)).problems)
    assert "lora_r must be a whole number of at least 1" in problems
    assert "quantization is '3bit'" in problems
    assert "eval_steps must be" in problems
    assert "Early stopping watches the validation loss" in problems


def test_a_run_recorded_but_never_started_is_not_left_hanging(
    tiny_model: Path, chat_data: ChatData, backend: LocalBackend, store: RunStore
) -> None:
    config = fast_config(tiny_model, chat_data)
    common = {"backend": "local", "base_model": str(tiny_model), "config": config.to_dict()}
    fresh = store.create_run(**common)  # perhaps being launched by another ftui right now
    stale = store.create_run(**common, created_at=time.time() - 600)
    assert asyncio.run(backend.reattach()) == []
    assert store.get_run(fresh.id).status == "created"
    orphan = store.get_run(stale.id)
    assert orphan.status == "failed"
    assert orphan.error is not None and "never started" in orphan.error


def test_gradient_checkpointing_goes_on_only_when_the_estimate_needs_it(
    tiny_model: Path, chat_data: ChatData, backend: LocalBackend, tmp_path: Path
) -> None:
    auto = fast_config(tiny_model, chat_data, gradient_checkpointing=None)
    roomy = asyncio.run(backend.preflight(auto, capacity=Capacity([gpu(0, 9.0)], None, None)))
    assert roomy.ok and roomy.speed is not None and not roomy.checkpointing
    plan = "\n".join(roomy.plan_lines())
    assert "fused LM head: trl's Triton kernel" in plan and "fits the 80.0 GiB free" in plan
    assert "gradient checkpointing" not in plan.split("\n")[3]  # the Training line

    model = copy_model(tiny_model, tmp_path)
    config = json.loads((model / "config.json").read_text())
    config.update(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32)
    config.update(num_attention_heads=32, num_key_value_heads=8, head_dim=128)
    (model / "config.json").write_text(json.dumps(config))
    big = fast_config(model, chat_data, gradient_checkpointing=None, batch_size=8, max_length=2048)
    tight = asyncio.run(backend.preflight(big, capacity=Capacity([gpu(0, 9.0)], None, None)))
    assert tight.checkpointing and tight.speed is not None and tight.speed.gradient_checkpointing
    assert any("more than 85% of the 80.0 GiB free" in r for r in tight.speed.reasons)
    assert tight.estimate is not None and tight.estimate.total < 80 * 1024**3
