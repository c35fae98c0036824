"""Which of the ecosystem's speed-ups a local run uses on this machine, and why (no torch).

Nothing here is hand-written machinery: each choice switches on something trl, transformers,
bitsandbytes or Liger already ship. The app's plan and the training process call `plan_speedups`
with what each can see (GPU or not, the packages installed, the memory estimate and the free
memory), so the plan says what will run.

- trl's fused LM head scores the tokens in tiles without building the logits; on a GPU it is a
  Triton kernel. On a CPU it falls back to plain PyTorch and computes entropy and token accuracy on
  every step as well, which made a run 1.6x slower than the model's own loss on the tiny model
  (same loss value), so a CPU run computes the model's own cross-entropy and logs no entropy or
  token accuracy.
- Packing is trl's best-fit packing, padding-free: the examples of a batch are laid end to end
  with position ids that restart at each example, and attention (SDPA or FlashAttention's varlen
  kernel) keeps each example to itself, so nothing is spent on padding and no example sees
  another. On by default on a GPU. Off by default on a CPU: there SDPA attends over the one long
  packed row with a block mask, and on the tiny model a packed run did 0.81x the baseline's tokens
  per CPU-second where dynamic padding (with the model's own loss) did 1.09x.
- Without packing, batches are grouped by length (transformers' `LengthGroupedSampler`: shuffled
  groups of up to 50 batches, sorted within each group), so each batch pads to a length close to its
  examples' own. On the tiny model it took a dynamically padded CPU run from 1.14x the baseline's
  tokens/s to 1.69x, the loss falling as far.
- FlashAttention 2 when `flash_attn` is installed on a GPU, else PyTorch's SDPA.
- Liger's kernels (RMSNorm, RoPE, SwiGLU) when `liger-kernel` is installed on a GPU; trl keeps its
  own fused head in place of Liger's fused cross-entropy.
- A fused AdamW (one kernel per step for all the adapter's tensors); with 4-bit QLoRA on a GPU,
  bitsandbytes' paged AdamW, which pages optimizer state to host memory under pressure.
- Gradient checkpointing only when the memory estimate without it does not fit the free memory
  (it costs about a third more compute); a CPU run never needs it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Collection
from dataclasses import dataclass

from ftui.core.training.local_config import LocalTrainConfig
from ftui.core.training.memory_estimate import MemoryEstimate, ModelShape, estimate_memory

# Optional packages that change the plan, found without importing them.
OPTIONAL_PACKAGES = ("flash_attn", "liger_kernel", "bitsandbytes")
FUSED_ADAMW = "adamw_torch_fused"
PAGED_ADAMW = "paged_adamw_32bit"
CHECKPOINTING_HEADROOM = 0.85  # share of the free memory a run may plan to use without it


def installed(names: Collection[str] = OPTIONAL_PACKAGES) -> frozenset[str]:
    """Which of these packages are installed (importlib finds them without running them)."""
    found = set()
    for name in names:
        try:
            if importlib.util.find_spec(name) is not None:
                found.add(name)
        except (ImportError, ValueError):
            continue
    return frozenset(found)


@dataclass(frozen=True)
class SpeedPlan:
    """The speed-ups a run uses, and a reason for each, for the plan and the run's log."""

    fused_lm_head: bool
    packing: bool
    attention: str  # transformers' attn_implementation: "flash_attention_2" or "sdpa"
    liger: bool
    optimizer: str
    gradient_checkpointing: bool
    reasons: tuple[str, ...]

    @property
    def length_grouping(self) -> bool:
        """Batches of examples of similar length: what an unpacked run does against padding."""
        return not self.packing

    def summary(self) -> str:
        parts = [
            "fused LM head" if self.fused_lm_head else "model's own loss",
            "padding-free packing" if self.packing else "length-grouped batches",
            "FlashAttention 2" if self.attention == "flash_attention_2" else "SDPA attention",
            self.optimizer,
        ]
        if self.liger:
            parts.append("Liger kernels")
        if self.gradient_checkpointing:
            parts.append("gradient checkpointing")
        return ", ".join(parts)

    def sft_arguments(self) -> dict[str, object]:
        """The SFTConfig settings these choices come down to."""
        args: dict[str, object] = {
            "packing": self.packing,
            "optim": self.optimizer,
            "gradient_checkpointing": self.gradient_checkpointing,
        }
        if self.length_grouping:
            args["train_sampling_strategy"] = "group_by_length"
        if self.liger:
            args["use_liger_kernel"] = True
        return args


