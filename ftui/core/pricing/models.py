"""What ftui knows about the models it can fine-tune: context limits, encodings, prices.

OpenAI's fine-tunable models, as published on
  https://platform.openai.com/docs/guides/fine-tuning (token limits per training example) and
  https://openai.com/api/pricing/ (fine-tuning: training price per 1M tokens),
read on 2025-06-01 (`PRICES_AS_OF`). Prices change; the estimate says which date it uses.
Reinforcement fine-tuning (o4-mini) is billed per hour of training, not per token, so it has no
per-token price here.

A local model states its own limit in its `config.json` (`max_position_embeddings` and friends);
`local_model_limit` reads it without importing transformers.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

PRICES_AS_OF = "2025-06-01"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini-2024-07-18"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    training_context: int  # max tokens of one training example
    encoding: str  # tiktoken encoding
    training_usd_per_1m: float | None  # None: not billed per token


OPENAI_MODELS: tuple[ModelInfo, ...] = (
    ModelInfo("gpt-4.1-2025-04-14", 65_536, "o200k_base", 25.00),
    ModelInfo("gpt-4.1-mini-2025-04-14", 65_536, "o200k_base", 5.00),
    ModelInfo("gpt-4.1-nano-2025-04-14", 65_536, "o200k_base", 1.50),
    ModelInfo("gpt-4o-2024-08-06", 65_536, "o200k_base", 25.00),
    ModelInfo("gpt-4o-mini-2024-07-18", 65_536, "o200k_base", 3.00),
    ModelInfo("o4-mini-2025-04-16", 65_536, "o200k_base", None),
    ModelInfo("gpt-3.5-turbo-0125", 16_385, "cl100k_base", 8.00),
    ModelInfo("gpt-3.5-turbo-1106", 16_385, "cl100k_base", 8.00),
    ModelInfo("gpt-3.5-turbo-0613", 4_096, "cl100k_base", 8.00),
    ModelInfo("davinci-002", 16_384, "cl100k_base", 6.00),
    ModelInfo("babbage-002", 16_384, "cl100k_base", 0.40),
)

# Undated names resolve to the snapshot OpenAI fine-tunes under that alias.
ALIASES = {
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "o4-mini": "o4-mini-2025-04-16",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
}

_BY_NAME = {info.name: info for info in OPENAI_MODELS}

# Keys a transformers config.json uses for the context length, most specific first.
_CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length")


def openai_model_info(model: str) -> ModelInfo | None:
    """The table row for an OpenAI model name, alias, or `ft:` model built on one; else None."""
    name = model.split(":", 2)[1] if model.startswith("ft:") else model
    name = ALIASES.get(name, name)
    return _BY_NAME.get(name)


def fine_tunable_models() -> list[str]:
    return [info.name for info in OPENAI_MODELS]


def is_local_model(model: str) -> bool:
    """A model given as a path to a local directory (as opposed to an OpenAI model name)."""
    return Path(model).expanduser().is_dir()


class LocalModelError(Exception):
    pass


def local_model_limit(model_dir: str | os.PathLike[str]) -> int | None:
    """The context length a local model's `config.json` declares (None if it declares none)."""
    path = Path(model_dir).expanduser()
    config_path = path / "config.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LocalModelError(f"{path} is not a model directory: it has no config.json") from exc
    except (OSError, ValueError) as exc:
        raise LocalModelError(f"cannot read {config_path}: {exc}") from exc
    # Multimodal configs nest the language model's settings.
    for section in (config, config.get("text_config") or {}):
        if not isinstance(section, dict):
            continue
        for key in _CONTEXT_KEYS:
            value = section.get(key)
            if isinstance(value, int) and value > 0:
                return value
    return None
