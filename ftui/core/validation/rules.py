"""Per-example validation rules: what is wrong inside one example, independent of the others.

For OpenAI chat data the raw record is checked with the OpenAI cookbook's format checks (same codes,
same meaning), updated to today's API: an assistant message with `tool_calls` needs no content,
and a `tool` reply must answer a preceding tool call. Alpaca and ShareGPT records are first turned
into chat form (`formats.to_chat_issues`), whose problems become findings with the same codes.
Then every example goes through the same conversation rules (roles, turn order, reply length).

Where OpenAI's rules and torchtune's disagree (an empty assistant reply; two user messages in a
row; a system message that isn't first), OpenAI-targeted data follows OpenAI, and the finding
says what the other trainers do.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from ftui.core.dataset.formats import (
    LABEL_KEY,
    OPENAI_EXAMPLE_KEYS,
    OPENAI_MESSAGE_KEYS,
    REJECTED_KEY,
    DatasetFormat,
    sniff_record,
    to_chat_issues,
)
from ftui.core.dataset.reader import json_type_name
from ftui.core.dataset.text import content_text
from ftui.core.findings import Finding, Severity
from ftui.core.validation.codes import CODES
from ftui.core.validation.content_checks import (
    JUNK_MAX_CHARS,
    check_placeholders,
    is_placeholder_reply,
)

__all__ = ["CODES", "chat_messages", "check_conversation", "finding_factory"]

ERROR = Severity.ERROR

# Roles OpenAI's fine-tuning accepts ("function" is the legacy form of "tool").
OPENAI_FT_ROLES = frozenset({"system", "user", "assistant", "tool", "function"})
_PLAIN_ROLES = frozenset({"system", "user", "assistant"})

_LOSS_WEIGHT_HINT = (
    "'loss_weight' is LLaMA-Factory's; OpenAI takes 'weight' (0 or 1) on assistant messages "
    "(`ftui convert --to openai` rewrites it)"
)

Emit = Callable[[str, str, int | None], None]


def check_openai_structure(value: dict[str, Any], emit: Emit) -> list[Any] | None:
    """The cookbook's format checks on a raw OpenAI chat example; returns its messages list."""
    messages = value.get("messages")
    if not isinstance(messages, list):
        looks_like = sniff_record(value)
        hint = ""
        if looks_like is not None and looks_like is not DatasetFormat.OPENAI:
            hint = (
                f"; it looks like {looks_like.value} data: pass --format {looks_like.value} "
                f"or convert it with `ftui convert IN OUT --to openai`"
            )
        elif "prompt" in value or "completion" in value:
            hint = (
                "; prompt/completion pairs are the legacy format: chat models need "
                '{"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}'
            )
        found = ", ".join(repr(k) for k in list(value)[:5]) or "no keys"
        emit(
            "missing_messages_list",
            f"no 'messages' list (found {found}){hint}",
            None,
        )
        return None
    if not messages:
        emit("missing_messages_list", "the 'messages' list is empty: add the conversation", None)
        return None
    for key in value:
        if key not in OPENAI_EXAMPLE_KEYS:
            emit(
                "unrecognized_example_key",
                f"key {key!r} is not part of OpenAI's chat fine-tuning format "
                "(messages, tools, parallel_tool_calls); remove it (`ftui convert --to openai` "
                "drops it)",
                None,
            )
    _check_tools(value.get("tools"), emit)
    for i, message in enumerate(messages):
        if type(message) is dict and len(message) == 2:
            # Fast path for the common {"role", "content"} message with a known role and text.
            content = message.get("content")
            role = message.get("role")
            if type(content) is str and content and type(role) is str and role in _PLAIN_ROLES:
                continue
        if not isinstance(message, dict):
            emit(
                "invalid_message", f"message {i + 1} is {json_type_name(message)}, not an object", i
            )
            continue
        _check_openai_message(i, message, emit)
    return messages


def _check_tools(tools: Any, emit: Emit) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        emit(
            "invalid_tools",
            f"'tools' must be a list of tool definitions, not {json_type_name(tools)}",
            None,
        )
        return
    for j, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if (
            not isinstance(tool, dict)
            or tool.get("type") != "function"
            or not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
        ):
            emit(
                "invalid_tools",
                f'tools[{j}] must look like {{"type": "function", "function": {{"name": ..., '
                '"parameters": {...}}}',
                None,
            )
            return


