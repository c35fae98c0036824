"""Exact, offline token counts: tiktoken with the BPE files bundled in `ftui/data/tiktoken`.

Counts follow the OpenAI cookbook's formula for chat fine-tuning data: for each message, 3 tokens of
overhead plus the tokens of every string value in it (role, content, name, and tool calls serialised
as compact JSON), plus 1 per `name`; then 3 per example. Tool definitions (`tools`), when an example
has them, are counted serialised too: they are part of what the model is trained on.

A local model is counted with its own tokenizer and chat template (`LocalTokenCounter`), which needs
`transformers`; it is imported only there.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftui.core.dataset.text import content_text, json_text

if TYPE_CHECKING:
    import tiktoken

BUNDLED_TIKTOKEN_DIR = Path(__file__).resolve().parents[2] / "data" / "tiktoken"
BUNDLED_ENCODINGS = ("cl100k_base", "o200k_base")

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_PER_EXAMPLE = 3
CACHED_TEXT_CHARS = 64
CACHED_TEXTS = 50_000

_lock = threading.Lock()
_encodings: dict[str, tiktoken.Encoding] = {}


class TokenizerError(Exception):
    """An encoding or tokenizer could not be loaded; the message says what to do."""


def get_encoding(name: str) -> tiktoken.Encoding:
    """The tiktoken encoding `name`, loaded once per process and with no network access.

    Points `TIKTOKEN_CACHE_DIR` at the bundled BPE files unless the user has set it.
    """
    with _lock:
        cached = _encodings.get(name)
        if cached is not None:
            return cached
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(BUNDLED_TIKTOKEN_DIR))
        import tiktoken

        try:
            encoding = tiktoken.get_encoding(name)
        except ValueError as exc:
            raise TokenizerError(
                f"unknown tiktoken encoding {name!r}; ftui ships {', '.join(BUNDLED_ENCODINGS)}"
            ) from exc
        except Exception as exc:  # tiktoken raises requests/OS errors when it tries to download
            raise TokenizerError(
                f"could not load the {name!r} encoding without network access ({exc}); "
                f"ftui ships {', '.join(BUNDLED_ENCODINGS)} in {BUNDLED_TIKTOKEN_DIR} "
                "(unset TIKTOKEN_CACHE_DIR to use them)"
            ) from exc
        _encodings[name] = encoding
        return encoding


def encoding_for_model(model: str) -> str:
    """The tiktoken encoding of an OpenAI model name (fine-tuned `ft:` names included)."""
    from ftui.core.pricing.models import openai_model_info

    info = openai_model_info(model)
    if info is not None:
        return info.encoding
    name = _base_model_name(model)
    if name.startswith(("gpt-3.5", "gpt-4-", "babbage", "davinci")) or name == "gpt-4":
        return "cl100k_base"
    # gpt-4o*, gpt-4.1*, gpt-4.5*, gpt-5*, o1/o3/o4* and anything newer use o200k_base.
    return "o200k_base"


def _base_model_name(model: str) -> str:
    # "ft:gpt-4o-mini-2024-07-18:org:suffix:id" -> "gpt-4o-mini-2024-07-18"
    if model.startswith("ft:"):
        return model.split(":", 2)[1]
    return model


def _value_text(value: Any) -> str | None:
    """The text a message value contributes to the count (None: contributes nothing)."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool | int | float):
        return None
    return json_text(value)


class TokenCounter:
    """Counts chat examples by the cookbook formula with one encoding; caches short strings."""

    __slots__ = ("_cache", "encode", "encoding")

    def __init__(self, encoding: tiktoken.Encoding) -> None:
        self.encoding = encoding
        self.encode = encoding.encode_ordinary
        self._cache: dict[str, int] = {}

    def count_text(self, text: str) -> int:
        if len(text) <= CACHED_TEXT_CHARS:
            # Roles, names and short turns ("Thank you!") repeat endlessly: remember them.
            cached = self._cache.get(text)
            if cached is None:
                cached = len(self.encode(text))
                if len(self._cache) < CACHED_TEXTS:
                    self._cache[text] = cached
            return cached
        return len(self.encode(text))

    def count_example(
        self, messages: Any, tools: Any = None, replies: list[tuple[int, int]] | None = None
    ) -> tuple[int, int]:
        """(total tokens, trained assistant tokens) of one example; tolerant of malformed input.

        `replies`, when given, receives (message index, content tokens) of each trained assistant
        text reply, for length checks that need no second encoding.
        """
        total = TOKENS_PER_EXAMPLE
        assistant = 0
        count_text = self.count_text
        if isinstance(messages, list):
            for index, message in enumerate(messages):
                total += TOKENS_PER_MESSAGE
                if type(message) is dict and len(message) == 2:
                    # Fast path: the common {"role": ..., "content": "..."} message.
                    role = message.get("role")
                    content = message.get("content")
                    if type(role) is str and type(content) is str:
                        content_tokens = count_text(content) if content else 0
                        total += count_text(role) + content_tokens
                        if role == "assistant":
                            assistant += content_tokens
                            if replies is not None:
                                replies.append((index, content_tokens))
                        continue
                if not isinstance(message, dict):
                    continue
                message_tokens = 0
                content_tokens = 0
                text: str | None
                for key, value in message.items():
                    if key == "weight":
                        continue
                    if key == "content":
                        text = value if isinstance(value, str) else content_text(value)
                        content_tokens = count_text(text) if text else 0
                        message_tokens += content_tokens
                        continue
                    text = _value_text(value)
                    if text:
                        message_tokens += count_text(text)
                    if key == "name":
                        message_tokens += TOKENS_PER_NAME
                total += message_tokens
                if message.get("role") == "assistant" and message.get("weight", 1) != 0:
                    assistant += message_tokens - count_text("assistant")
                    if replies is not None and not message.get("tool_calls"):
                        replies.append((index, content_tokens))
        if tools:
            tools_text = _value_text(tools)
            if tools_text:
                total += count_text(tools_text)
        return total, assistant