def plan_speedups(
    config: LocalTrainConfig,
    *,
    on_gpu: bool,
    packages: Collection[str],
    estimate_without_checkpointing: int | None = None,
    free_memory: int | None = None,
) -> SpeedPlan:
    """Resolve the speed-ups for this run on this machine; explicit settings win over auto."""
    reasons: list[str] = []
    if on_gpu:
        reasons.append("fused LM head: trl's Triton kernel scores tokens without full logits")
    else:
        reasons.append(
            "model's own loss: trl's fused LM head is a slower PyTorch fallback on a CPU "
            "(no entropy or token accuracy logged)"
        )

    packing = config.packing if config.packing is not None else on_gpu
    if packing:
        reasons.append(
            "padding-free packing: examples end to end with position ids, none attends to another"
        )
    else:
        reasons.append(
            "length-grouped batches, each padded to its longest example"
            + (
                " (padding-free packing is slower on a CPU)"
                if config.packing is None
                else " (packing off, as set)"
            )
        )

    attention = "sdpa"
    if on_gpu and "flash_attn" in packages:
        attention = "flash_attention_2"
        reasons.append("FlashAttention 2 (varlen kernel for packed examples): flash_attn found")
    else:
        reasons.append(
            "SDPA attention"
            + ("; install flash-attn for its varlen kernel" if on_gpu and packing else "")
        )

    liger = on_gpu and "liger_kernel" in packages
    if liger:
        reasons.append("Liger kernels (RMSNorm, RoPE, SwiGLU): liger-kernel found")
    elif on_gpu:
        reasons.append("no Liger kernels: install liger-kernel to fuse norms and activations")

    if on_gpu and config.quantization == "4bit" and "bitsandbytes" in packages:
        optimizer = PAGED_ADAMW
        reasons.append("paged AdamW (bitsandbytes): optimizer state pages out under pressure")
    else:
        optimizer = FUSED_ADAMW
        reasons.append("fused AdamW: one kernel per step for every adapter tensor")

    checkpointing = _checkpointing(config, on_gpu, estimate_without_checkpointing, free_memory)
    reasons.append(checkpointing[1])
    return SpeedPlan(
        fused_lm_head=on_gpu,
        packing=packing,
        attention=attention,
        liger=liger,
        optimizer=optimizer,
        gradient_checkpointing=checkpointing[0],
        reasons=tuple(reasons),
    )


def _checkpointing(
    config: LocalTrainConfig, on_gpu: bool, needed: int | None, free: int | None
) -> tuple[bool, str]:
    if config.gradient_checkpointing is not None:
        state = "on" if config.gradient_checkpointing else "off"
        return config.gradient_checkpointing, f"gradient checkpointing {state} (as set)"
    if not on_gpu:
        return False, "no gradient checkpointing: a CPU run has the RAM, it would only cost time"
    if needed is None or free is None:
        return True, "gradient checkpointing on: no memory estimate to show it is not needed"
    if needed > CHECKPOINTING_HEADROOM * free:
        return True, (
            f"gradient checkpointing on: the run needs ~{needed / 1024**3:.1f} GiB without it, "
            f"more than {CHECKPOINTING_HEADROOM:.0%} of the {free / 1024**3:.1f} GiB free"
        )
    return False, (
        f"no gradient checkpointing: ~{needed / 1024**3:.1f} GiB without it fits the "
        f"{free / 1024**3:.1f} GiB free"
    )


def plan_run(
    config: LocalTrainConfig,
    shape: ModelShape | None,
    *,
    on_gpu: bool,
    precision: str,
    packages: Collection[str],
    free_memory: int | None,
) -> tuple[SpeedPlan, MemoryEstimate | None]:
    """The speed-ups and the memory estimate of a run, the one deciding the other: gradient
    checkpointing goes on only when the estimate without it does not fit `free_memory`."""

    def estimate(checkpointing: bool) -> MemoryEstimate | None:
        if shape is None:
            return None
        return estimate_memory(
            shape,
            quantization=config.quantization,
            precision=precision,
            lora_r=config.lora_r,
            target_modules=config.target_modules,
            batch_size=config.batch_size,
            max_length=config.max_length,
            gradient_checkpointing=checkpointing,
            on_gpu=on_gpu,
        )

    without = estimate(False)
    plan = plan_speedups(
        config,
        on_gpu=on_gpu,
        packages=packages,
        estimate_without_checkpointing=without.total if without else None,
        free_memory=free_memory,
    )
    return plan, (estimate(True) if plan.gradient_checkpointing else without)
