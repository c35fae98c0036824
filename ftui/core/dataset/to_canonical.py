"""Reading one record of each source format into the canonical chat form (see format_spec)."""

from __future__ import annotations

from typing import Any

import orjson

from ftui.core.dataset.format_spec import (
    ALPACA_KEYS,
    DPO_EXAMPLE_KEYS,
    PAIR_KEYS,
    REJECTED_KEY,
    SHAREGPT_ROLE_MAP,
    Issue,
)
from ftui.core.dataset.text import json_text

# LLaMA-Factory joins an Alpaca instruction and its input with one newline.
ALPACA_PROMPT_JOIN = "\n"


def openai_to_chat(value: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
    messages = value.get("messages")
    if not isinstance(messages, list):
        return None, [Issue("missing_messages_list", "the example has no 'messages' list")]
    issues: list[Issue] = []
    normalised = _normalise_messages(messages, issues)
    chat = {**value, "messages": normalised}
    return chat, issues


def _normalise_messages(messages: list[Any], issues: list[Issue]) -> list[dict[str, Any]]:
    normalised = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            issues.append(Issue("invalid_message", f"message {i + 1} is not an object", i))
            continue
        normalised.append(_normalise_openai_message(message))
    return normalised


def dpo_to_chat(value: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
    """OpenAI's DPO record: `input` {messages, tools}, `preferred_output` and
    `non_preferred_output`."""
    source = value.get("input")
    messages = source.get("messages") if isinstance(source, dict) else None
    if not isinstance(source, dict) or not isinstance(messages, list):
        return None, [
            Issue(
                "missing_messages_list",
                "the example has no 'input' object with a 'messages' list (OpenAI's DPO format: "
                '{"input": {"messages": [...]}, "preferred_output": [...], '
                '"non_preferred_output": [...]})',
            )
        ]
    issues: list[Issue] = []
    prompt = _normalise_messages(messages, issues)
    answers = []
    for key in ("preferred_output", "non_preferred_output"):
        answer = value.get(key)
        if not isinstance(answer, list) or not answer:
            issues.append(
                Issue(
                    "invalid_preference",
                    f"'{key}' must be a non-empty list of assistant messages, "
                    f'like [{{"role": "assistant", "content": "..."}}]',
                )
            )
            answer = []
        answers.append(_normalise_messages(answer, issues))
    extras = {k: v for k, v in value.items() if k not in DPO_EXAMPLE_KEYS}
    chat: dict[str, Any] = {**extras, "messages": prompt + answers[0], REJECTED_KEY: answers[1]}
    for key in ("tools", "parallel_tool_calls"):
        if key in source:
            chat[key] = source[key]
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


def alpaca_to_chat(value: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
    issues: list[Issue] = []
    if not any(key in value for key in ("instruction", "input", "output", "chosen")):
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
    prompt = ALPACA_PROMPT_JOIN.join(part for part in (instruction, input_text) if part)
    if prompt or "instruction" in value or "input" in value:
        messages.append({"role": "user", "content": prompt})
    extras = {k: v for k, v in value.items() if k not in ALPACA_KEYS}
    if "chosen" in value and "output" not in value:
        # LLaMA-Factory's Alpaca ranking form: two candidate answers instead of an output.
        chosen, rejected = text_field("chosen"), text_field("rejected")
        if "rejected" not in value:
            issues.append(Issue("invalid_preference", "'chosen' without 'rejected'"))
        messages.append({"role": "assistant", "content": chosen})
        extras = {k: v for k, v in extras.items() if k not in PAIR_KEYS}
        return {
            **extras,
            "messages": messages,
            REJECTED_KEY: [{"role": "assistant", "content": rejected}],
        }, issues
    if "output" in value:
        output = value["output"]
        if isinstance(output, str):
            messages.append({"role": "assistant", "content": output})
        elif isinstance(output, list) and output and all(isinstance(o, str) for o in output):
            # Some ranking datasets keep several candidate outputs: the first is the answer.
            messages.append({"role": "assistant", "content": output[0]})
        else:
            issues.append(Issue("invalid_field_type", "'output' must be a string"))
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


class _TurnReader:
    """ShareGPT turns -> OpenAI messages, numbering tool calls across one record."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        self.pending_ids: list[str] = []
        self.call_count = 0

    def read(self, i: int, turn: Any, messages: list[dict[str, Any]]) -> None:
        issues = self.issues
        if isinstance(turn, str):
            messages.append({"role": "assistant", "content": turn})  # a bare chosen/rejected
            return
        if not isinstance(turn, dict):
            issues.append(Issue("invalid_message", f"turn {i} is not an object", i))
            return
        tag = "from" if "from" in turn else "role"
        text_key = "value" if "value" in turn or tag == "from" else "content"
        speaker = turn.get(tag)
        text = turn.get(text_key)
        if speaker is None:
            issues.append(Issue("message_missing_key", f"turn {i} has no '{tag}'", i))
            return
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
            return
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
                return
            self.pending_ids = []
            tool_calls = []
            for function in functions:
                self.call_count += 1
                call_id = f"call_{self.call_count}"
                self.pending_ids.append(call_id)
                tool_calls.append({"id": call_id, "type": "function", "function": function})
            messages.append({"role": "assistant", "content": None, "tool_calls": tool_calls})
            return
        if role == "tool":
            message: dict[str, Any] = {"role": "tool", "content": text}
            if self.pending_ids:
                message["tool_call_id"] = self.pending_ids.pop(0)
            messages.append(message)
            return
        messages.append({"role": role, "content": text})


def sharegpt_to_chat(value: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
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
    reader = _TurnReader(issues)
    for i, turn in enumerate(turns):
        reader.read(i, turn, messages)
    dropped = {list_key, "system", "tools"}
    chat: dict[str, Any] = {}
    if "chosen" in value or "rejected" in value:
        # LLaMA-Factory's preference form: the prompt's turns, then one chosen and one rejected.
        dropped |= PAIR_KEYS
        answers: list[list[dict[str, Any]]] = []
        for key in ("chosen", "rejected"):
            answer: list[dict[str, Any]] = []
            if key not in value:
                issues.append(Issue("invalid_preference", f"a preference pair without '{key}'"))
            else:
                reader.read(len(turns), value[key], answer)
            answers.append(answer)
        messages += answers[0]
        chat[REJECTED_KEY] = answers[1]
    extras = {k: v for k, v in value.items() if k not in dropped}
    chat = {**extras, "messages": messages, **chat}
    tools = _sharegpt_tools(value.get("tools"), issues)
    if tools is not None:
        chat["tools"] = tools
    return chat, issues
