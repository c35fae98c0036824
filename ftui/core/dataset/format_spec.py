"""The names of the dataset formats and kinds, their keys, and the canonical preference fields.

The canonical form of an example is an OpenAI chat fine-tuning example (`messages`, `tools`,
other keys kept as they were). Preference data adds to it:

- DPO (a preferred and a non-preferred answer to one prompt): `messages` holds the prompt and the
  preferred answer (the trailing assistant messages), `non_preferred_output` the other answer as
  a list of assistant messages — OpenAI's own name for it;
- KTO (one answer labelled desirable or not): `messages` as usual and a boolean `label`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ftui.core.findings import Severity


class DatasetFormat(StrEnum):
    OPENAI = "openai"
    ALPACA = "alpaca"
    SHAREGPT = "sharegpt"
    DPO = "dpo"  # OpenAI's preference JSONL: input / preferred_output / non_preferred_output


class DataKind(StrEnum):
    """What an example trains: plain SFT, a DPO pair, or a KTO-labelled answer."""

    SFT = "sft"
    DPO = "dpo"
    KTO = "kto"


FORMAT_DESCRIPTIONS = {
    DatasetFormat.OPENAI: "OpenAI chat (messages)",
    DatasetFormat.ALPACA: "Alpaca (instruction / input / output)",
    DatasetFormat.SHAREGPT: "ShareGPT (conversations)",
    DatasetFormat.DPO: "OpenAI DPO (input / preferred_output / non_preferred_output)",
}

OPENAI_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
OPENAI_MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call", "refusal"}
)
OPENAI_EXAMPLE_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})
DPO_EXAMPLE_KEYS = frozenset({"input", "preferred_output", "non_preferred_output"})
ALPACA_KEYS = frozenset({"instruction", "input", "output", "system", "history"})
# LLaMA-Factory's ranking columns (Alpaca and ShareGPT alike).
PAIR_KEYS = frozenset({"chosen", "rejected"})

REJECTED_KEY = "non_preferred_output"
LABEL_KEY = "label"

SHAREGPT_ROLE_MAP = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
    "model": "assistant",
    "bot": "assistant",
    "system": "system",
    "function_call": "function_call",
    "observation": "tool",
    "tool": "tool",
    "function": "tool",
}


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem met while interpreting one record (the validator turns it into a Finding)."""

    code: str
    message: str
    message_index: int | None = None
    severity: Severity = Severity.ERROR


def example_kind(chat: dict[str, Any]) -> DataKind:
    """The kind of a canonical example: a DPO pair, a KTO-labelled answer, or plain SFT."""
    if REJECTED_KEY in chat:
        return DataKind.DPO
    if type(chat.get(LABEL_KEY)) is bool:
        return DataKind.KTO
    return DataKind.SFT


def split_preferred(messages: list[Any]) -> tuple[list[Any], list[Any]]:
    """(prompt, preferred answer) of a DPO pair's messages: the answer is the trailing assistant
    messages."""
    cut = len(messages)
    while cut > 0 and isinstance(messages[cut - 1], dict):
        if messages[cut - 1].get("role") != "assistant":
            break
        cut -= 1
    return messages[:cut], messages[cut:]
