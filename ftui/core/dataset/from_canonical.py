"""Writing a canonical chat example in each target format, saying what the target can't hold."""

from __future__ import annotations

from typing import Any

import orjson

from ftui.core.dataset.format_spec import (
    LABEL_KEY,
    OPENAI_EXAMPLE_KEYS,
    REJECTED_KEY,
    split_preferred,
)
from ftui.core.dataset.text import content_text, json_text

NOTE_REJECTED_LEFT_OUT = (
    "left out the non-preferred answer of a preference pair (SFT learns the preferred one; "
    "`--to dpo` keeps both)"
)
NOTE_DESIRABLE_KEPT = "kept an example labelled desirable (KTO label: true), without its label"
_CHAT_KEYS = ("messages", "tools", "parallel_tool_calls", "functions", REJECTED_KEY)


def _text(content: Any) -> str:
    return content_text(content)


def chat_messages_of(chat: dict[str, Any], key: str = "messages") -> list[dict[str, Any]]:
    messages = chat.get(key)
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def chat_to_openai(chat: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    notes = []
    for key in chat:
        if key == REJECTED_KEY:
            notes.append(NOTE_REJECTED_LEFT_OUT)
        elif key == LABEL_KEY and chat[key] is True:
            notes.append(NOTE_DESIRABLE_KEPT)
        elif key not in OPENAI_EXAMPLE_KEYS:
            notes.append(f"dropped key '{key}' (not part of OpenAI's format)")
    record: dict[str, Any] = {
        key: chat[key]
        for key in ("messages", "tools", "parallel_tool_calls", "functions")
        if key in chat
    }
    record.setdefault("messages", [])
    return record, notes


def chat_to_dpo(chat: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """OpenAI's DPO record; `chat` must be a preference pair (see formats.convert_example)."""
    notes = [
        f"dropped key '{key}' (not part of OpenAI's DPO format)"
        for key in chat
        if key not in OPENAI_EXAMPLE_KEYS and key != REJECTED_KEY
    ]
    prompt, preferred = split_preferred(chat_messages_of(chat))
    source: dict[str, Any] = {"messages": prompt}
    for key in ("tools", "parallel_tool_calls"):
        if key in chat:
            source[key] = chat[key]
    record = {
        "input": source,
        "preferred_output": preferred,
        "non_preferred_output": chat_messages_of(chat, REJECTED_KEY),
    }
    return record, notes


def chat_to_alpaca(chat: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    messages = chat_messages_of(chat)
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
    # The whole prompt goes to `instruction`: joined with LLaMA-Factory's single newline, it is
    # the same prompt as any instruction/input split of it (the editor restores the file's own).
    record["instruction"] = last[0]
    record["input"] = ""
    if REJECTED_KEY in chat:
        record["chosen"] = last[1]
        rejected = chat_messages_of(chat, REJECTED_KEY)
        record["rejected"] = "\n\n".join(_text(m.get("content")) for m in rejected)
        if len(rejected) > 1:
            notes.append("merged a non-preferred answer of several messages into one")
    else:
        record["output"] = last[1]
    if system_parts:
        record["system"] = "\n\n".join(system_parts)
    if pairs:
        record["history"] = pairs
    for key, value in chat.items():
        if key not in _CHAT_KEYS:
            record[key] = value
    return record, notes


def _sharegpt_turns(
    messages: list[dict[str, Any]], notes: list[str], system_parts: list[str] | None
) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            if turns or system_parts is None:
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
    return turns


def chat_to_sharegpt(chat: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    system_parts: list[str] = []
    messages = chat_messages_of(chat)
    record: dict[str, Any] = {}
    if REJECTED_KEY in chat:
        prompt, preferred = split_preferred(messages)
        turns = _sharegpt_turns(prompt, notes, system_parts)
        chosen = _sharegpt_turns(preferred, notes, None)
        rejected = _sharegpt_turns(chat_messages_of(chat, REJECTED_KEY), notes, None)
        if len(chosen) > 1 or len(rejected) > 1:
            notes.append("kept only the last turn of a preference answer of several turns")
        turns += chosen[:-1]
        empty = {"from": "gpt", "value": ""}
        record = {
            "conversations": turns,
            "chosen": chosen[-1] if chosen else empty,
            "rejected": rejected[-1] if rejected else empty,
        }
    else:
        record = {"conversations": _sharegpt_turns(messages, notes, system_parts)}
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
        if key not in _CHAT_KEYS:
            record[key] = value
    return record, notes