def count_example_tokens(
    messages: Any, enc: tiktoken.Encoding, tools: Any = None
) -> tuple[int, int]:
    """(total, assistant) tokens of one example by the cookbook formula."""
    return TokenCounter(enc).count_example(messages, tools)


def count_text_tokens(texts: Iterable[str], enc: tiktoken.Encoding) -> int:
    return sum(len(enc.encode_ordinary(text)) for text in texts)


class LocalTokenCounter:
    """Counts examples with a local model's tokenizer and chat template (imports transformers)."""

    def __init__(self, model_dir: str | os.PathLike[str]) -> None:
        path = Path(model_dir)
        if (
            not (path / "tokenizer_config.json").is_file()
            and not (path / "tokenizer.json").is_file()
        ):
            raise TokenizerError(
                f"{path} has no tokenizer (tokenizer.json / tokenizer_config.json); "
                "point --model at a local model directory"
            )
        try:
            from transformers import AutoTokenizer
        except ImportError as exc:
            raise TokenizerError(
                "counting tokens for a local model needs transformers: "
                "pip install 'ftui-workbench[train]'"
            ) from exc
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        except Exception as exc:
            raise TokenizerError(f"could not load the tokenizer in {path}: {exc}") from exc
        self.has_template = bool(getattr(self.tokenizer, "chat_template", None))
        self.name = path.name

    def count_example(
        self, messages: Any, tools: Any = None, replies: list[tuple[int, int]] | None = None
    ) -> tuple[int, int]:
        """(total, assistant) tokens; an example the template rejects is counted as plain
        "role: content" lines (`count_checked` says so instead)."""
        counted = self.count_checked(messages, tools, replies, None)
        if counted is not None:
            return counted
        plain = _plain_messages(messages)
        text = "\n".join(f"{m.get('role', '')}: {m['content']}" for m in plain)
        return len(self.tokenizer.encode(text)), self._assistant_tokens(plain, None)

    def count_checked(
        self,
        messages: Any,
        tools: Any,
        replies: list[tuple[int, int]] | None,
        emit: Callable[[str, str, int | None], None] | None,
    ) -> tuple[int, int] | None:
        """(total, assistant) tokens as the chat template renders the example; None when the
        template rejects it. `emit(code, message, message_index)` hears of a rejection (with
        the template's own message) and of tool calls the template leaves out."""
        if not isinstance(messages, list):
            return 0, 0
        plain = _plain_messages(messages)
        assistant = self._assistant_tokens(plain, replies)
        if not self.has_template:
            text = "\n".join(f"{m.get('role', '')}: {m['content']}" for m in plain)
            return len(self.tokenizer.encode(text)), assistant
        try:
            rendered = self.tokenizer.apply_chat_template(
                plain, tools=tools or None, tokenize=False
            )
        except Exception as exc:  # jinja's TemplateError, or what the template's code raises
            if emit is None:
                return None
            emit(
                "chat_template_error",
                f"{self.name}'s chat template rejects this example: {exc}; it cannot be trained "
                "on as it is, and its tokens are not counted (fix the turn order, or fold the "
                "system message into the first user turn for templates without one)",
                None,
            )
            return None
        text = rendered if isinstance(rendered, str) else str(rendered)
        if emit is not None:
            self._check_tool_calls(plain, text, emit)
        return len(self.tokenizer.encode(text, add_special_tokens=False)), assistant

    def _assistant_tokens(
        self, plain: list[dict[str, Any]], replies: list[tuple[int, int]] | None
    ) -> int:
        assistant = 0
        for index, message in enumerate(plain):
            if message.get("role") != "assistant" or message.get("weight", 1) == 0:
                continue
            tokens = len(self.tokenizer.encode(message["content"], add_special_tokens=False))
            assistant += tokens
            if replies is not None and not message.get("tool_calls"):
                replies.append((index, tokens))
        return assistant

    def _check_tool_calls(
        self,
        plain: list[dict[str, Any]],
        rendered: str,
        emit: Callable[[str, str, int | None], None],
    ) -> None:
        for index, message in enumerate(plain):
            calls = message.get("tool_calls")
            if not isinstance(calls, list):
                continue
            names = [
                call["function"].get("name")
                for call in calls
                if isinstance(call, dict) and isinstance(call.get("function"), dict)
            ]
            missing = [n for n in names if isinstance(n, str) and n not in rendered]
            if missing:
                emit(
                    "tool_calls_not_rendered",
                    f"{self.name}'s chat template leaves out the tool call(s) "
                    f"{', '.join(map(repr, missing))} of message {index + 1}: the model would "
                    "train without them and they are not in the count; use a template that "
                    "renders tool calls",
                    index,
                )
                return


def _plain_messages(messages: list[Any]) -> list[dict[str, Any]]:
    # Chat templates expect string content; typed parts keep their text.
    return [
        {**m, "content": content_text(m.get("content"))} for m in messages if isinstance(m, dict)
    ]
