"""How much memory a LoRA / QLoRA run needs, from the model's `config.json` alone (no torch).

The estimate adds the parts that dominate in practice, per training process (each GPU holds a full
copy of the model under data parallelism):

- weights at the chosen precision; 4-bit NF4 with double quantization costs about 4.127 bits per
  weight of the linear layers (block size 64, one 8-bit scale per block, one fp32 scale per 256
  blocks), 8-bit about one byte; embeddings, norms and the output head stay in the compute dtype;
- the LoRA adapter: fp32 weights, fp32 gradients and two fp32 AdamW moments, 16 bytes a parameter;
- activations kept for the backward pass at batch x length tokens: with gradient checkpointing one
  hidden state per layer plus one layer recomputed, without it every layer's intermediates
  (attention through SDPA, so no length x length scores);
- the logits: on a GPU trl's fused LM head scores at most 4,096 tokens at a time in fp32, so one
  tile of tokens x vocabulary; on a CPU, where the model's own loss is used (see speedups.py), the
  whole batch's fp32 logits, their log-softmax and its gradient;
- a fixed allowance for the CUDA context (on a CPU: the libraries' own memory) and allocator
  slack.

It is an estimate (±20 % on the models it was checked against), meant to say "this will not fit"
before a run starts, not to replace the peak that the run itself reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GIB = 1024**3
CUDA_CONTEXT_BYTES = int(0.6 * GIB)
CPU_RUNTIME_BYTES = int(0.5 * GIB)  # torch, transformers and trl themselves, on a CPU run
ALLOCATOR_SLACK = 0.10  # fragmentation and caching-allocator headroom
NF4_BYTES_PER_WEIGHT = (4 + 8 / 64 + 32 / (64 * 256)) / 8
INT8_BYTES_PER_WEIGHT = 1 + 4 / 4096  # one fp32 scale per row of a few thousand weights
ADAPTER_BYTES_PER_PARAM = 4 + 4 + 8  # fp32 weight, fp32 gradient, AdamW's two fp32 moments

FUSED_HEAD_TILE_TOKENS = 4096  # trl's fused LM head projects this many tokens at a time
_DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}


@dataclass(frozen=True)
class ModelShape:
    """The dimensions of a decoder-only transformer, read from its config.json."""

    hidden: int
    layers: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    tied_embeddings: bool
    experts: int = 1  # mixture-of-experts models hold this many MLPs per layer

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ModelShape:
        """Reads the usual names (Llama, Qwen, Mistral, Gemma, Phi-3, GPT-2 style, MoE).

        Raises ValueError naming the missing key when the config lacks a dimension.
        """
        text = config.get("text_config")
        section = {**config, **text} if isinstance(text, dict) else config

        def first(*keys: str, default: Any = None) -> Any:
            for key in keys:
                value = section.get(key)
                if value is not None:
                    return value
            if default is None:
                raise ValueError(f"the model config has no {' / '.join(keys)}")
            return default

        hidden = int(first("hidden_size", "n_embd", "d_model"))
        heads = int(first("num_attention_heads", "n_head"))
        return cls(
            hidden=hidden,
            layers=int(first("num_hidden_layers", "n_layer", "num_layers")),
            intermediate=int(first("intermediate_size", "n_inner", "ffn_dim", default=4 * hidden)),
            heads=heads,
            kv_heads=int(first("num_key_value_heads", default=heads)),
            head_dim=int(first("head_dim", default=hidden // heads)),
            vocab=int(first("vocab_size")),
            tied_embeddings=bool(section.get("tie_word_embeddings", False)),
            experts=int(first("num_local_experts", "num_experts", default=1)),
        )

    def linear_modules(self) -> dict[str, tuple[int, int]]:
        """(in, out) features of each linear layer of one block, by its usual module name."""
        attention_width = self.heads * self.head_dim
        kv_width = self.kv_heads * self.head_dim
        return {
            "q_proj": (self.hidden, attention_width),
            "k_proj": (self.hidden, kv_width),
            "v_proj": (self.hidden, kv_width),
            "o_proj": (attention_width, self.hidden),
            "gate_proj": (self.hidden, self.intermediate),
            "up_proj": (self.hidden, self.intermediate),
            "down_proj": (self.intermediate, self.hidden),
        }

    def _module_count(self, name: str) -> int:
        return self.experts if name in ("gate_proj", "up_proj", "down_proj") else 1

    @property
    def linear_params(self) -> int:
        per_layer = sum(
            i * o * self._module_count(name) for name, (i, o) in self.linear_modules().items()
        )
        return per_layer * self.layers

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2)

    @property
    def other_params(self) -> int:
        return self.layers * 2 * self.hidden + self.hidden  # norms

    @property
    def total_params(self) -> int:
        return self.linear_params + self.embedding_params + self.other_params

    def lora_params(self, r: int, target_modules: str | list[str]) -> int:
        modules = self.linear_modules()
        # Names this table does not know (e.g. c_attn) are counted as a hidden x hidden layer.
        chosen = list(modules) if isinstance(target_modules, str) else list(target_modules)
        total = 0
        for name in chosen:
            fan_in, fan_out = modules.get(name, (self.hidden, self.hidden))
            total += r * (fan_in + fan_out) * self._module_count(name)
        return total * self.layers


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per training process, by part."""

    weights: int
    adapter: int
    activations: int
    logits: int
    overhead: int
    params: int
    trainable_params: int

    @property
    def total(self) -> int:
        return self.weights + self.adapter + self.activations + self.logits + self.overhead

    def breakdown(self) -> str:
        parts = (
            ("weights", self.weights),
            ("LoRA + optimizer", self.adapter),
            ("activations", self.activations),
            ("logits", self.logits),
            ("overhead", self.overhead),
        )
        return ", ".join(f"{name} {format_bytes(value)}" for name, value in parts)


