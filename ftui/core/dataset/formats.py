"""The dataset formats ftui reads and writes, and conversion through one canonical form.

The canonical form of an example is an OpenAI chat fine-tuning example:
`{"messages": [{"role", "content", ...}], "tools": [...]?, ...other keys kept as they were}`.

- OpenAI chat (JSONL): `messages` with `name`, `weight`, `tool_calls`, `tool` replies, `tools`,
  legacy `function_call`. LLaMA-Factory v1 files (content as a list of typed parts
  `{"type": "text", "value": ...}`, per-message `loss_weight`) are read as OpenAI chat: their text
  parts become plain content, `loss_weight` becomes OpenAI's `weight` (0/1) on assistant messages.
- Alpaca: `instruction`, `input`, `output`, optional `system`, `history` ([[user, assistant], ...]).
- ShareGPT: `conversations` of `{"from", "value"}` turns (human/gpt/system/function_call/
  observation), optional `system` and `tools` (a JSON string); also LLaMA-Factory's variants with
  `role`/`content` tags and with the list under `messages` (so a `.json` array of `messages`
  examples is ShareGPT, while a `.jsonl` one is OpenAI chat), and `chosen`/`rejected` preference
  pairs (the chosen answer becomes the assistant reply; `rejected` is kept as an extra key).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from ftui.core.dataset.reader import DatasetError, detect_layout, iter_records, json_type_name
from ftui.core.dataset.text import content_text, json_text
from ftui.core.findings import Severity

__all__ = [
    "DatasetError",
    "DatasetFormat",
    "Issue",
    "convert_record",
    "detect_format",
    "detect_format_of",
    "example_messages",
    "from_chat",
    "to_chat",
]


class DatasetFormat(StrEnum):
    OPENAI = "openai"
    ALPACA = "alpaca"
    SHAREGPT = "sharegpt"


FORMAT_DESCRIPTIONS = {
    DatasetFormat.OPENAI: "OpenAI chat (messages)",
    DatasetFormat.ALPACA: "Alpaca (instruction / input / output)",
    DatasetFormat.SHAREGPT: "ShareGPT (conversations)",
}

OPENAI_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
OPENAI_MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call", "refusal"}
)
OPENAI_EXAMPLE_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})
ALPACA_KEYS = frozenset({"instruction", "input", "output", "system", "history"})

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
        "('messages'), ShareGPT ('conversations') or Alpaca ('instruction'/'output'); "
        "pass --format to say which"
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
        return _alpaca_to_chat(value)
    if fmt is DatasetFormat.SHAREGPT:
        return _sharegpt_to_chat(value)
    return _openai_to_chat(value)


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


def _openai_to_chat(value: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
    messages = value.get("messages")
    if not isinstance(messages, list):
        return None, [Issue("missing_messages_list", "the example has no 'messages' list")]
    issues: list[Issue] = []
    normalised = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            issues.append(Issue("invalid_message", f"message {i + 1} is not an object", i))
            continue
        normalised.append(_normalise_openai_message(message))
    chat = {**value, "messages": normalised}
    return chat, issues


def _normalise_openai_message(message: dict[str, Any]) -> dict[str, Any]:
    """LLaMA-Factory v1 conventions -> OpenAI's (text parts, loss_weight); others unchanged."""
    content = message.get("content")
    if "loss_weight" not in message and not isinstance(content, list):
        return message
    out = dict(message)
    if isinstance(content, list):
        out["content"] = _normalise_parts(content)
    if "loss_weight" in out:
        weight = out.pop("loss_weight")
        if out.get("role") == "assistant" and "weight" not in out:
            out["weight"] = 1 if isinstance(weight, int | float) and weight > 0 else 0
    return out


def _normalise_parts(parts: list[Any]) -> Any:
    converted: list[Any] = []
    for part in parts:
        if isinstance(part, dict) and "value" in part and part.get("type") in ("text", None):
            converted.append({"type": "text", "text": part["value"]})
        elif isinstance(part, dict) and "value" in part and part.get("type") == "image_url":
            converted.append({"type": "image_url", "image_url": {"url": part["value"]}})
        else:
            converted.append(part)
    if all(isinstance(p, dict) and p.get("type") == "text" for p in converted):
        texts = [p.get("text") for p in converted]
        if all(isinstance(t, str) for t in texts):
            return "".join(t for t in texts if isinstance(t, str))
    return converted


