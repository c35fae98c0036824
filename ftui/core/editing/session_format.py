"""Keeping a dataset file's own format when edited examples are written back.

Two things make a saved file look like it was only edited, not rewritten:

- `rebuild_record` puts an edited conversation back into the record's own shape: Alpaca's
  `instruction` + `input` split, ShareGPT's tag names (`from`/`value` or `role`/`content`), its
  list key, a system turn, a `chosen` answer, the original key order;
- `RecordLayout` reads how the file lays records out (JSONL or a JSON array, the bytes before,
  between and after the records, CRLF, indentation, `ensure_ascii`, compact separators) so that
  edited records are serialised exactly like the unedited ones around them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import orjson

from ftui.core.dataset.formats import DatasetFormat, from_chat
from ftui.core.dataset.reader import MAX_RECORD_BYTES, ExampleIndex, parse_record


def rebuild_record(original: dict[str, Any], chat: dict[str, Any], fmt: DatasetFormat) -> Any:
    """`original` (an Alpaca or ShareGPT record) holding the edited `chat`, in its own shape.

    from_chat writes one canonical shape per format; a file may use another (role/content tags,
    a `messages` list, a system turn, `instruction` + `input`, a `chosen` answer). What the edit
    did not touch keeps the original's shape, so an edit changes only what it edits."""
    record, _notes = from_chat(chat, fmt)
    if fmt == DatasetFormat.ALPACA:
        record = _alpaca_shape(original, record)
    elif fmt == DatasetFormat.SHAREGPT:
        record = _sharegpt_shape(original, record)
    # The original's key order first, then any new key.
    ordered = {k: record[k] for k in original if k in record}
    ordered.update((k, v) for k, v in record.items() if k not in ordered)
    return ordered