def format_bytes(value: float) -> str:
    if value >= GIB:
        return f"{value / GIB:.1f} GiB"
    return f"{value / 1024**2:.0f} MiB"


def estimate_memory(
    shape: ModelShape,
    *,
    quantization: str,
    precision: str,
    lora_r: int,
    target_modules: str | list[str],
    batch_size: int,
    max_length: int,
    gradient_checkpointing: bool,
    on_gpu: bool = True,
    fused_lm_head: bool | None = None,
) -> MemoryEstimate:
    """The memory one training process needs; `precision` is resolved (fp32, bf16 or fp16).

    `fused_lm_head` defaults to what a run uses: trl's fused head on a GPU, the model's own loss
    on a CPU."""
    fused = on_gpu if fused_lm_head is None else fused_lm_head
    dtype_bytes = _DTYPE_BYTES[precision]
    unquantized = shape.embedding_params + shape.other_params
    if quantization == "4bit":
        weights = shape.linear_params * NF4_BYTES_PER_WEIGHT + unquantized * dtype_bytes
    elif quantization == "8bit":
        weights = shape.linear_params * INT8_BYTES_PER_WEIGHT + unquantized * dtype_bytes
    else:
        weights = shape.total_params * dtype_bytes
    trainable = shape.lora_params(lora_r, target_modules)
    adapter = trainable * ADAPTER_BYTES_PER_PARAM

    tokens = batch_size * max_length
    # Values kept per token by one block: norms, q/k/v, attention output, the MLP's gate, up and
    # product, and the inputs LoRA's dropout copies. Counted in the compute dtype.
    per_layer = 14 * shape.hidden + 5 * shape.intermediate * min(shape.experts, 2)
    if gradient_checkpointing:
        kept = shape.layers * shape.hidden + per_layer
    else:
        kept = shape.layers * per_layer
    activations = tokens * kept * dtype_bytes
    if fused:  # one fp32 tile of the fused LM head and its gradient
        logits = min(tokens, FUSED_HEAD_TILE_TOKENS) * shape.vocab * (4 + 4)
    else:  # fp32 logits, their log-softmax and its gradient, for the whole batch
        logits = tokens * shape.vocab * (4 + 4 + 4)

    subtotal = weights + adapter + activations + logits
    overhead = subtotal * ALLOCATOR_SLACK + (CUDA_CONTEXT_BYTES if on_gpu else CPU_RUNTIME_BYTES)
    return MemoryEstimate(
        weights=int(weights),
        adapter=int(adapter),
        activations=int(activations),
        logits=int(logits),
        overhead=int(overhead),
        params=shape.total_params,
        trainable_params=trainable,
    )


def resolve_precision(precision: str, *, on_gpu: bool, bf16_supported: bool = True) -> str:
    """`auto` becomes bf16 on a GPU that has it, fp16 on an older one, fp32 on a CPU."""
    if precision != "auto":
        return precision
    if not on_gpu:
        return "fp32"
    return "bf16" if bf16_supported else "fp16"


def quantization_cost_note(quantization: str, *, on_gpu: bool) -> str:
    """What a quantization choice costs on this machine, in a sentence for the launch form."""
    if quantization == "none":
        if on_gpu:
            return "No quantization: fastest steps, weights in 16-bit."
        return "No quantization: on a CPU the weights stay in fp32 and steps run at full speed."
    bits = "4-bit NF4" if quantization == "4bit" else "8-bit"
    if on_gpu:
        if quantization == "4bit":
            return (
                f"{bits} (QLoRA): weights take about a quarter of their 16-bit size; steps are "
                "roughly 20-40% slower than 16-bit LoRA because every layer is dequantized."
            )
        return (
            f"{bits}: weights take half their 16-bit size; int8 steps are often slower than "
            "4-bit ones, so prefer 4bit unless quality demands 8-bit."
        )
    return (
        f"{bits} on a CPU: bitsandbytes quantizes at load time and dequantizes every layer on "
        "every step with slow CPU kernels, so a model of real size trains slower than "
        "unquantized; it saves RAM for the weights only. Use it on a CPU to rehearse a GPU run, "
        "not to train."
    )
