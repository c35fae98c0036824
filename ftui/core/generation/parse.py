"""What a model wrote, read as a list of items (questions, paraphrases), as robustly as we can.

Models answer "give me a numbered list" in many shapes: `1.` / `1)` / `(1)` lists, `-` / `*` /
`•` bullets, a JSON array (of strings, or of objects with a "question"-like field), one item per
line, any of those inside a code fence, with a preamble ("Here are five questions:") or a closing
remark. We take the list when there is one and the lines when there is not, drop empties,
wrapping quotes, and lines that only echo the instruction; fewer items than asked is the caller's
to report, never an error here.
"""

from __future__ import annotations

import json
import re
import unicodedata

ECHO_MIN_CHARS = 12
_FENCE = re.compile(r"```[\w+-]*[ \t]*\r?\n(.*?)```", re.DOTALL)
# A fence the model opened and never closed (the reply was cut off): the rest is its body.
_OPEN_FENCE = re.compile(r"```[\w+-]*[ \t]*\r?\n(.*)\Z", re.DOTALL)
_NUMBERED = re.compile(r"^\s*(?:\(?\d{1,3}[.)\]:]|\(\d{1,3}\)|#\d{1,3}[.:]?)\s+(.*\S)\s*$")
_BULLET = re.compile(r"^\s*[-*•‣–+]\s+(.*\S)\s*$")
_LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:question|paraphrase|rewrite|variant|version|q)\s*\d*\s*[:.)-]\s*(?:\*\*)?\s*",
    re.IGNORECASE,
)
_QUOTES = ('"', "'", "“", "”", "‘", "’", "«", "»", "`")
_ITEM_FIELDS = ("question", "text", "paraphrase", "rewrite", "content", "prompt")
# A line that introduces or closes the list rather than being an item of it.
_CHATTER = re.compile(
    r"^(?:here (?:are|is)|sure|certainly|of course|below (?:are|is)|i hope|let me know|"
    r"these (?:questions|rewrites|paraphrases))\b",
    re.IGNORECASE,
)


def parse_items(text: str, *, echo_of: str | None = None) -> list[str]:
    """The items of a model's list reply, in order, without empties or repeats.

    `echo_of` is the instruction the model was given: an item that repeats it is dropped."""
    body = _unfenced(text)
    items = _json_items(body)
    if items is None:
        items = _list_items(body)
    cleaned: list[str] = []
    seen: set[str] = set()
    echo = _norm(echo_of) if echo_of else None
    for item in items:
        value = _clean(item)
        key = _norm(value)
        if not key or key in seen or (echo is not None and _echoes(key, echo)):
            continue
        seen.add(key)
        cleaned.append(value)
    return cleaned


def _echoes(item: str, instruction: str) -> bool:
    # A short item may happen to appear in a long instruction; only a long one is an echo of it.
    return item == instruction or (len(item) >= ECHO_MIN_CHARS and item in instruction)


def _unfenced(text: str) -> str:
    fences = _FENCE.findall(text)
    if fences:
        return "\n".join(fences)
    opened = _OPEN_FENCE.search(text)
    return opened.group(1) if opened else text


def _json_items(text: str) -> list[str] | None:
    stripped = text.strip()
    start, end = stripped.find("["), stripped.rfind("]")
    if start < 0 or end <= start:
        return None
    try:
        value = json.loads(stripped[start : end + 1])
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    items: list[str] = []
    for entry in value:
        if isinstance(entry, str):
            items.append(entry)
        elif isinstance(entry, dict):
            found = next((entry[f] for f in _ITEM_FIELDS if isinstance(entry.get(f), str)), None)
            if found is not None:
                items.append(found)
    return items if items else None


def _list_items(text: str) -> list[str]:
    """Numbered or bulleted items (an item's wrapped lines joined) or else the plain lines."""
    lines = [line for line in text.splitlines()]
    marked: list[str] = []
    current: list[str] | None = None
    for line in lines:
        match = _NUMBERED.match(line) or _BULLET.match(line)
        if match:
            if current is not None:
                marked.append(" ".join(current))
            current = [match.group(1)]
        elif current is not None and line.strip() and line[:1].isspace():
            current.append(line.strip())  # an item wrapped onto an indented line
        elif current is not None:
            marked.append(" ".join(current))
            current = None
    if current is not None:
        marked.append(" ".join(current))
    if marked:
        return marked
    return [line for line in lines if line.strip() and not _is_chatter(line)]


def _is_chatter(line: str) -> bool:
    stripped = line.strip()
    return bool(_CHATTER.match(stripped)) or (stripped.endswith(":") and len(stripped) < 80)


def _clean(item: str) -> str:
    value = _LABEL.sub("", item.strip())
    value = value.strip()
    if value.startswith("**") and value.endswith("**") and len(value) > 4:
        value = value[2:-2].strip()
    while len(value) >= 2 and value[0] in _QUOTES and value[-1] in _QUOTES:
        value = value[1:-1].strip()
    return value


def _norm(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())
