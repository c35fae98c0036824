"""Signatures of a conversation for exact and near-duplicate detection and leakage checks."""

from __future__ import annotations

from typing import Any

from ftui.core.dataset.text import content_text, json_text

_WHITESPACE = b" \t\n\r\x0b\x0c"
_NEAR_IGNORED = bytes(b for b in range(128) if not chr(b).isalpha())


def _media_key(content: list[Any]) -> str:
    """Every non-text part of a content (an image, audio) as JSON; "" when it is all text."""
    others = [
        p
        for p in content
        if not isinstance(p, str) and not (isinstance(p, dict) and p.get("type") == "text")
    ]
    return json_text(others, sort_keys=True) if others else ""


def example_signatures(
    messages: list[Any], tools: Any, *, with_prompt: bool = True
) -> tuple[int, int, int, str]:
    """(exact, near, prompt, system text) signatures of a conversation.

    exact: every part of every message (text, images and other parts, tool calls, names,
    weights), ignoring whitespace in the text; near: also ignoring ASCII case, digits and
    punctuation (catches template variations such as dates and ids); prompt: exact over the
    non-assistant messages only (a question that leaks with a different answer; 0 unless
    `with_prompt`). Byte-level `translate` keeps this cheap on millions of examples.
    """
    parts: list[str] = []
    media: list[str] = []  # compared as they are: two image URLs differing in a digit differ
    prompt_parts: list[str] = []
    system = ""
    for message in messages:
        if type(message) is not dict:
            continue
        role = message.get("role")
        content = message.get("content")
        if type(content) is not str:
            if isinstance(content, list):
                media.append(_media_key(content))
            content = content_text(content)
        part = f"{role}\x1f{content}"
        if len(message) > 2:
            # Tool calls, names, weights: whatever else the message holds makes it differ.
            rest = {k: v for k, v in message.items() if k != "role" and k != "content"}
            part += f"\x1d{json_text(rest, sort_keys=True)}"
        parts.append(part)
        if with_prompt and role != "assistant":
            prompt_parts.append(part)
        if role == "system" and not system:
            system = content
    if tools:
        parts.append(json_text(tools, sort_keys=True))
    raw = "\x1e".join(parts).encode("utf-8", "surrogatepass")
    media_raw = "\x1e".join(media).encode("utf-8", "surrogatepass") if media else b""
    exact = hash(raw.translate(None, _WHITESPACE) + media_raw)
    near = hash(raw.lower().translate(None, _NEAR_IGNORED) + media_raw)
    prompt = 0
    if with_prompt:
        prompt_raw = "\x1e".join(prompt_parts).encode("utf-8", "surrogatepass")
        prompt = hash(prompt_raw.translate(None, _WHITESPACE))
    return exact, near, prompt, system
