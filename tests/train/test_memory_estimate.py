"""The memory estimate reads real published configs and adds up to known sizes."""

from __future__ import annotations

import pytest

from ftui.core.training.memory_estimate import (
    GIB,
    ModelShape,
    estimate_memory,
    quantization_cost_note,
    resolve_precision,
)

# The dimensions of Qwen/Qwen2.5-0.5B-Instruct and meta-llama/Meta-Llama-3-8B, from their
# published config.json files (other keys left out).
QWEN_0_5B = {
    "model_type": "qwen2",
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "vocab_size": 151936,
    "tie_word_embeddings": True,
}
LLAMA_3_8B = {
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "tie_word_embeddings": False,
}


def estimate(config: dict[str, object], **settings: object) -> int:
    values: dict[str, object] = {
        "quantization": "none",
        "precision": "bf16",
        "lora_r": 16,
        "target_modules": "all-linear",
        "batch_size": 4,
        "max_length": 1024,
        "gradient_checkpointing": True,
    }
    values.update(settings)
    return estimate_memory(ModelShape.from_config(config), **values).total  # type: ignore[arg-type]


def test_parameter_counts_match_the_published_models() -> None:
    # Qwen2.5-0.5B has 494,032,768 parameters (27,648 of them attention biases, not counted).
    assert ModelShape.from_config(QWEN_0_5B).total_params == pytest.approx(494_032_768, rel=1e-3)
    assert ModelShape.from_config(LLAMA_3_8B).total_params == 8_030_261_248


def test_lora_parameters_match_peft_for_all_linear_r16() -> None:
    # peft reports 41,943,040 trainable parameters for Llama-3-8B, r=16, all linear layers.
    assert ModelShape.from_config(LLAMA_3_8B).lora_params(16, "all-linear") == 41_943_040
    assert ModelShape.from_config(LLAMA_3_8B).lora_params(16, ["q_proj", "v_proj"]) == 6_815_744


def test_quantization_and_precision_order_the_weights() -> None:
    shape = ModelShape.from_config(LLAMA_3_8B)

    def weights(quantization: str, precision: str) -> int:
        return estimate_memory(
            shape,
            quantization=quantization,
            precision=precision,
            lora_r=16,
            target_modules="all-linear",
            batch_size=1,
            max_length=512,
            gradient_checkpointing=True,
        ).weights

    assert weights("4bit", "bf16") < weights("8bit", "bf16") < weights("none", "bf16")
    assert weights("none", "fp32") == 2 * weights("none", "bf16")
    # QLoRA's headline: an 8B model's weights in about 5-6 GiB (embeddings stay 16-bit).
    assert 5 * GIB < weights("4bit", "bf16") < 6 * GIB
    assert 14.5 * GIB < weights("none", "bf16") < 15.5 * GIB


def test_activations_grow_with_batch_and_length_and_shrink_with_checkpointing() -> None:
    base = estimate(QWEN_0_5B)
    assert estimate(QWEN_0_5B, batch_size=8) > base
    assert estimate(QWEN_0_5B, max_length=4096) > base
    assert estimate(QWEN_0_5B, gradient_checkpointing=False) > base


def test_a_qlora_8b_run_fits_a_24_gib_gpu_and_a_16_bit_one_does_not() -> None:
    assert estimate(LLAMA_3_8B, quantization="4bit", batch_size=2) < 16 * GIB
    assert estimate(LLAMA_3_8B, quantization="none", batch_size=2) > 16 * GIB


def test_missing_dimensions_are_named() -> None:
    with pytest.raises(ValueError, match="hidden_size"):
        ModelShape.from_config({"vocab_size": 10})


def test_precision_and_cost_notes_follow_the_device() -> None:
    assert resolve_precision("auto", on_gpu=False) == "fp32"
    assert resolve_precision("auto", on_gpu=True, bf16_supported=False) == "fp16"
    assert resolve_precision("auto", on_gpu=True) == "bf16"
    assert "slow CPU kernels" in quantization_cost_note("4bit", on_gpu=False)
    assert "8-bit on a CPU" in quantization_cost_note("8bit", on_gpu=False)
    assert "quarter" in quantization_cost_note("4bit", on_gpu=True)
