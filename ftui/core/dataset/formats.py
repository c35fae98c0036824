"""The dataset formats ftui reads and writes, and conversion through one canonical form.

The canonical form of an example is an OpenAI chat fine-tuning example:
`{"messages": [{"role", "content", ...}], "tools": [...]?, ...other keys kept as they were}`;
preference data adds `non_preferred_output` (DPO) or keeps its boolean `label` (KTO), see
`format_spec`.

- OpenAI chat (JSONL): `messages` with `name`, `weight`, `tool_calls`, `tool` replies, `tools`,
  legacy `function_call`. LLaMA-Factory v1 files (content as a list of typed parts
  `{"type": "text", "value": ...}`, per-message `loss_weight`) are read as OpenAI chat: their text
  parts become plain content, `loss_weight` becomes OpenAI's `weight` (0/1) on assistant messages.
- OpenAI DPO (JSONL): `input` {`messages`, `tools`}, `preferred_output`, `non_preferred_output`.
- Alpaca: `instruction`, `input` (joined with one newline, as LLaMA-Factory does), `output`,
  optional `system`, `history` ([[user, assistant], ...]); `chosen`/`rejected` instead of
  `output` for preference pairs, a boolean `label` for KTO.
- ShareGPT: `conversations` of `{"from", "value"}` turns (human/gpt/system/function_call/
  observation), optional `system` and `tools` (a JSON string); also LLaMA-Factory's variants with
  `role`/`content` tags and with the list under `messages` (so a `.json` array of `messages`
  examples is ShareGPT, while a `.jsonl` one is OpenAI chat), `chosen`/`rejected` preference
  pairs and KTO's `label`.

Converting preference data to plain SFT (`openai`) keeps only what SFT should learn: the
preferred answer of a pair, and only the examples labelled desirable (`convert_example` says
which examples it left out and why).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ftui.core.dataset.format_spec import (
    FORMAT_DESCRIPTIONS,
    LABEL_KEY,
    OPENAI_EXAMPLE_KEYS,
    OPENAI_MESSAGE_KEYS,
    OPENAI_ROLES,
    REJECTED_KEY,
    DataKind,
    DatasetFormat,
    Issue,
    example_kind,
)
from ftui.core.dataset.from_canonical import (
    chat_to_alpaca,
    chat_to_dpo,
    chat_to_openai,
    chat_to_sharegpt,
)
from ftui.core.dataset.reader import DatasetError, detect_layout, iter_records, json_type_name
from ftui.core.dataset.to_canonical import (
    alpaca_to_chat,
    dpo_to_chat,
    openai_to_chat,
    sharegpt_to_chat,
)

__all__ = [
    "FORMAT_DESCRIPTIONS",
    "LABEL_KEY",
    "OPENAI_EXAMPLE_KEYS",
    "OPENAI_MESSAGE_KEYS",
    "OPENAI_ROLES",
    "REJECTED_KEY",
    "Conversion",
    "DataKind",
    "DatasetError",
    "DatasetFormat",
    "Issue",
    "convert_example",
    "convert_record",
    "detect_format",
    "detect_format_of",
    "example_kind",
    "example_messages",
    "from_chat",
    "to_chat",
]

LEFT_OUT_UNDESIRABLE = (
    "left out an example labelled undesirable (KTO label: false): SFT would teach the model "
    "the answer it should avoid"
)
JOINED_ALPACA_INPUT = (
    "joined 'instruction' and 'input' into one prompt with a newline, as LLaMA-Factory trains "
    "on it; converting back puts the whole prompt in 'instruction'"
)


# --------------------------------------------------------------------------- detection


def sniff_record(value: Any, layout: str | None = None) -> DatasetFormat | None:
    """The format one record looks like (None: can't tell)."""
    if not isinstance(value, dict):
        return None
    messages = value.get("messages")
    if isinstance(messages, list):
        first = next((m for m in messages if isinstance(m, dict)), None)
        if first is not None and ("from" in first or "value" in first):
            return DatasetFormat.SHAREGPT
        # LLaMA-Factory keeps ShareGPT-with-role-tags in .json arrays; OpenAI data is JSONL.
        if layout in ("json_array", "json_values"):
            return DatasetFormat.SHAREGPT
        return DatasetFormat.OPENAI
    if isinstance(value.get("conversations"), list):
        return DatasetFormat.SHAREGPT
    if "preferred_output" in value or isinstance(value.get("input"), dict):
        return DatasetFormat.DPO
    if "instruction" in value or "output" in value:
        return DatasetFormat.ALPACA
    if "messages" in value:
        return DatasetFormat.OPENAI
    return None


def detect_format_of(values: Iterable[Any], *, layout: str | None = None) -> DatasetFormat | None:
    """The format most of `values` look like (ties: OpenAI, then ShareGPT, then Alpaca)."""
    votes: Counter[DatasetFormat] = Counter()
    for value in values:
        fmt = sniff_record(value, layout)
        if fmt is not None:
            votes[fmt] += 1
    if not votes:
        return None
    order = list(DatasetFormat)
    return max(votes, key=lambda f: (votes[f], -order.index(f)))


def detect_format(path: str | os.PathLike[str], sample_records: int = 50) -> DatasetFormat:
    """Sniff the first records of a file. Raises DatasetError when it can't be read or told."""
    layout, _ = detect_layout(path)
    values: list[Any] = []
    keys: Counter[str] = Counter()
    for record in iter_records(path):
        if isinstance(record.value, dict):
            values.append(record.value)
            keys.update(str(k) for k in record.value)
        if record.index + 1 >= sample_records:
            break
    fmt = detect_format_of(values, layout=layout)
    if fmt is not None:
        return fmt
    if layout == "jsonl":
        # JSONL is what OpenAI takes: validate it as such, so each line says what it lacks.
        return DatasetFormat.OPENAI
    found = ", ".join(k for k, _ in keys.most_common(8)) or "no JSON objects"
    raise DatasetError(
        f"{path}: can't tell the dataset format (found {found}); expected OpenAI chat "
        "('messages'), ShareGPT ('conversations'), Alpaca ('instruction'/'output') or OpenAI "
        "DPO ('input'/'preferred_output'); pass --format to say which"
    )


# --------------------------------------------------------------------------- to the canonical form


def to_chat(value: Any, fmt: DatasetFormat | str) -> tuple[dict[str, Any] | None, list[str]]:
    """The canonical chat form of one record, and human-readable problems met on the way.

    Returns (None, problems) when the record can't be interpreted at all.
    """
    chat, issues = to_chat_issues(value, DatasetFormat(fmt))
    return chat, [issue.message for issue in issues]


def to_chat_issues(value: Any, fmt: DatasetFormat) -> tuple[dict[str, Any] | None, list[Issue]]:
    if not isinstance(value, dict):
        kind = json_type_name(value)
        return None, [Issue("data_type", f"expected a JSON object (one example), got {kind}")]
    if fmt is DatasetFormat.ALPACA:
        return alpaca_to_chat(value)
    if fmt is DatasetFormat.SHAREGPT:
        return sharegpt_to_chat(value)
    if fmt is DatasetFormat.DPO:
        return dpo_to_chat(value)
    return openai_to_chat(value)


def example_messages(value: Any, fmt: DatasetFormat | str | None) -> list[dict[str, Any]]:
    """The chat messages of a record, best effort and never raising (for display)."""
    try:
        chosen = DatasetFormat(fmt) if fmt else sniff_record(value) or DatasetFormat.OPENAI
        chat, _ = to_chat_issues(value, chosen)
    except Exception:
        return []
    if chat is None:
        return []
    return [m for m in chat.get("messages", []) if isinstance(m, dict)]


# ------------------------------------------------------------------------ from the canonical form


def from_chat(chat: dict[str, Any], fmt: DatasetFormat | str) -> tuple[dict[str, Any], list[str]]:
    """A record in `fmt` holding `chat`, and what the target format could not hold."""
    target = DatasetFormat(fmt)
    if target is DatasetFormat.ALPACA:
        return chat_to_alpaca(chat)
    if target is DatasetFormat.SHAREGPT:
        return chat_to_sharegpt(chat)
    if target is DatasetFormat.DPO:
        return chat_to_dpo(chat)
    return chat_to_openai(chat)


@dataclass
class Conversion:
    """One record converted: the record (None: not convertible or left out), notes on what the
    target could not hold, and why the record was left out on purpose (None: it wasn't)."""

    record: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    left_out: str | None = None


def convert_example(
    value: Any, source: DatasetFormat | str, target: DatasetFormat | str
) -> Conversion:
    """One record from `source` to `target` format (see `convert_record`), and whether it was
    left out on purpose: plain SFT keeps no example labelled undesirable (KTO `label: false`)."""
    source, target = DatasetFormat(source), DatasetFormat(target)
    same = source is target and target in (DatasetFormat.ALPACA, DatasetFormat.SHAREGPT)
    if same and isinstance(value, dict):
        return Conversion(value)
    chat, issues = to_chat_issues(value, source)
    problems = [issue.message for issue in issues]
    if chat is None:
        return Conversion(None, problems)
    kind = example_kind(chat)
    if target is DatasetFormat.OPENAI and kind is DataKind.KTO and chat[LABEL_KEY] is False:
        return Conversion(None, problems, left_out=LEFT_OUT_UNDESIRABLE)
    if target is DatasetFormat.DPO and kind is not DataKind.DPO:
        what = "a KTO example is unpaired" if kind is DataKind.KTO else "a plain example"
        need = "OpenAI's DPO format needs a preferred and a non-preferred answer to one prompt"
        return Conversion(None, [*problems, f"{what}: {need}"])
    record, notes = from_chat(chat, target)
    if source is DatasetFormat.ALPACA and target is not DatasetFormat.ALPACA and _has_input(value):
        notes.append(JOINED_ALPACA_INPUT)  # the target has one user turn: the split is not kept
    return Conversion(record, problems + notes)


def _has_input(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    instruction, extra = value.get("instruction"), value.get("input")
    return isinstance(instruction, str) and isinstance(extra, str) and bool(instruction and extra)


def convert_record(
    value: Any, source: DatasetFormat | str, target: DatasetFormat | str
) -> tuple[dict[str, Any] | None, list[str]]:
    """One record from `source` to `target` format: (record or None, notes on what was lost).

    Same-format conversion keeps Alpaca and ShareGPT records as they are; OpenAI records are
    normalised (LLaMA-Factory parts and loss weights become OpenAI's). A record left out on
    purpose (see `convert_example`) comes back as None with the reason.
    """
    conversion = convert_example(value, source, target)
    if conversion.left_out is not None:
        return None, [*conversion.notes, conversion.left_out]
    return conversion.record, conversion.notes
