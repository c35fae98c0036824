"""The speed plan: each of the ecosystem's speed-ups on where it helps, off where it does not, and
an explicit setting always winning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from train_helpers import ChatData, fast_config

from ftui.core.training.speedups import plan_speedups

GIB = 1024**3


def test_a_cpu_plan_uses_the_models_own_loss_and_no_gpu_extras(
    tiny_model: Path, chat_data: ChatData
) -> None:
    config = fast_config(tiny_model, chat_data, gradient_checkpointing=None, quantization="4bit")
    plan = plan_speedups(config, on_gpu=False, packages={"liger_kernel", "flash_attn"})
    assert not plan.fused_lm_head and not plan.packing and not plan.liger
    assert plan.attention == "sdpa" and plan.optimizer == "adamw_torch_fused"
    assert not plan.gradient_checkpointing
    assert plan.sft_arguments() == {
        "packing": False,
        "optim": "adamw_torch_fused",
        "gradient_checkpointing": False,
        "train_sampling_strategy": "group_by_length",  # padded batches of similar lengths
    }


def test_a_gpu_plan_takes_what_is_installed(tiny_model: Path, chat_data: ChatData) -> None:
    config = fast_config(tiny_model, chat_data, gradient_checkpointing=None, quantization="4bit")
    bare = plan_speedups(config, on_gpu=True, packages=set())
    assert bare.fused_lm_head and bare.packing and bare.attention == "sdpa" and not bare.liger
    assert bare.optimizer == "adamw_torch_fused"  # no bitsandbytes, no paged optimizer
    assert bare.gradient_checkpointing  # no estimate: the safe choice
    assert any("install flash-attn" in r for r in bare.reasons)
    full = plan_speedups(
        config,
        on_gpu=True,
        packages={"liger_kernel", "flash_attn", "bitsandbytes"},
        estimate_without_checkpointing=10 * GIB,
        free_memory=20 * GIB,
    )
    assert full.attention == "flash_attention_2" and full.liger
    assert full.optimizer == "paged_adamw_32bit" and not full.gradient_checkpointing
    assert full.sft_arguments()["use_liger_kernel"] is True
    assert "train_sampling_strategy" not in full.sft_arguments()  # packed: nothing to group
    assert "FlashAttention 2" in full.summary() and "Liger kernels" in full.summary()
    tight = plan_speedups(
        config, on_gpu=True, packages=set(), estimate_without_checkpointing=18 * GIB,
        free_memory=20 * GIB,
    )  # fmt: skip
    assert tight.gradient_checkpointing


def test_explicit_settings_win(tiny_model: Path, chat_data: ChatData) -> None:
    config = fast_config(tiny_model, chat_data, gradient_checkpointing=True, packing=False)
    plan = plan_speedups(
        config, on_gpu=True, packages=set(), estimate_without_checkpointing=GIB,
        free_memory=80 * GIB,
    )  # fmt: skip
    assert plan.gradient_checkpointing and not plan.packing
    packed_cpu = plan_speedups(config.with_changes(packing=True), on_gpu=False, packages=set())
    assert packed_cpu.packing
    assert "gradient checkpointing on (as set)" in plan.reasons


def test_the_plan_finds_trl_and_its_templates_without_importing_trl() -> None:
    """What the app does before launch (find packages, match trl's templates, check the stop
    token) loads neither trl nor torch."""
    probe = (
        "import sys\n"
        "from ftui.core.training.speedups import installed\n"
        "from ftui.core.training.trl_templates import trl_templates_dir, trl_training_template\n"
        "from ftui.core.training.chat_templates import choose_template\n"
        "assert installed(['trl', 'no_such_package_here']) == {'trl'}\n"
        "own = (trl_templates_dir() / 'llama3.jinja').read_text('utf-8')\n"
        "chosen = choose_template('auto', own_template=own, special_tokens={'<|eot_id|>'},\n"
        "                         assistant_only_loss=True)\n"
        'assert chosen.label == "trl\'s llama3_training.jinja" and chosen.stop_trained\n'
        "print(sorted(m for m in ('trl', 'torch', 'transformers') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
