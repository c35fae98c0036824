"""How one chat message reads on screen: prose as text, code fences and JSON highlighted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from rich.console import Group, RenderableType
from rich.text import Text

if TYPE_CHECKING:
    from rich.syntax import Syntax

# Beyond this, a message is shown cut (the editor still holds all of it): a 50 MB line must not
# freeze the screen.
DISPLAY_CHARS = 40_000
FENCE = re.compile(r"^```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
SYNTAX_THEME = "ansi_dark"


def warm_up() -> None:
    """Import the highlighter ahead of the first code block (call from a worker thread)."""
    from rich.syntax import Syntax

    Syntax("{}", "json").highlight("{}")


def _syntax(code: str, lexer: str) -> Syntax:
    from rich.syntax import Syntax  # pygments: paid for on the first code block, not at start

    return Syntax(
        code.rstrip("\n"),
        lexer or "text",
        theme=SYNTAX_THEME,
        word_wrap=True,
        background_color="default",
        indent_guides=False,
    )


def _as_json(text: str) -> Any:
    """The parsed value when `text` is a JSON object or array, else None."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[" or stripped[-1] not in "}]":
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    return value if isinstance(value, dict | list) else None


def pretty_json(value: Any) -> Syntax:
    return _syntax(json.dumps(value, indent=2, ensure_ascii=False), "json")


def _text_blocks(text: str) -> Iterator[RenderableType]:
    position = 0
    for fence in FENCE.finditer(text):
        before = text[position : fence.start()].strip("\n")
        if before:
            yield Text(before)
        yield _syntax(fence.group(2), fence.group(1))
        position = fence.end()
    rest = text[position:].strip("\n")
    if rest:
        yield Text(rest)


def render_text(text: str) -> RenderableType:
    """Prose stays prose; ``` fences and whole-JSON texts (tool replies) are highlighted."""
    cut = ""
    if len(text) > DISPLAY_CHARS:
        cut = f"… {len(text) - DISPLAY_CHARS:,} more characters (edit the message to see them all)"
        text = text[:DISPLAY_CHARS]
    value = _as_json(text)
    blocks: list[RenderableType] = [pretty_json(value)] if value is not None else []
    if value is None:
        blocks.extend(_text_blocks(text))
    if cut:
        blocks.append(Text(cut, style="dim italic"))
    if not blocks:
        return Text("(empty)", style="dim italic")
    return blocks[0] if len(blocks) == 1 else Group(*blocks)


def render_content(content: Any) -> RenderableType:
    """A message's `content`: a string, a list of typed parts, or anything else as JSON."""
    if content is None:
        return Text("(no content)", style="dim italic")
    if isinstance(content, str):
        return render_text(content)
    if isinstance(content, list):
        blocks: list[RenderableType] = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                blocks.append(render_text(part["text"]))
            elif isinstance(part, str):
                blocks.append(render_text(part))
            else:
                kind = part.get("type", "part") if isinstance(part, dict) else type(part).__name__
                blocks.append(Text(f"[{kind}]", style="dim"))
                blocks.append(pretty_json(part))
        return Group(*blocks) if blocks else Text("(empty)", style="dim italic")
    return pretty_json(content)


def render_tool_calls(calls: Any) -> RenderableType:
    """Each call as `→ name(...)` with its arguments pretty-printed."""
    if not isinstance(calls, list):
        calls = [calls]
    blocks: list[RenderableType] = []
    for call in calls:
        function = call.get("function", call) if isinstance(call, dict) else {}
        name = function.get("name", "?") if isinstance(function, dict) else "?"
        call_id = call.get("id") if isinstance(call, dict) else None
        label = Text("→ call ", style="bold")
        label.append(str(name), style="bold cyan")
        if call_id:
            label.append(f"  ({call_id})", style="dim")
        blocks.append(label)
        arguments = function.get("arguments") if isinstance(function, dict) else None
        if isinstance(arguments, str):
            parsed = _as_json(arguments)
            blocks.append(pretty_json(parsed) if parsed is not None else Text(arguments))
        elif arguments is not None:
            blocks.append(pretty_json(arguments))
    return Group(*blocks)


def render_message(message: Any) -> RenderableType:
    """The body of a message: its content, then its tool calls (if any)."""
    if not isinstance(message, dict):
        return Group(Text("not a JSON object:", style="bold red"), pretty_json(message))
    blocks: list[RenderableType] = []
    content = message.get("content")
    calls = message.get("tool_calls") or message.get("function_call")
    if content is not None or not calls:
        blocks.append(render_content(content))
    if calls:
        blocks.append(render_tool_calls(calls))
    return blocks[0] if len(blocks) == 1 else Group(*blocks)


EditMode = Literal["text", "json", "message"]
EDIT_NOTES = {
    "text": "",
    "json": "This content is a list of parts, not plain text: edit it as JSON.",
    "message": "This message calls tools: edit the whole message as JSON (role, content, calls).",
}


def content_for_editing(message: dict[str, Any]) -> tuple[str, EditMode]:
    """What the editor shows for a message, and how to read it back."""
    if message.get("tool_calls") or message.get("function_call"):
        return json.dumps(message, indent=2, ensure_ascii=False), "message"
    content = message.get("content")
    if isinstance(content, str):
        return content, "text"
    if content is None:
        return "", "text"
    return json.dumps(content, indent=2, ensure_ascii=False), "json"
