"""Loading the base model and tokenizer, offline, at the precision and quantization asked for."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# bitsandbytes logs a "kernels" warning at import on CPUs with avx512_bf16; it is noise here.
logging.getLogger("bitsandbytes").setLevel(logging.ERROR)

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase  # noqa: E402

from ftui.core.training.local_config import LocalTrainConfig  # noqa: E402
from ftui.core.training.memory_estimate import resolve_precision  # noqa: E402

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class LoadError(RuntimeError):
    """The model or tokenizer cannot be loaded; the message says what to do."""


@dataclass(frozen=True)
class Placement:
    device: str  # "cuda" or "cpu"
    precision: str  # fp32 | bf16 | fp16
    local_rank: int

    @property
    def on_gpu(self) -> bool:
        return self.device == "cuda"

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.precision]


def choose_placement(config: LocalTrainConfig) -> Placement:
    """Where and in what precision to train, from the config and the hardware at hand."""
    has_cuda = torch.cuda.is_available()
    if config.device == "cuda" and not has_cuda:
        raise LoadError(
            "device is cuda but no CUDA GPU is visible to this process (torch "
            f"{torch.__version__}, CUDA_VISIBLE_DEVICES="
            f"{os.environ.get('CUDA_VISIBLE_DEVICES')!r}). Install a CUDA build of torch, or set "
            "device to auto or cpu."
        )
    on_gpu = has_cuda and config.device != "cpu"
    bf16_ok = on_gpu and torch.cuda.is_bf16_supported()
    precision = resolve_precision(config.precision, on_gpu=on_gpu, bf16_supported=bf16_ok)
    if not on_gpu and precision == "fp16":
        raise LoadError("fp16 training needs a GPU; on a CPU choose fp32 (auto) or bf16.")
    if on_gpu and precision == "bf16" and not bf16_ok:
        raise LoadError("This GPU does not support bf16; choose fp16 (or auto).")
    return Placement("cuda" if on_gpu else "cpu", precision, int(os.environ.get("LOCAL_RANK", 0)))


def quantization_config(config: LocalTrainConfig, placement: Placement) -> Any:
    """bitsandbytes settings: 4-bit NF4 with double quantization, or 8-bit; None for none."""
    if config.quantization == "none":
        return None
    from transformers import BitsAndBytesConfig

    if config.quantization == "4bit":
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=placement.dtype,
            # Stored in the compute dtype's width so FSDP / multi-GPU can shard it like the rest.
            bnb_4bit_quant_storage=placement.dtype,
        )
    return BitsAndBytesConfig(load_in_8bit=True)


def load_tokenizer(model_dir: Path) -> PreTrainedTokenizerBase:
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise LoadError(
            f"Cannot load the tokenizer of {model_dir}: {exc}. The folder needs tokenizer.json "
            "(or the model family's tokenizer files) beside config.json."
        ) from None
    if tokenizer.pad_token is None:
        # Padding with eos would mask it out of the loss; a dedicated pad is safest when present.
        tokenizer.pad_token = tokenizer.unk_token or tokenizer.eos_token
    return tokenizer


def load_model(
    model_dir: Path, config: LocalTrainConfig, placement: Placement, attention: str = "sdpa"
) -> Any:
    """The base model; `attention` is transformers' attn_implementation (the speed plan's)."""
    kwargs: dict[str, Any] = {"dtype": placement.dtype, "local_files_only": True}
    if attention != "sdpa":  # SDPA is transformers' default wherever the model supports it
        kwargs["attn_implementation"] = attention
    quant = quantization_config(config, placement)
    if quant is not None:
        kwargs["quantization_config"] = quant
        # bitsandbytes places weights as it quantizes them; each rank takes its own GPU.
        kwargs["device_map"] = {"": placement.local_rank if placement.on_gpu else "cpu"}
    try:
        model = AutoModelForCausalLM.from_pretrained(model_dir, **kwargs)
    except (OSError, ValueError) as exc:
        raise LoadError(f"Cannot load the model in {model_dir}: {exc}") from None
    model.config.use_cache = False  # the KV cache is useless in training and costs memory
    return model


def load_base_for_merge(model_dir: Path, placement: Placement) -> Any:
    """The unquantized base model on the CPU, to merge an adapter into (never 4-bit weights)."""
    dtype = placement.dtype if placement.precision != "fp16" else torch.float16
    return AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=dtype, local_files_only=True, device_map={"": "cpu"}
    )


def peak_memory_bytes(placement: Placement) -> int:
    """Peak memory of this process so far: GPU allocations on a GPU, resident set on a CPU."""
    if placement.on_gpu:
        return int(torch.cuda.max_memory_allocated())
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