def _alpaca_to_chat(value: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
    issues: list[Issue] = []
    if not any(key in value for key in ("instruction", "input", "output")):
        return None, [
            Issue(
                "missing_messages_list",
                "the example has none of 'instruction', 'input', 'output'",
            )
        ]

    def text_field(name: str) -> str:
        field = value.get(name)
        if field is None:
            return ""
        if not isinstance(field, str):
            issues.append(Issue("invalid_field_type", f"'{name}' must be a string"))
            return ""
        return field

    system = text_field("system")
    instruction = text_field("instruction")
    input_text = text_field("input")
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    history = value.get("history")
    if history is not None and history != []:
        if not isinstance(history, list):
            issues.append(Issue("invalid_history", "'history' must be a list of [user, assistant]"))
        else:
            for turn, pair in enumerate(history):
                if (
                    isinstance(pair, list | tuple)
                    and len(pair) == 2
                    and all(isinstance(t, str) for t in pair)
                ):
                    messages.append({"role": "user", "content": pair[0]})
                    messages.append({"role": "assistant", "content": pair[1]})
                else:
                    issues.append(
                        Issue(
                            "invalid_history",
                            f"history turn {turn} must be [user text, assistant text]",
                        )
                    )
    prompt = "\n\n".join(part for part in (instruction, input_text) if part)
    if prompt or "instruction" in value or "input" in value:
        messages.append({"role": "user", "content": prompt})
    if "output" in value:
        output = value["output"]
        if isinstance(output, str):
            messages.append({"role": "assistant", "content": output})
        elif isinstance(output, list) and output and all(isinstance(o, str) for o in output):
            # Some ranking datasets keep several candidate outputs: the first is the answer.
            messages.append({"role": "assistant", "content": output[0]})
        else:
            issues.append(Issue("invalid_field_type", "'output' must be a string"))
    extras = {k: v for k, v in value.items() if k not in ALPACA_KEYS}
    return {**extras, "messages": messages}, issues


def _sharegpt_tools(raw: Any, issues: list[Issue]) -> list[Any] | None:
    if raw is None or raw == "" or raw == []:
        return None
    tools = raw
    if isinstance(raw, str):
        try:
            tools = orjson.loads(raw)
        except orjson.JSONDecodeError:
            issues.append(Issue("invalid_tools", "'tools' is not valid JSON"))
            return None
    if isinstance(tools, dict):
        tools = [tools]
    if not isinstance(tools, list):
        issues.append(Issue("invalid_tools", "'tools' must be a list of function definitions"))
        return None
    out = []
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type") == "function" and "function" in tool:
            out.append(tool)
        else:
            out.append({"type": "function", "function": tool})
    return out


def _parse_function_calls(text: Any) -> list[dict[str, Any]] | None:
    """ShareGPT function_call value -> OpenAI tool call functions (None: not a function call)."""
    data = text
    if isinstance(text, str):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
    calls = data if isinstance(data, list) else [data]
    functions = []
    for call in calls:
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            return None
        arguments = call.get("arguments", {})
        if not isinstance(arguments, str):
            arguments = json_text(arguments)
        functions.append({"name": call["name"], "arguments": arguments})
    return functions or None


def _sharegpt_to_chat(value: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
    list_key = "conversations" if "conversations" in value else "messages"
    turns = value.get(list_key)
    if not isinstance(turns, list):
        return None, [Issue("missing_messages_list", "the example has no 'conversations' list")]
    issues: list[Issue] = []
    messages: list[dict[str, Any]] = []
    system = value.get("system")
    if isinstance(system, str) and system:
        messages.append({"role": "system", "content": system})
    elif system is not None and not isinstance(system, str):
        issues.append(Issue("invalid_field_type", "'system' must be a string"))
    pending_ids: list[str] = []
    call_count = 0
    turn_list = list(turns)
    chosen = value.get("chosen")
    if isinstance(chosen, dict):
        turn_list.append(chosen)
    for i, turn in enumerate(turn_list):
        if not isinstance(turn, dict):
            issues.append(Issue("invalid_message", f"turn {i} is not an object", i))
            continue
        tag = "from" if "from" in turn else "role"
        text_key = "value" if "value" in turn or tag == "from" else "content"
        speaker = turn.get(tag)
        text = turn.get(text_key)
        if speaker is None:
            issues.append(Issue("message_missing_key", f"turn {i} has no '{tag}'", i))
            continue
        role = SHAREGPT_ROLE_MAP.get(str(speaker).lower()) if isinstance(speaker, str) else None
        if role is None:
            issues.append(
                Issue(
                    "unrecognized_role",
                    f"turn {i} is from {speaker!r}; ShareGPT speakers are human, gpt, system, "
                    "function_call and observation",
                    i,
                )
            )
            continue
        if text_key not in turn:
            issues.append(Issue("message_missing_key", f"turn {i} has no '{text_key}'", i))
        if role == "function_call":
            functions = _parse_function_calls(text)
            if functions is None:
                issues.append(
                    Issue(
                        "invalid_function_call",
                        f"turn {i}: a function_call value must be JSON like "
                        '{"name": ..., "arguments": {...}}',
                        i,
                    )
                )
                messages.append({"role": "assistant", "content": text})
                continue
            pending_ids = []
            tool_calls = []
            for function in functions:
                call_count += 1
                call_id = f"call_{call_count}"
                pending_ids.append(call_id)
                tool_calls.append({"id": call_id, "type": "function", "function": function})
            messages.append({"role": "assistant", "content": None, "tool_calls": tool_calls})
            continue
        if role == "tool":
            message: dict[str, Any] = {"role": "tool", "content": text}
            if pending_ids:
                message["tool_call_id"] = pending_ids.pop(0)
            messages.append(message)
            continue
        messages.append({"role": role, "content": text})
    extras = {k: v for k, v in value.items() if k not in (list_key, "system", "tools", "chosen")}
    chat: dict[str, Any] = {**extras, "messages": messages}
    tools = _sharegpt_tools(value.get("tools"), issues)
    if tools is not None:
        chat["tools"] = tools
    return chat, issues


# ------------------------------------------------------------------------ from the canonical form


def from_chat(chat: dict[str, Any], fmt: DatasetFormat | str) -> tuple[dict[str, Any], list[str]]:
    """A record in `fmt` holding `chat`, and what the target format could not hold."""
    target = DatasetFormat(fmt)
    if target is DatasetFormat.ALPACA:
        return _chat_to_alpaca(chat)
    if target is DatasetFormat.SHAREGPT:
        return _chat_to_sharegpt(chat)
    return _chat_to_openai(chat)


def convert_record(
    value: Any, source: DatasetFormat | str, target: DatasetFormat | str
) -> tuple[dict[str, Any] | None, list[str]]:
    """One record from `source` to `target` format: (record or None, notes on what was lost).

    Same-format conversion keeps Alpaca and ShareGPT records as they are; OpenAI records are
    normalised (LLaMA-Factory parts and loss weights become OpenAI's).
    """
    source, target = DatasetFormat(source), DatasetFormat(target)
    if source is target and target is not DatasetFormat.OPENAI and isinstance(value, dict):
        return value, []
    chat, issues = to_chat_issues(value, source)
    if chat is None:
        return None, [issue.message for issue in issues]
    record, notes = from_chat(chat, target)
    return record, [issue.message for issue in issues] + notes


def _text(content: Any) -> str:
    return content_text(content)


def _chat_messages(chat: dict[str, Any]) -> list[dict[str, Any]]:
    messages = chat.get("messages")
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def _chat_to_openai(chat: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    notes = [
        f"dropped key '{key}' (not part of OpenAI's format)"
        for key in chat
        if key not in OPENAI_EXAMPLE_KEYS
    ]
    record: dict[str, Any] = {
        key: chat[key]
        for key in ("messages", "tools", "parallel_tool_calls", "functions")
        if key in chat
    }
    record.setdefault("messages", [])
    return record, notes


def _chat_to_alpaca(chat: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    messages = _chat_messages(chat)
    system_parts: list[str] = []
    pairs: list[list[str]] = []
    user: str | None = None
    dropped_tools = 0
    for message in messages:
        role = message.get("role")
        content = _text(message.get("content"))
        if (
            message.get("tool_calls")
            or message.get("function_call")
            or role in ("tool", "function")
        ):
            dropped_tools += 1
            continue
        if role in ("system", "developer"):
            system_parts.append(content)
        elif role == "user":
            if user is not None:
                notes.append("merged two user messages in a row")
                user = f"{user}\n\n{content}"
            else:
                user = content
        elif role == "assistant":
            if user is None:
                if pairs:
                    notes.append("merged two assistant messages in a row")
                    pairs[-1][1] += "\n\n" + content
                    continue
                notes.append(
                    "an assistant message with no user message before it got an empty instruction"
                )
                user = ""
            pairs.append([user, content])
            user = None
        if "name" in message:
            notes.append("dropped a message 'name'")
        if "weight" in message:
            notes.append("dropped a message 'weight'")
    if dropped_tools:
        notes.append(f"dropped {dropped_tools} tool-call/tool message(s): Alpaca has no tools")
    if "tools" in chat:
        notes.append("dropped 'tools': Alpaca has no tools")
    record: dict[str, Any] = {}
    if user is not None:
        notes.append("dropped a trailing user message with no answer")
    last = pairs.pop() if pairs else ["", ""]
    if len(system_parts) > 1:
        notes.append("merged several system messages into one")
    record["instruction"] = last[0]
    record["input"] = ""
    record["output"] = last[1]
    if system_parts:
        record["system"] = "\n\n".join(system_parts)
    if pairs:
        record["history"] = pairs
    for key, value in chat.items():
        if key not in ("messages", "tools", "parallel_tool_calls", "functions"):
            record[key] = value
    return record, notes


def _chat_to_sharegpt(chat: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    turns: list[dict[str, Any]] = []
    system_parts: list[str] = []
    for index, message in enumerate(_chat_messages(chat)):
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            if turns:
                turns.append({"from": "system", "value": _text(content)})
            else:
                system_parts.append(_text(content))
            continue
        tool_calls = message.get("tool_calls") or (
            [{"function": message["function_call"]}] if message.get("function_call") else None
        )
        if role == "assistant" and tool_calls:
            if content:
                turns.append({"from": "gpt", "value": _text(content)})
                notes.append("split an assistant message with text and tool calls into two turns")
            calls = []
            for call in tool_calls:
                function = call.get("function", {}) if isinstance(call, dict) else {}
                arguments = function.get("arguments", "{}")
                try:
                    parsed = orjson.loads(arguments) if isinstance(arguments, str) else arguments
                except orjson.JSONDecodeError:
                    parsed = arguments
                calls.append({"name": function.get("name"), "arguments": parsed})
            payload = calls[0] if len(calls) == 1 else calls
            turns.append({"from": "function_call", "value": json_text(payload)})
            continue
        if role in ("tool", "function"):
            turns.append({"from": "observation", "value": _text(content)})
            continue
        speaker = {"user": "human", "assistant": "gpt"}.get(str(role))
        if speaker is None:
            notes.append(f"dropped message {index + 1} with role {role!r}")
            continue
        if isinstance(content, list):
            notes.append("flattened a list content to its text parts")
        turns.append({"from": speaker, "value": _text(content)})
        if "name" in message:
            notes.append("dropped a message 'name'")
        if "weight" in message:
            notes.append("dropped a message 'weight'")
    record: dict[str, Any] = {"conversations": turns}
    if system_parts:
        record["system"] = "\n\n".join(system_parts)
    tools = chat.get("tools")
    if isinstance(tools, dict):
        tools = [tools]
    if isinstance(tools, list) and tools:
        functions = [t.get("function", t) if isinstance(t, dict) else t for t in tools]
        record["tools"] = json_text(functions)
    elif tools:
        notes.append("dropped 'tools' that were not a list of definitions")
    for key, value in chat.items():
        if key not in ("messages", "tools", "parallel_tool_calls", "functions"):
            record[key] = value
    return record, notes