def _alpaca_shape(original: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    out = dict(record)
    instruction, extra = original.get("instruction"), original.get("input")
    prompt = out.get("instruction")
    if (
        isinstance(instruction, str)
        and isinstance(extra, str)
        and extra
        and isinstance(prompt, str)
    ):
        # to_chat joined instruction and input into one user message: split it back the same way.
        joined = f"{instruction}\n{extra}" if instruction else extra
        if prompt == joined:
            out["instruction"], out["input"] = instruction, extra
        elif prompt.endswith("\n" + extra):
            out["instruction"], out["input"] = prompt[: -len(extra) - 1], extra
    if "input" not in original and out.get("input") == "":
        del out["input"]
    for key, empty in (("system", ""), ("history", [])):
        if key in original and key not in out and original[key] in (empty, None):
            out[key] = original[key]
    output = original.get("output")
    if isinstance(output, list) and output and isinstance(out.get("output"), str):
        out["output"] = [out["output"], *output[1:]]  # ranked candidates: the first is the answer
    return out


_SHAREGPT_SPEAKERS = {
    "human": ("human", "user"),
    "gpt": ("gpt", "assistant", "chatgpt", "bard", "bing", "model", "bot"),
    "observation": ("observation", "tool", "function"),
    "function_call": ("function_call",),
    "system": ("system",),
}


def _sharegpt_shape(original: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    out = dict(record)
    turns = list(out.pop("conversations", []))
    list_key = "messages" if "conversations" not in original and "messages" in original else None
    list_key = list_key or "conversations"
    old_turns = [t for t in original.get(list_key) or [] if isinstance(t, dict)]
    tag, text = (
        ("role", "content") if old_turns and "from" not in old_turns[0] else ("from", "value")
    )
    used = {str(t.get(tag)) for t in old_turns}
    names = {}
    for canonical, spellings in _SHAREGPT_SPEAKERS.items():
        names[canonical] = next((s for s in spellings if s in used), canonical)
    if tag == "role":  # the role/content variant speaks OpenAI's names unless the file says so
        names["human"] = "human" if "human" in used else "user"
        names["gpt"] = "gpt" if "gpt" in used else "assistant"
    for answer in ("chosen", "rejected"):  # a preference pair's answers, in their own tags
        old_answer, new_answer = original.get(answer), out.get(answer)
        if isinstance(old_answer, dict) and isinstance(new_answer, dict):
            answer_text = "value" if "from" in old_answer else "content"
            out[answer] = {**old_answer, answer_text: new_answer.get("value")}
    system_turn = bool(old_turns) and old_turns[0].get(tag) == "system"
    if "system" not in original and system_turn and "system" in out:
        turns.insert(0, {"from": "system", "value": out.pop("system")})
    # from_chat re-serialises function calls compactly: keep the original text of unchanged ones.
    call_texts = {
        _json_key(t.get(text)): t.get(text)
        for t in old_turns
        if t.get(tag) == "function_call" and isinstance(t.get(text), str)
    }
    converted = []
    for turn in turns:
        speaker = names.get(str(turn.get("from")), turn.get("from"))
        value = turn.get("value")
        if turn.get("from") == "function_call" and isinstance(value, str):
            value = call_texts.get(_json_key(value), value)
        converted.append({tag: speaker, text: value})
    out[list_key] = converted
    if "tools" in original:
        out["tools"] = original["tools"]  # message edits never change the tool definitions
    elif "tools" in out and not out["tools"]:
        del out["tools"]
    return out


def _json_key(text: Any) -> str | None:
    """A canonical form of a JSON string (None if it isn't JSON), to compare two spellings."""
    try:
        return orjson.dumps(orjson.loads(text), option=orjson.OPT_SORT_KEYS).decode()
    except (orjson.JSONDecodeError, TypeError):
        return None


@dataclass(slots=True)
class RecordLayout:
    """How the file lays out its records, so edited ones are written the way the rest are."""

    kind: str
    head: bytes
    separator: bytes
    tail: bytes
    empty_tail: bytes
    indent: int | str | None
    ensure_ascii: bool
    compact: bool
    base_indent: str

    @classmethod
    def default(cls, kind: str) -> RecordLayout:
        if kind == "jsonl":
            return cls("jsonl", b"", b"\n", b"\n", b"", None, False, False, "")
        return cls("json_array", b"[\n  ", b",\n  ", b"\n]\n", b"]\n", 2, False, False, "  ")

    @classmethod
    def detect(cls, index: ExampleIndex | None, fd: int, size: int) -> RecordLayout:
        """Read the layout off the file open as `fd` (its first `size` bytes): what precedes
        the first record, what separates two, what follows the last, how records are written."""
        kind = index.kind if index is not None else "jsonl"
        style = cls.default("jsonl" if kind == "jsonl" else "json_array")
        if index is None or len(index) == 0:
            return style
        first_end = index.offset(0) + index.length(0)
        last = len(index) - 1
        last_end = index.offset(last) + index.length(last)
        style.head = os.pread(fd, index.offset(0), 0)
        style.tail = os.pread(fd, size - last_end, last_end)
        if style.kind == "jsonl":
            newline = b"\r\n" if os.pread(fd, 2, first_end) == b"\r\n" else b"\n"
            style.separator = newline
            style.empty_tail = b""
        else:
            in_array = b"[" in style.head
            close = style.tail.rfind(b"]")
            style.empty_tail = (b"]" + style.tail[close + 1 :]) if in_array and close >= 0 else b""
            if len(index) > 1:
                style.separator = os.pread(fd, index.offset(1) - first_end, first_end)
            elif b"\n" in style.head:
                style.separator = b",\n" + style.head[style.head.rfind(b"\n") + 1 :]
            else:
                style.separator = b", " if in_array else b"\n"
            newline_at = style.separator.rfind(b"\n")
            style.base_indent = (
                style.separator[newline_at + 1 :].decode("utf-8", "replace")
                if newline_at >= 0
                else ""
            )
        style._match_record_style(index, fd)
        return style

    def _match_record_style(self, index: ExampleIndex, fd: int) -> None:
        """Pick the serialiser settings that reproduce the file's own records byte for byte."""
        samples = []
        for example_id in range(min(len(index), 5)):
            length = index.length(example_id)
            if length > MAX_RECORD_BYTES:
                continue
            raw = os.pread(fd, length, index.offset(example_id))
            value = parse_record(raw, example_id, 1, 0, length).value
            if value is not None:
                samples.append((raw, value))
        if not samples:
            return
        indents: tuple[int | str | None, ...] = (None, 2, 4, "\t", 1, 3)
        for indent in indents:
            for compact in (False, True):
                if compact and indent is not None:
                    continue
                # When the samples are plain ASCII both settings reproduce them: guess the
                # writer. Python's json (", " separators) escapes non-ASCII by default; compact
                # writers (orjson, JavaScript) do not.
                for ensure_ascii in (
                    (False, True) if compact or indent is not None else (True, False)
                ):
                    self.indent, self.compact, self.ensure_ascii = indent, compact, ensure_ascii
                    if all(self.render(value) == raw for raw, value in samples):
                        return
        # Nothing matched exactly: a readable default close to what the file looks like.
        multiline = any(b"\n" in raw for raw, _ in samples)
        self.indent = 2 if multiline else None
        self.compact = not multiline and b'":' in samples[0][0] and b'": ' not in samples[0][0]
        self.ensure_ascii = False

    def render(self, value: Any) -> bytes:
        """One record as the file writes them (without separator)."""
        if self.indent is None:
            separators = (",", ":") if self.compact else (", ", ": ")
            text = json.dumps(value, ensure_ascii=self.ensure_ascii, separators=separators)
        else:
            text = json.dumps(value, ensure_ascii=self.ensure_ascii, indent=self.indent)
            if self.base_indent:
                # json.dumps escapes newlines inside strings, so every "\n" here is layout.
                text = text.replace("\n", "\n" + self.base_indent)
        return text.encode("utf-8", "surrogatepass")
