"""Signatures of a conversation for exact and near-duplicate detection and leakage checks."""

from __future__ import annotations

from typing import Any

from ftui.core.dataset.text import content_text, json_text

_WHITESPACE = b" \t\n\r\x0b\x0c"
_NEAR_IGNORED = bytes(b for b in range(128) if not chr(b).isalpha())


def example_signatures(
    messages: list[Any], tools: Any, *, with_prompt: bool = True
) -> tuple[int, int, int, str]:
    """(exact, near, prompt, system text) signatures of a conversation.

    exact: roles and contents, ignoring whitespace; near: also ignoring ASCII case, digits and
    punctuation (catches template variations such as dates and ids); prompt: exact over the
    non-assistant messages only (a question that leaks with a different answer; 0 unless
    `with_prompt`). Byte-level `translate` keeps this cheap on millions of examples.
    """
    parts: list[str] = []
    prompt_parts: list[str] = []
    system = ""
    for message in messages:
        if type(message) is not dict:
            continue
        role = message.get("role")
        content = message.get("content")
        if type(content) is not str:
            content = content_text(content)
        calls = message.get("tool_calls") or message.get("function_call")
        part = (
            f"{role}\x1f{content}\x1d{json_text(calls, sort_keys=True)}"
            if calls
            else (f"{role}\x1f{content}")
        )
        parts.append(part)
        if with_prompt and role != "assistant":
            prompt_parts.append(part)
        if role == "system" and not system:
            system = content
    if tools:
        parts.append(json_text(tools, sort_keys=True))
    raw = "\x1e".join(parts).encode("utf-8", "surrogatepass")
    exact = hash(raw.translate(None, _WHITESPACE))
    near = hash(raw.lower().translate(None, _NEAR_IGNORED))
    prompt = 0
    if with_prompt:
        prompt_raw = "\x1e".join(prompt_parts).encode("utf-8", "surrogatepass")
        prompt = hash(prompt_raw.translate(None, _WHITESPACE))
    return exact, near, prompt, system
