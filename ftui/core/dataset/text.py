"""Plain text of dataset values: compact JSON and the text parts of a message's content."""

from __future__ import annotations

from typing import Any

import orjson


def json_text(value: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON of a value; never raises (ints past 64 bits or odd keys fall back to json)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0).decode()
    except (TypeError, orjson.JSONEncodeError):
        import json

        return json.dumps(
            value, separators=(",", ":"), sort_keys=sort_keys, default=str, ensure_ascii=False
        )


def content_text(content: Any) -> str:
    """The text of a message content: a string, or the text parts of a list of typed parts.

    Parts follow OpenAI (`{"type": "text", "text": ...}`) or LLaMA-Factory v1
    (`{"type": "text", "value": ...}`); image/audio parts carry no text.
    """
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and part.get("type", "text") == "text":
                text = part.get("text", part.get("value"))
                if isinstance(text, str):
                    texts.append(text)
            elif isinstance(part, str):
                texts.append(part)
        return "".join(texts)
    return ""