def _check_openai_message(i: int, message: dict[str, Any], emit: Emit) -> None:
    role = message.get("role")
    content = message.get("content")
    has_calls = bool(message.get("tool_calls") or message.get("function_call"))
    if "role" not in message:
        emit("message_missing_key", f"message {i + 1} has no 'role'", i)
    if "content" not in message and not (role == "assistant" and has_calls):
        emit("message_missing_key", f"message {i + 1} ({role or 'no role'}) has no 'content'", i)
    unknown = [k for k in message if k not in OPENAI_MESSAGE_KEYS]
    if unknown:
        hint = (
            _LOSS_WEIGHT_HINT
            if "loss_weight" in unknown
            else (
                "OpenAI accepts role, content, name, weight, tool_calls, tool_call_id and "
                "function_call"
            )
        )
        keys = ", ".join(repr(k) for k in unknown)
        emit(
            "message_unrecognized_key", f"message {i + 1} has unrecognized key(s) {keys}; {hint}", i
        )
    if "role" in message and not (isinstance(role, str) and role in OPENAI_FT_ROLES):
        emit(
            "unrecognized_role",
            f"message {i + 1} has role {role!r}; OpenAI fine-tuning accepts system, user, "
            "assistant and tool (torchtune's 'ipython' is 'tool' here)",
            i,
        )
    # Content: the cookbook's rule, except that today an assistant tool call needs no content.
    if role == "assistant" and has_calls:
        pass
    elif has_calls:
        if not isinstance(content, str):
            emit("missing_content", f"message {i + 1} has no text 'content'", i)
    elif isinstance(content, list):
        if not content:
            emit("missing_content", f"message {i + 1} has an empty content list", i)
        else:
            _check_parts(i, role, content, emit)
    elif not isinstance(content, str) or content == "":
        if role == "assistant" and content == "":
            emit(
                "missing_content",
                f"message {i + 1} is an empty assistant reply; OpenAI rejects it (torchtune would "
                "accept it): write the reply or remove the example",
                i,
            )
        elif content is None or content == "":
            emit("missing_content", f"message {i + 1} ({role or 'no role'}) has no content", i)
        else:
            emit(
                "missing_content",
                f"message {i + 1} content must be a string (or a list of parts), "
                f"not {json_type_name(content)}",
                i,
            )
    if "weight" in message:
        weight = message["weight"]
        if role != "assistant" or weight not in (0, 1) or isinstance(weight, bool):
            emit(
                "invalid_weight",
                f"message {i + 1}: 'weight' must be 0 or 1 and only on assistant messages "
                f"(got {weight!r} on {role!r})",
                i,
            )
    if "name" in message and not isinstance(message["name"], str):
        emit("invalid_field_type", f"message {i + 1}: 'name' must be a string", i)
    if "tool_calls" in message:
        _check_tool_calls(i, message["tool_calls"], emit)


def _check_parts(i: int, role: Any, parts: list[Any], emit: Emit) -> None:
    for j, part in enumerate(parts):
        if not isinstance(part, dict):
            emit("invalid_content_part", f"message {i + 1} part {j} is not an object", i)
            return
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            continue
        if kind == "image_url" and isinstance(part.get("image_url"), dict) and role == "user":
            continue
        if "value" in part:
            emit(
                "invalid_content_part",
                f"message {i + 1} part {j} uses 'value' (LLaMA-Factory v1 style); OpenAI expects "
                '{"type": "text", "text": ...} (`ftui convert --to openai` rewrites it)',
                i,
            )
        elif kind == "image_url" and role != "user":
            emit(
                "invalid_content_part",
                f"message {i + 1}: images are accepted in user messages only",
                i,
            )
        else:
            emit(
                "invalid_content_part",
                f"message {i + 1} part {j} must be a text part"
                " or (in user messages) an image_url part",
                i,
            )
        return


def _check_tool_calls(i: int, calls: Any, emit: Emit) -> None:
    if not isinstance(calls, list) or not calls:
        emit("invalid_tool_calls", f"message {i + 1}: 'tool_calls' must be a non-empty list", i)
        return
    for j, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if (
            not isinstance(call, dict)
            or not isinstance(call.get("id"), str)
            or not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
            or not isinstance(function.get("arguments"), str)
        ):
            emit(
                "invalid_tool_calls",
                f'message {i + 1} tool_calls[{j}] must look like {{"id": ..., "type": "function", '
                '"function": {"name": ..., "arguments": "<JSON string>"}}',
                i,
            )
            return


def check_conversation(
    messages: list[Any],
    emit: Emit,
    *,
    fmt: DatasetFormat,
    check_content: bool,
) -> tuple[bool, list[Any]]:
    """Roles, turn order and reply checks shared by every format.

    Returns (has a system message, the roles in order).
    """
    roles: list[Any] = []
    has_assistant = has_user = has_system = False
    trained_assistant = False
    pending_calls: set[str] = set()
    expecting_tool = False
    prompt: Any = None
    braces = False  # "{{" somewhere: look for unfilled placeholders
    answer = "'output'" if fmt is DatasetFormat.ALPACA else "assistant message"
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        roles.append(role)
        content = message.get("content")
        if type(content) is str:
            braces = braces or "{{" in content
        elif content is not None:
            braces = braces or "{{" in content_text(content)
        calls = message.get("tool_calls")
        if role == "system":
            has_system = True
            if i > 0 and any(r != "system" for r in roles[:-1]):
                emit(
                    "system_not_first",
                    f"message {i + 1} is a system message after the conversation started; OpenAI "
                    "accepts it, but most chat templates (torchtune, Hugging Face) need the "
                    "system message first",
                    i,
                )
        elif role == "user":
            has_user = True
            prompt = content
        elif role == "assistant":
            has_assistant = True
            if message.get("weight", 1) != 0:
                trained_assistant = True
            if isinstance(calls, list) and calls:
                pending_calls = {
                    c["id"] for c in calls if isinstance(c, dict) and isinstance(c.get("id"), str)
                }
                expecting_tool = True
                continue
            if message.get("function_call"):
                expecting_tool = True
                continue
            text = content if isinstance(content, str) else content_text(content)
            if check_content and isinstance(content, str | list):
                _check_reply(i, text, emit, prompt)
        elif role in ("tool", "function"):
            if not expecting_tool:
                emit(
                    "orphan_tool_message",
                    f"message {i + 1} is a tool reply that follows no assistant tool call; OpenAI "
                    "rejects it: put the assistant's tool_calls message before it",
                    i,
                )
            elif role == "tool":
                call_id = message.get("tool_call_id")
                if call_id is None:
                    emit("message_missing_key", f"message {i + 1} (tool) has no 'tool_call_id'", i)
                elif pending_calls and call_id not in pending_calls:
                    emit(
                        "unknown_tool_call_id",
                        f"message {i + 1} answers tool_call_id {call_id!r}, which the preceding "
                        f"tool calls don't have ({', '.join(sorted(map(str, pending_calls)))})",
                        i,
                    )
            continue
        if expecting_tool and role != "assistant":
            prev = roles[-2] if len(roles) > 1 else None
            if prev == "assistant":
                emit(
                    "unanswered_tool_call",
                    f"message {i} calls a tool but message {i + 1} is not its tool reply",
                    i - 1,
                )
        expecting_tool = False
    if braces:
        check_placeholders(messages, emit)
    if not has_assistant:
        emit(
            "example_missing_assistant_message",
            f"no {answer}: there is nothing for the model to learn from this example",
            None,
        )
    elif not trained_assistant:
        emit(
            "no_trained_tokens",
            "every assistant message has weight 0, so this example teaches nothing",
            None,
        )
    if not has_user:
        emit(
            "missing_user_message",
            "no user message: the model learns to answer without being asked",
            None,
        )
    body = [(i, r) for i, r in enumerate(roles) if r != "system"]
    if body and body[0][1] == "assistant":
        emit(
            "assistant_first",
            "the conversation opens with the assistant (after any system message); OpenAI "
            "accepts it, torchtune and most chat templates expect a user message first",
            body[0][0],
        )
    for (_, a), (j, b) in itertools.pairwise(body):
        if a == b and a in ("user", "assistant"):
            emit(
                "consecutive_same_role",
                f"messages {j} and {j + 1} are both {a}; OpenAI accepts it, torchtune and most "
                "chat templates need user and assistant to alternate: merge them",
                j,
            )
            break
    if has_assistant and roles and roles[-1] not in ("assistant", None):
        emit(
            "last_message_not_assistant",
            f"the conversation ends with a {roles[-1]} message, which nothing learns from: "
            "end it with the assistant's reply or drop the last message",
            len(messages) - 1,
        )
    return has_system, roles


def _check_reply(i: int, text: str, emit: Emit, prompt: Any) -> None:
    """Whitespace-only and junk replies; lengths are judged against the dataset (`lengths`)."""
    if len(text) > JUNK_MAX_CHARS and not text[0].isspace():
        return  # the common case, decided without copying the text
    stripped = text.strip()
    if not stripped:
        if text:
            emit(
                "empty_assistant",
                f"message {i + 1} is an assistant reply of only whitespace: write the reply or "
                "remove the example",
                i,
            )
        return
    if stripped.count(" ") > 2:
        return  # junk is a word or three
    if is_placeholder_reply(stripped) and not _asked_for(stripped, prompt):
        emit(
            "placeholder_reply",
            f"message {i + 1} is a placeholder, not an answer ({stripped[:30]!r}): write the "
            "reply or remove the example",
            i,
        )


def _asked_for(reply: str, prompt: Any) -> bool:
    """Whether the prompt asks for this very text ('Write "Test"')."""
    text = prompt if isinstance(prompt, str) else content_text(prompt)
    return reply.lower() in text.lower()


def chat_messages(
    value: Any, fmt: DatasetFormat, emit: Emit, preference: dict[str, Any] | None = None
) -> tuple[list[Any] | None, Any]:
    """Run the format-level checks; return (messages to check and count, tools) or (None, None).

    `preference`, when given, receives a preference example's non-preferred answer
    (`REJECTED_KEY`) and KTO `label` (`LABEL_KEY`), as the canonical form has them.
    """
    if not isinstance(value, dict):
        emit(
            "data_type", f"expected a JSON object (one example), got {json_type_name(value)}", None
        )
        return None, None
    if fmt is DatasetFormat.OPENAI:
        messages = check_openai_structure(value, emit)
        return messages, value.get("tools")
    chat, issues = to_chat_issues(value, fmt)
    for issue in issues:
        emit(issue.code, issue.message, issue.message_index)
    if chat is None:
        return None, None
    messages = chat.get("messages", [])
    if preference is not None:
        for key in (REJECTED_KEY, LABEL_KEY):
            if key in chat:
                preference[key] = chat[key]
    if not messages and not issues:
        emit("missing_messages_list", "the conversation is empty: add its turns", None)
        return None, None
    for i, message in enumerate(messages):
        content = message.get("content")
        if message.get("tool_calls") or (content and isinstance(content, str | list)):
            continue
        # No usable text: say which field is missing, in the format's own terms.
        role = message.get("role")
        if role == "assistant" and content == "":
            what = "'output'" if fmt is DatasetFormat.ALPACA else f"turn {i} (assistant)"
            emit(
                "missing_content",
                f"{what} is empty; OpenAI rejects empty assistant replies (torchtune "
                "would accept it): write the reply or remove the example",
                i,
            )
        elif role == "user" and fmt is DatasetFormat.ALPACA:
            emit(
                "missing_user_message",
                "'instruction' and 'input' are both empty: the model learns to answer nothing",
                None,
            )
        else:
            emit("missing_content", f"turn {i} ({role}) has no text", i)
    return messages, chat.get("tools")


def finding_factory(index: int, line: int, sink: list[Finding]) -> Emit:
    """An `emit(code, message, message_index)` that appends Findings for one example."""

    def emit(code: str, message: str, message_index: int | None) -> None:
        severity = CODES.get(code, (ERROR, ""))[0]
        sink.append(Finding(code, severity, line, index, message, message_index))

    return emit
